#!/usr/bin/env bash
# Instructions per inference on ARM64 under QEMU user mode (Cortex-A72 = Pi 4, Cortex-A76 = Pi 5), per model and
# per layer kind (with MACs per executed instruction), from the NativeAOT Cnn.Bench `count` suite.
#
#   bench/arm64-counts.sh [BENCH_AOT_DIR]      (default: publishes into artifacts/arm64/bench-aot)
#   MODELS="mobilenet_v2_0.35_96" CPUS="cortex-a76" KINDS="depthwise pointwise" bench/arm64-counts.sh
#   FUSE=1 ...                                 (our whole inference with inverted-residual blocks fused: --fuse-blocks;
#                                               the per-kind rows are always unfused)
#
# Per-inference figure = (count(K=3) - count(K=1)) / 2: start-up, model building, packing and one-off
# first-inference costs cancel. Needs ../shared/tools/arm64-insn-count (or ARM64_INSN_COUNT) and the
# arm64 runtime root of build/arm64/runtime-root.sh.
#
# The peer: ONNX Runtime's linux-arm64 build (NuGet Microsoft.ML.OnnxRuntime, in the same Cnn.Bench binary,
# built without -p:NoOrt) on ONNX_DIR's exports (bench/export_models.py: MODEL.onnx float, MODEL.qdq.onnx int8),
# one thread. QEMU 7.2 user mode shows the host's x86 /proc/cpuinfo, on which ONNX Runtime's CPU detection
# crashes; QEMU resolves guest paths under its library prefix first, so each CPU model gets a copy of the
# runtime root with an ARM proc/cpuinfo that matches it (Cortex-A72: part 0xd08, no asimddp; Cortex-A76:
# part 0xd0b with asimddp, so ONNX Runtime picks its SDOT kernels exactly when QEMU executes them).
set -euo pipefail
cd "$(dirname "$0")/.."
counter=${ARM64_INSN_COUNT:-$(cd .. && pwd)/shared/tools/arm64-insn-count}
models=${MODELS:-mobilenet_v2_0.35_96 mobilenet_v2_1.0_224 resnet18_224}
cpus=${CPUS:-cortex-a72 cortex-a76}
kinds=${KINDS-pointwise depthwise conv fc pool add}
onnx_dir=${ONNX_DIR:-bench/models}
fuse=${FUSE:+--fuse-blocks}
aot=${1:-}
if [ -z "$aot" ]; then
  aot=artifacts/arm64/bench-aot
  dotnet publish bench/Cnn.Bench/Cnn.Bench.csproj -c Release -r linux-arm64 -p:PublishAot=true -o "$aot" -nologo -v q >&2
fi
base_root=$(build/arm64/runtime-root.sh)
# cpu_root CPU: the runtime root with an ARM /proc/cpuinfo for CPU (hard links: no copy of the libraries).
cpu_root() {
  local d=artifacts/arm64/root-$1 part feat
  if [ "$1" = cortex-a76 ]; then part=0xd0b; feat="fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp"
  else part=0xd08; feat="fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid"; fi
  if [ ! -e "$d/proc/cpuinfo" ]; then
    rm -rf "$d"; mkdir -p "$(dirname "$d")"; cp -al "$base_root" "$d"; mkdir -p "$d/proc"
    for i in 0 1 2 3; do
      printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: %s\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: %s\nCPU revision\t: 1\n\n' "$i" "$feat" "$part"
    done > "$d/proc/cpuinfo"
  fi
  echo "$d"
}
# run CPU MODEL K [ARGS...]: the program's output, then "instructions N".
run() { DOTNET_gcConcurrent=0 "$counter" --cpu "$1" --root "$(cpu_root "$1")" -- "$aot/Cnn.Bench" count "${@:2}"; }
insns() { awk '/^instructions/ {print $2}'; }
echo "| model | cpu | what | MACs per run | instructions per run | MACs/insn |"
echo "|---|---|---|---|---|---|"
for m in $models; do
  for cpu in $cpus; do
    a=$(run "$cpu" "$m" 1 $fuse | insns); b=$(run "$cpu" "$m" 3 $fuse | insns)
    ours=$(( (b - a) / 2 ))
    printf '| %s | %s | inference%s | | %d | |\n' "$m" "$cpu" "${fuse:+ (fused blocks)}" "$ours"
    for form in onnx qdq.onnx; do
      f=$onnx_dir/$m.$form
      [ -f "$f" ] || { echo "| $m | $cpu | ONNX Runtime $form | | missing $f | |"; continue; }
      a=$(run "$cpu" "$f" 1 | insns); b=$(run "$cpu" "$f" 3 | insns)
      ort=$(( (b - a) / 2 ))
      printf '| %s | %s | ONNX Runtime %s (ours/ORT %s) | | %d | |\n' "$m" "$cpu" "${form%.onnx}" "$(awk -v a="$ours" -v b="$ort" 'BEGIN { printf "%.2f", a / b }')" "$ort"
    done
    for kind in $kinds; do
      out1=$(run "$cpu" "$m" 1 --kind "$kind"); b=$(run "$cpu" "$m" 3 --kind "$kind" | insns)
      macs=$(echo "$out1" | grep -o 'macs_per_run=[0-9]*' | cut -d= -f2)
      k=$(( (b - $(echo "$out1" | insns)) / 2 ))
      ratio=$(awk -v a="$macs" -v b="$k" 'BEGIN { if (b > 0 && a > 0) printf "%.2f", a / b; else printf "-" }')
      printf '| %s | %s | %s | %d | %d | %s |\n' "$m" "$cpu" "$kind" "$macs" "$k" "$ratio"
    done
done
done
