#!/usr/bin/env python3
"""Work per thread and the bound on the speed-up of one model's thread split, from `Cnn.Bench chunks` output.

    bound.py RUN [--base BASE] [--top 8] [--barrier COST] [--per-unit]

RUN is the output of `Cnn.Bench chunks MODEL K --threads N` (per-chunk minimum times, ns), or of
`chunks MODEL K --threads N --markers` under QEMU with threadcount.c appended (per-region instruction counts summed
over K inferences); with --base, the same for fewer inferences: per inference = (RUN - BASE) / (K_RUN - K_BASE), so
one-off costs cancel. The markers' own cost (the empty regions) is subtracted from every chunk.

Schedule: the ops run one after the other (every op ends in a barrier); an op of one chunk runs on the calling thread
(thread 0); the chunks of a split op are handed out in order, each to the thread that is free first (ties: the lowest
thread), which is what the pool's atomic ticket does when every thread runs at the same speed and wakes at once.
critical path = sum over ops of the op's busiest thread; bound = total work / critical path. Costs of the pool itself
(waking workers, the barrier) are not included: the bound is an upper limit. --barrier COST adds COST (instructions or
ns) to the critical path for every split op, to see how much a hand-off of that cost would take off the bound.
--per-unit prints each kind's cost per MAC (convolutions, fully connected) or per output element (the rest), and each op's,
from the output shapes that `chunks` prints: what the interpreter's per-ISA weights (src/Cnn.Edge/Runtime/ChunkCosts.cs) come from.
"""
import argparse
from collections import defaultdict
from math import prod

EMPTY, INFERENCE = 0xFFFFFF, 0xFFFFFE


def read(path):
    meta, ops, regions = {}, {}, {}
    elements = {}
    for line in open(path):
        f = line.split()
        if not f:
            continue
        if f[0] == "model":
            meta = dict(kv.split("=", 1) for kv in f[2:])
            meta["model"] = f[1]
        elif f[0] == "op" and len(f) >= 10:
            ops[int(f[1])] = (int(f[3]), f[5], int(f[7]), f[9])
            if len(f) >= 12 and f[10] == "shape":
                elements[int(f[1])] = prod(int(d) for d in f[11].split("x"))
        elif f[0] == "region":
            regions[int(f[1])] = (int(f[3]), int(f[5]))  # cost, calls
    if not meta or not ops:
        raise SystemExit(f"{path}: no `Cnn.Bench chunks` output (model/op lines)")
    meta["elements"] = elements
    return meta, ops, regions


