#!/usr/bin/env python3
"""Regenerates the embedded IDX subsets from ../shared/data (first N samples of each split, gzip, mtime 0).

Usage (from the repository root): python3 src/Cnn.Trainer/Data/Embedded/make_subsets.py
"""
import gzip, os, struct, sys

ROOT = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(ROOT, "..", "..", "..", "..", "..", "shared", "data")
SETS = {"mnist": (4000, 1000), "fashion-mnist": (2000, 500)}

def read(path):
    with gzip.open(path, "rb") as f:
        b = f.read()
    nd = b[3]
    dims = list(struct.unpack(">" + "i" * nd, b[4:4 + 4 * nd]))
    return dims, b[4 + 4 * nd:]

def write(path, dims, data):
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as f:
        f.write(bytes([0, 0, 8, len(dims)]) + struct.pack(">" + "i" * len(dims), *dims) + data)

for name, (ntrain, ntest) in SETS.items():
    for split, n in (("train", ntrain), ("t10k", ntest)):
        dims, px = read(os.path.join(DATA, name, f"{split}-images-idx3-ubyte.gz"))
        _, lb = read(os.path.join(DATA, name, f"{split}-labels-idx1-ubyte.gz"))
        size = dims[1] * dims[2]
        write(os.path.join(ROOT, f"{name}-{split}-images.idx.gz"), [n, dims[1], dims[2]], px[:n * size])
        write(os.path.join(ROOT, f"{name}-{split}-labels.idx.gz"), [n], lb[:n])
print("ok", file=sys.stderr)
