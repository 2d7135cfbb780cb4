#!/usr/bin/env bash
# Thread scaling without the cores: per model and thread count, the ARM64 instructions per inference that each thread
# executes and the bound on the speed-up, from instruction counts under QEMU user mode (deterministic; no board needed).
#
#   bench/arm64-threads.sh [BENCH_AOT_DIR]     (default: publishes Cnn.Bench NativeAOT, without ONNX Runtime, into artifacts/arm64/bench-aot-noort)
#   MODELS="mobilenet_v2_0.35_96" THREADS="2 4" CPU=cortex-a72 VERBOSE=1 bench/arm64-threads.sh
#   FUSE=1 bench/arm64-threads.sh              (inverted-residual blocks fused: Cnn.Bench --fuse-blocks)
#
# `Cnn.Bench chunks MODEL K --threads N --markers` runs every chunk of the interpreter's split for N threads in turn on
# one thread, each between marker syscalls; bench/arm64-threads/threadcount.c (a QEMU plugin, built here with gcc and
# libglib2.0-dev against the qemu-plugin.h that ../shared/tools/arm64-insn-count unpacks) counts the instructions of
# every chunk. Per inference = (count(K=3) - count(K=1)) / 2. bench/arm64-threads/bound.py hands the chunks of each
# op to N threads as the pool's ticket does when all threads run at the same speed and prints each thread's work,
# the critical path (sum over ops of the busiest thread) and bound = total work / critical path. Spinning and the
# pool's own hand-off are not in the counts (no thread waits: the chunks run one after the other).
set -euo pipefail
cd "$(dirname "$0")/.."
counter=${ARM64_INSN_COUNT:-$(cd .. && pwd)/shared/tools/arm64-insn-count}
models=${MODELS:-mobilenet_v2_1.0_224 mobilenet_v2_0.35_96 resnet18_224}
threads=${THREADS:-1 2 4}
cpu=${CPU:-cortex-a76}
fuse=${FUSE:+--fuse-blocks}
aot=${1:-}
if [ -z "$aot" ]; then
  aot=artifacts/arm64/bench-aot-noort
  dotnet publish bench/Cnn.Bench/Cnn.Bench.csproj -c Release -r linux-arm64 -p:PublishAot=true -p:NoOrt=true -o "$aot" -nologo -v q >&2
fi
root=$(build/arm64/runtime-root.sh)
plugin=artifacts/arm64/threadcount/libthreadcount.so
src=bench/arm64-threads/threadcount.c
if [ ! -f "$plugin" ] || [ "$src" -nt "$plugin" ]; then
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/arm64-insn-count
  # The first use of arm64-insn-count fetches QEMU's source (for qemu-plugin.h) and checks qemu-user and glib.
  ls "$cache"/src/qemu-*/include/qemu/qemu-plugin.h >/dev/null 2>&1 || "$counter" --root "$root" -- "$aot/Cnn.Bench" --help >/dev/null 2>&1 || true
  header=$(ls -d "$cache"/src/qemu-*/include/qemu | head -1)
  mkdir -p "$(dirname "$plugin")"
  gcc -O2 -Wall -fPIC -shared -I "$header" $(pkg-config --cflags glib-2.0) "$src" -o "$plugin" $(pkg-config --libs glib-2.0)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# run MODEL N K: Cnn.Bench's output followed by the plugin's counts.
run() {
  DOTNET_gcConcurrent=0 QEMU_CPU=$cpu QEMU_LD_PREFIX=$root qemu-aarch64 -plugin "$plugin" -d plugin -D "$work/plugin.log" \
    "$aot/Cnn.Bench" chunks "$1" "$3" --threads "$2" --markers $fuse
  cat "$work/plugin.log"
}
echo "| model | CPU | threads | instructions per inference of each thread (M) | total (M) | critical path (M) | bound on speed-up |"
echo "|---|---|---|---|---|---|---|"
for m in $models; do
  for n in $threads; do
    run "$m" "$n" 1 > "$work/k1"
    run "$m" "$n" 3 > "$work/k3"
    out=$(python3 bench/arm64-threads/bound.py "$work/k3" --base "$work/k1")
    [ -n "${VERBOSE:-}" ] && echo "$out" | grep -v '^bound_line' >&2
    echo "$out" | awk -v cpu="$cpu" '/^bound_line/ {
      n = $3; per = ""; for (i = 4; i < 4 + n; i++) per = per (i > 4 ? " / " : "") sprintf("%.2f", $i / 1e6)
      printf "| %s | %s | %d | %s | %.2f | %.2f | %.2f |\n", $2, cpu, n, per, $(4 + n) / 1e6, $(5 + n) / 1e6, $(6 + n) }'
  done
done