def per_inference(run, base):
    meta, ops, regions = run
    k = int(meta["inferences"])
    if base is None:
        # ns: per-inference minima already; insns: sums over the K inferences (the empty regions: per call).
        return meta, ops, {r: c / calls if meta["unit"] == "ns" or r == EMPTY else c / k
                           for r, (c, calls) in regions.items()}
    bmeta, bops, bregions = base
    dk = k - int(bmeta["inferences"])
    if dk <= 0 or bops != ops:
        raise SystemExit("--base must be the same model and threads with fewer inferences")
    cost = {}
    for r, (c, calls) in regions.items():
        if r == EMPTY:
            cost[r] = c / calls
        else:
            cost[r] = (c - bregions.get(r, (0, 0))[0]) / dk
    return meta, ops, cost


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--base")
    ap.add_argument("--top", type=int, default=8)
    ap.add_argument("--barrier", type=float, default=0.0)
    ap.add_argument("--per-unit", action="store_true")
    a = ap.parse_args()
    meta, ops, cost = per_inference(read(a.run), read(a.base) if a.base else None)
    n = int(meta["threads"])
    unit = meta["unit"]
    marker = cost.get(EMPTY, 0.0)
    work = [0.0] * n
    critical = total = serial = 0.0
    losses = []
    split_ops, smallest = 0, float("inf")
    by_kind = defaultdict(lambda: [0.0, 0.0])  # kind -> [work, span]
    for i in sorted(ops):
        chunks, kind, macs, name = ops[i]
        w = [max(0.0, cost.get(i << 12 | c, 0.0) - marker) for c in range(chunks)]
        free = [0.0] * n
        if chunks == 1:
            free[0] = w[0]
            serial += w[0]
        else:
            split_ops += 1
            smallest = min(smallest, min(w))
            for x in w:
                j = min(range(n), key=lambda t: (free[t], t))
                free[j] += x
        span = max(free)
        for t in range(n):
            work[t] += free[t]
        s = sum(w)
        total += s
        critical += span
        by_kind[kind][0] += s
        by_kind[kind][1] += span
        losses.append((span - s / n, i, name, kind, chunks, s, span, macs))
    outside = None
    if INFERENCE in cost:
        # The inference's instructions outside every chunk (the input copy, the op loop), serial on thread 0;
        # approximately, as the markers' cost outside the chunks' regions is taken equal to their cost inside.
        inside = sum(v for r, v in cost.items() if r not in (EMPTY, INFERENCE))
        outside = max(0.0, cost[INFERENCE] - marker - inside - sum(o[0] for o in ops.values()) * marker)
    fmt = (lambda v: f"{v / 1e6:.3f} M") if unit == "insns" else (lambda v: f"{v / 1e6:.3f} ms")
    print(f"{meta['model']} threads={n} isa={meta.get('isa')} unit={unit} marker={marker:.0f}")
    print("work per thread: " + ", ".join(fmt(w) for w in work)
          + (f"; outside ops (thread 0, serial) {fmt(outside)}" if outside is not None else ""))
    extra = outside or 0.0
    print(f"total {fmt(total + extra)}  critical path {fmt(critical + extra)}  "
          f"ops on one thread {fmt(serial)} ({100 * serial / total:.1f} %)  bound {(total + extra) / (critical + extra):.2f}x")
    if split_ops:
        with_barrier = (total + extra) / (critical + extra + split_ops * a.barrier)
        print(f"split ops {split_ops}, smallest chunk {fmt(smallest)}"
              + (f"; with a barrier of {a.barrier:.0f} per split op the bound is {with_barrier:.2f}x" if a.barrier else ""))
    print("by kind: " + ", ".join(f"{k} {100 * v[0] / total:.1f}% work x{v[0] / v[1]:.2f}" for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1][0])))
    print(f"largest losses against a perfect split (critical path minus work/{n}):")
    for loss, i, name, kind, chunks, s, span, macs in sorted(losses, reverse=True)[:a.top]:
        print(f"  op {i:3} {name:12} {kind:9} chunks {chunks:3}  work {fmt(s)}  busiest thread {fmt(span)}  loss {fmt(loss)}"
              f" ({100 * loss / critical:.1f} % of the path)")
    if a.per_unit:
        per_unit(meta, ops, cost, marker, fmt)
    print(f"bound_line {meta['model']} {n} {' '.join(f'{w + (extra if t == 0 else 0):.0f}' for t, w in enumerate(work))} "
          f"{total + extra:.0f} {critical + extra:.0f} {(total + extra) / (critical + extra):.3f}")


def per_unit(meta, ops, cost, marker, fmt):
    """Each op's and kind's cost per MAC (convolutions, fully connected) or per output element (the rest)."""
    elements = meta.get("elements", {})
    if not elements:
        raise SystemExit("--per-unit needs the output shapes of a newer `Cnn.Bench chunks` (op lines ending in `shape NxHxWxC`)")
    kinds = defaultdict(lambda: [0.0, 0])
    print("cost per unit (MAC, or output element where macs = 0):")
    for i in sorted(ops):
        chunks, kind, macs, name = ops[i]
        s = sum(max(0.0, cost.get(i << 12 | c, 0.0) - marker) for c in range(chunks))
        units = macs or elements.get(i, 0)
        kinds[kind][0] += s
        kinds[kind][1] += units
        print(f"  op {i:3} {name:12} {kind:9} {'mac' if macs else 'element':7} {units:10}  work {fmt(s)}  per unit {s / max(units, 1):.4f}")
    for kind, (s, units) in sorted(kinds.items(), key=lambda kv: -kv[1][0]):
        print(f"  {kind:9} work {fmt(s)}  units {units}  per unit {s / max(units, 1):.4f}")


if __name__ == "__main__":
    main()
