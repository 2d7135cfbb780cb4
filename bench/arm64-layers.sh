#!/usr/bin/env bash
# Where a layer type's ARM64 instructions go: instructions per inference of every op of one kind (default pointwise), with
# its shape and MACs per executed instruction, then the totals by shape (pixels, K, N), under QEMU user mode.
#
#   bench/arm64-layers.sh [BENCH_AOT_DIR]      (default: publishes Cnn.Bench NativeAOT, without ONNX Runtime, into artifacts/arm64/bench-aot-noort)
#   MODELS="mobilenet_v2_0.35_96" CPUS="cortex-a76" KIND=depthwise bench/arm64-layers.sh
#
# `Cnn.Bench chunks MODEL K --threads 1 --markers` runs each op as one chunk between marker syscalls, and
# bench/arm64-threads/threadcount.c (the QEMU plugin of bench/arm64-threads.sh) counts the instructions of each;
# per inference = (count(K=3) - count(K=1)) / 2, as in bench/arm64-counts.sh, whose per-kind totals these ops add up to
# (unfused, one thread). Shapes come from `Cnn.Bench layers MODEL --ops`.
set -euo pipefail
cd "$(dirname "$0")/.."
models=${MODELS:-mobilenet_v2_1.0_224 mobilenet_v2_0.35_96}
cpus=${CPUS:-cortex-a72 cortex-a76}
kind=${KIND:-pointwise}
aot=${1:-artifacts/arm64/bench-aot-noort}
# bench/arm64-threads.sh publishes Cnn.Bench there when no folder is given and builds its counting plugin; with no models
# that is all it does.
MODELS=" " bench/arm64-threads.sh ${1:+"$1"} >/dev/null
root=$(build/arm64/runtime-root.sh)
plugin=artifacts/arm64/threadcount/libthreadcount.so
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for m in $models; do
  QEMU_CPU=cortex-a72 QEMU_LD_PREFIX=$root qemu-aarch64 "$aot/Cnn.Bench" layers "$m" --ops > "$work/layers"
  for cpu in $cpus; do
    for k in 1 3; do
      DOTNET_gcConcurrent=0 QEMU_CPU=$cpu QEMU_LD_PREFIX=$root qemu-aarch64 -plugin "$plugin" -d plugin -D "$work/plugin.log" \
        "$aot/Cnn.Bench" chunks "$m" "$k" --threads 1 --markers > "$work/k$k"
      cat "$work/plugin.log" >> "$work/k$k"
    done
    echo "## $m $cpu $kind"
    python3 bench/arm64-layers.py "$work/layers" "$work/k1" "$work/k3" --kind "$kind"
  done
done
