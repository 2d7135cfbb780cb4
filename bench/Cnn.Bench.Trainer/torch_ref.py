#!/usr/bin/env python3
"""PyTorch reference for bench/Cnn.Bench.Trainer: the same models, recipe, batch and threads.

Recipe: SGD momentum 0.9, lr 0.05, cosine annealing per step, batch 64, normalisation by the
training set's mean/std. Prints per-epoch seconds, test accuracy, `median_seconds_per_epoch S` (wall) and
`median_cpu_seconds_per_epoch S` (process CPU time, less sensitive to other load on the machine).
Needs Debian's python3-torch (1.13): apt-get install python3-torch; run with /usr/bin/python3.
"""
import argparse, gzip, math, os, struct, time
import torch
import torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument("--model", default="lenet5")
p.add_argument("--data", required=True)
p.add_argument("--epochs", type=int, default=3)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--batch", type=int, default=64)
p.add_argument("--limit", type=int, default=0)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(1)

def idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        b = f.read()
    nd = b[3]
    dims = struct.unpack(">" + "i" * nd, b[4:4 + 4 * nd])
    return torch.frombuffer(bytearray(b[4 + 4 * nd:]), dtype=torch.uint8).reshape(dims)

def load(split):
    def find(stem):
        for c in (stem, stem + ".gz"):
            if os.path.exists(os.path.join(a.data, c)):
                return os.path.join(a.data, c)
        raise SystemExit(f"missing {stem} in {a.data}")
    x = idx(find(f"{split}-images-idx3-ubyte")).float().div(255).unsqueeze(1)
    y = idx(find(f"{split}-labels-idx1-ubyte")).long()
    return x, y

xtr, ytr = load("train")
xte, yte = load("t10k")
if a.limit > 0:
    xtr, ytr = xtr[:a.limit], ytr[:a.limit]
    n = max(1000, a.limit // 6)
    xte, yte = xte[:n], yte[:n]
mean, std = xtr.mean().item(), xtr.std().item()
xtr = (xtr - mean) / std
xte = (xte - mean) / std

def cbr(cin, cout, k, s=1, g=1):
    return [nn.Conv2d(cin, cout, k, s, k // 2, groups=g, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

def dwsep(cin, cout, s):
    return cbr(cin, cin, 3, s, cin) + cbr(cin, cout, 1)

if a.model == "lenet5":
    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
elif a.model == "mobilenet":
    # same as Cnn.Trainer Zoo.MobileNet: conv3(32)-BN-ReLU, dw-sep 64 s2, 128 s2, 128 s1, GAP, fc
    model = nn.Sequential(*cbr(1, 32, 3), *dwsep(32, 64, 2), *dwsep(64, 128, 2), *dwsep(128, 128, 1),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10))
else:
    raise SystemExit(f"no PyTorch reference for model {a.model}")

opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
steps = a.epochs * math.ceil(len(xtr) / a.batch)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
loss_fn = nn.CrossEntropyLoss()
times = []
cpu = []
for epoch in range(a.epochs):
    model.train()
    perm = torch.randperm(len(xtr))
    t0 = time.perf_counter()
    c0 = time.process_time()
    for i in range(0, len(xtr), a.batch):
        idxs = perm[i:i + a.batch]
        opt.zero_grad()
        loss = loss_fn(model(xtr[idxs]), ytr[idxs])
        loss.backward()
        opt.step()
        sched.step()
    times.append(time.perf_counter() - t0)
    cpu.append(time.process_time() - c0)
    print(f"epoch {epoch + 1}: loss {loss.item():.4f} {times[-1]:.2f} s", flush=True)
model.eval()
with torch.no_grad():
    correct = sum((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item() for i in range(0, len(xte), 1000))
print(f"pytorch {a.model}: test accuracy {100 * correct / len(xte):.2f} %")
st = sorted(times)
med = st[len(st) // 2] if len(st) % 2 else (st[len(st) // 2 - 1] + st[len(st) // 2]) / 2
print(f"median_seconds_per_epoch {med:.3f}")
sc = sorted(cpu)
print(f"median_cpu_seconds_per_epoch {sc[len(sc) // 2] if len(sc) % 2 else (sc[len(sc) // 2 - 1] + sc[len(sc) // 2]) / 2:.3f}")
