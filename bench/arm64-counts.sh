#!/usr/bin/env bash
# Instructions per inference on ARM64 under QEMU user mode (Cortex-A72 = Pi 4, Cortex-A76 = Pi 5), per model and
# per layer kind (with MACs per executed instruction), from the NativeAOT Cnn.Bench `count` suite.
#
#   bench/arm64-counts.sh [BENCH_AOT_DIR]      (default: publishes into artifacts/arm64/bench-aot)
#   MODELS="mobilenet_v2_0.35_96" CPUS="cortex-a76" KINDS="depthwise pointwise" bench/arm64-counts.sh
#
# Per-inference figure = (count(K=3) - count(K=1)) / 2: start-up, model building, packing and one-off
# first-inference costs cancel. Needs ../shared/tools/arm64-insn-count (or ARM64_INSN_COUNT) and the
# arm64 runtime root of build/arm64/runtime-root.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
counter=${ARM64_INSN_COUNT:-$(cd .. && pwd)/shared/tools/arm64-insn-count}
models=${MODELS:-mobilenet_v2_0.35_96 mobilenet_v2_1.0_224 resnet18_224}
cpus=${CPUS:-cortex-a72 cortex-a76}
kinds=${KINDS-pointwise depthwise conv fc pool add}
aot=${1:-}
if [ -z "$aot" ]; then
  aot=artifacts/arm64/bench-aot
  dotnet publish bench/Cnn.Bench/Cnn.Bench.csproj -c Release -r linux-arm64 -p:NoOrt=true -p:PublishAot=true -o "$aot" -nologo -v q >&2
fi
root=$(build/arm64/runtime-root.sh)
# run CPU MODEL K [ARGS...]: the program's output, then "instructions N".
run() { DOTNET_gcConcurrent=0 "$counter" --cpu "$1" --root "$root" -- "$aot/Cnn.Bench" count "${@:2}"; }
insns() { awk '/^instructions/ {print $2}'; }
echo "| model | cpu | what | MACs per run | instructions per run | MACs/insn |"
echo "|---|---|---|---|---|---|"
for m in $models; do
  for cpu in $cpus; do
    a=$(run "$cpu" "$m" 1 | insns); b=$(run "$cpu" "$m" 3 | insns)
    printf '| %s | %s | inference | | %d | |\n' "$m" "$cpu" $(( (b - a) / 2 ))
    for kind in $kinds; do
      out1=$(run "$cpu" "$m" 1 --kind "$kind"); b=$(run "$cpu" "$m" 3 --kind "$kind" | insns)
      macs=$(echo "$out1" | grep -o 'macs_per_run=[0-9]*' | cut -d= -f2)
      k=$(( (b - $(echo "$out1" | insns)) / 2 ))
      ratio=$(awk -v a="$macs" -v b="$k" 'BEGIN { if (b > 0 && a > 0) printf "%.2f", a / b; else printf "-" }')
      printf '| %s | %s | %s | %d | %d | %s |\n' "$m" "$cpu" "$kind" "$macs" "$k" "$ratio"
    done
done
done
