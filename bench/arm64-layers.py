#!/usr/bin/env python3
"""Per-op instructions and MACs per instruction of one layer kind, from bench/arm64-layers.sh's runs.

    arm64-layers.py LAYERS K1 K3 [--kind pointwise]

LAYERS: `Cnn.Bench layers MODEL --ops`; K1, K3: `Cnn.Bench chunks MODEL K --threads 1 --markers` for K = 1 and 3 with
threadcount.c's region counts appended. Per inference = (K3 - K1) / 2 for each op's region (op << 12).
"""
import argparse
import re


def shapes(path, kind):
    ops, current = {}, None
    for line in open(path):
        if not line.startswith(" "):
            current = line.split()[0]
            continue
        m = re.match(r"\s+op\s+(\d+) macs=\s*(\d+)\s+\S+ \w+\[(\S+)\] -> \S+ \w+\[(\S+)\]", line)
        if m and current == kind:
            x = [int(v) for v in m.group(3).split("x")]
            y = [int(v) for v in m.group(4).split("x")]
            ops[int(m.group(1))] = (y[0] * y[1] * y[2] if len(y) == 4 else y[0], x[-1], y[-1], int(m.group(2)))
    return ops


def regions(path):
    r = {}
    for line in open(path):
        f = line.split()
        if f and f[0] == "region":
            r[int(f[1])] = int(f[3])
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("layers")
    ap.add_argument("k1")
    ap.add_argument("k3")
    ap.add_argument("--kind", default="pointwise")
    a = ap.parse_args()
    ops, r1, r3 = shapes(a.layers, a.kind), regions(a.k1), regions(a.k3)
    total_macs = total_insns = 0
    by_shape = {}
    print("| op | pixels | K | N | MACs | instructions | MACs/insn |")
    print("|---|---|---|---|---|---|---|")
    for op, (pixels, k, n, macs) in sorted(ops.items()):
        insns = (r3[op << 12] - r1[op << 12]) / 2
        total_macs += macs
        total_insns += insns
        s = by_shape.setdefault((pixels, k, n), [0, 0, 0])
        s[0] += 1; s[1] += macs; s[2] += insns
        print(f"| {op} | {pixels} | {k} | {n} | {macs} | {insns:.0f} | {macs / insns if insns else 0:.2f} |")
    if not total_insns:
        return
    print(f"\ntotal: {len(ops)} ops, {total_macs} MACs, {total_insns:.0f} instructions, {total_macs / total_insns:.2f} MACs/insn\n")
    print("| pixels | K | N | ops | instructions | share | MACs/insn |")
    print("|---|---|---|---|---|---|---|")
    for (pixels, k, n), (count, macs, insns) in sorted(by_shape.items(), key=lambda kv: -kv[1][2]):
        print(f"| {pixels} | {k} | {n} | {count} | {insns:.0f} | {100 * insns / total_insns:.1f} % | {macs / insns if insns else 0:.2f} |")


if __name__ == "__main__":
    main()
