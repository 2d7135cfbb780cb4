#!/usr/bin/python3
"""LeNet-5 on MNIST with the trainer issue's recipe in PyTorch 1.13, one run per seed: the peer of
`cnn train --model lenet5 --epochs 3 --seed S --threads 2` (test accuracy per seed, side by side).

    SEEDS="1 2 3" /usr/bin/python3 bench/lenet_seeds.py [DATA_DIR=../shared/data]

Same model (tests/fixtures/make_fixtures.py LeNet5), data, normalization, batch 64, SGD momentum 0.9, lr 0.05 cosine
per step over 3 epochs, last partial batch dropped, as tests/fixtures/train_targets.py; torch.manual_seed(S) before
the model is built.
"""
import os, sys
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fixtures"))
DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "shared", "data")
sys.argv = [sys.argv[0], DATA, "3"]  # train_targets reads its data folder and epochs from argv
import torch, torch.nn as nn
import train_targets as tt
from make_fixtures import LeNet5

torch.set_num_threads(int(os.environ.get("THREADS", "2")))
seeds = [int(s) for s in os.environ.get("SEEDS", "1 2 3 4 5 6 7 8 9 10").split()]
d = os.path.join(DATA, "mnist")
xtr = torch.tensor(tt.idx(f"{d}/train-images-idx3-ubyte.gz"), dtype=torch.float32).unsqueeze(1)
ytr = torch.tensor(tt.idx(f"{d}/train-labels-idx1-ubyte.gz"), dtype=torch.long)
xte = torch.tensor(tt.idx(f"{d}/t10k-images-idx3-ubyte.gz"), dtype=torch.float32).unsqueeze(1)
yte = torch.tensor(tt.idx(f"{d}/t10k-labels-idx1-ubyte.gz"), dtype=torch.long)
xtr = (xtr / 255 - 0.1307) / 0.3081
xte = (xte / 255 - 0.1307) / 0.3081
for seed in seeds:
    torch.manual_seed(seed)
    model = LeNet5()
    steps = 3 * (len(xtr) // 64)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for epoch in range(3):
        model.train()
        perm = torch.randperm(len(xtr))
        for i in range(len(xtr) // 64):
            b = perm[i * 64:(i + 1) * 64]
            opt.zero_grad()
            nn.functional.cross_entropy(model(xtr[b]), ytr[b]).backward()
            opt.step()
            sched.step()
    model.eval()
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    print(f"pytorch lenet5 seed {seed}: test accuracy {acc * 100:.2f} %", flush=True)
