#!/usr/bin/env bash
# The arm64 tests under QEMU (called by .ci/run; runnable on its own from any directory).
#
#   build/test-arm64.sh [user|system|all]      (default: all)
#
# user:   cross-publishes tests/Cnn.Edge.Tests (xunit.v3, self-contained JIT) and
#         tests/Cnn.Edge.AotTests (NativeAOT check runner) for linux-arm64 and runs each under
#         qemu-aarch64 twice: -cpu cortex-a72 (Raspberry Pi 4: NEON, no dot product) and
#         -cpu cortex-a76 (Raspberry Pi 5: NEON + dot product).
# system: boots Debian's arm64 kernel under qemu-system-aarch64 (-M virt -cpu cortex-a72) with
#         gpio-sim and vivid, and runs the NativeAOT device program inside (build/qemu-system/).
#
# On a fresh Debian 12 machine with only the .NET SDK it installs what it needs with apt
# (build/arm64/host-packages.sh). Downloads are cached in build/arm64/cache/ and
# build/qemu-system/work/ (gitignored), so reruns on the same machine skip them.
# The last line of output is "N passed, M failed" (totals over all arm64 runs); the exit status
# is nonzero when anything failed, including a build or a run that produced no totals.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. build/arm64/lib.sh
what=${1:-all}
case "$what" in user|system|all) ;; *) echo "usage: $0 [user|system|all]" >&2; exit 2 ;; esac
cpus=${ARM64_CPUS:-cortex-a72 cortex-a76}
suites=${ARM64_SUITES:-xunit aot}  # for local iteration: ARM64_SUITES=aot build/test-arm64.sh user
out=$root/artifacts/arm64
logs=$out/logs
mkdir -p "$logs"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

passed=0; failed=0
timings=()
fail() { echo "arm64: FAILED: $*"; failed=$((failed + 1)); }
timing() { timings+=("$1: $2 s"); echo "arm64: time $1: $2 s"; }

t0=$(now)
if ! build/arm64/host-packages.sh; then
  fail "installing the host packages (build/arm64/host-packages.sh)"
  echo "$passed passed, $failed failed"; exit 1
fi
timing "apt (host packages)" "$(elapsed "$t0")"

# publish PROJECT NAME [extra args...]: cross-publishes into artifacts/arm64/NAME.
publish() {
  local project=$1 name=$2; shift 2
  local t; t=$(now)
  rm -rf "${out:?}/$name"
  if dotnet publish "$project" -c Release -r linux-arm64 -o "$out/$name" -nologo -v q "$@" >"$logs/publish-$name.log" 2>&1; then
    timing "publish $name" "$(elapsed "$t")"
    return 0
  fi
  tail -30 "$logs/publish-$name.log"
  fail "dotnet publish $project (log: $logs/publish-$name.log)"
  return 1
}

# run_user NAME CPU LOG COMMAND...: one qemu-aarch64 run under a host timeout.
# DOTNET_EnableWriteXorExecute=0: with W^X the JIT writes code through a second, writable mapping
# of the executable pages; qemu-user only notices writes through the address it executes from, so
# it can run stale translations of reused code memory (seen here: NullReferenceExceptions inside
# reflection InvokeStub_* methods, a different set on each run). Real arm64 hardware is not affected.
run_user() {
  local name=$1 cpu=$2 log=$3; shift 3
  local t rc; t=$(now)
  DOTNET_EnableWriteXorExecute=0 QEMU_CPU=$cpu QEMU_LD_PREFIX=$rootfs CNN_EXPECT_CPU=$cpu \
    timeout --kill-after=10 600 qemu-aarch64-static "$@" >"$log" 2>&1
  rc=$?
  timing "run $name $cpu" "$(elapsed "$t")"
  [ "$rc" = 124 ] && echo "arm64: $name on $cpu timed out after 600 s"
  return $rc
}

if [ "$what" != system ]; then
  echo "== arm64 qemu-user: runtime root =="
  t0=$(now)
  if ! rootfs=$(build/arm64/runtime-root.sh); then
    fail "building the arm64 runtime root (build/arm64/runtime-root.sh)"
  else
    timing "runtime root" "$(elapsed "$t0")"

    if [[ " $suites " == *" xunit "* ]]; then
    echo "== arm64 qemu-user: tests/Cnn.Edge.Tests (xunit.v3, JIT, self-contained) =="
    # ReadyToRun: the test code arrives precompiled for arm64, so the emulated JIT has less to do
    # (about 1.7x faster here); hot methods are still rejitted at tier 1, as on a real Pi.
    if publish tests/Cnn.Edge.Tests/Cnn.Edge.Tests.csproj Cnn.Edge.Tests --self-contained -p:PublishReadyToRun=true; then
      for cpu in $cpus; do
        log=$logs/Cnn.Edge.Tests-$cpu.log
        run_user Cnn.Edge.Tests "$cpu" "$log" "$out/Cnn.Edge.Tests/Cnn.Edge.Tests" -noColor
        rc=$?
        grep -E 'FAIL|\[FAIL\]|Total:' "$log" | head -40
        # xunit.v3's summary: "Cnn.Edge.Tests  Total: 9, Errors: 0, Failed: 0, Skipped: 0, Not Run: 0, Time: ..."
        line=$(grep -E 'Total: [0-9]+, Errors: [0-9]+, Failed: [0-9]+, Skipped: [0-9]+' "$log" | tail -1)
        if [ -z "$line" ]; then
          tail -20 "$log"; fail "Cnn.Edge.Tests on $cpu: no xunit summary (exit $rc, log $log)"
          continue
        fi
        num() { echo "$line" | grep -oE "$1: [0-9]+" | grep -oE '[0-9]+'; }
        tot=$(num Total); err=$(num Errors); fl=$(num Failed); sk=$(num Skipped); nr=$(num 'Not Run')
        p=$((tot - fl - sk - ${nr:-0})); f=$((fl + err))
        echo "arm64: Cnn.Edge.Tests on $cpu: $p passed, $f failed, $sk skipped (exit $rc)"
        passed=$((passed + p)); failed=$((failed + f))
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then fail "Cnn.Edge.Tests on $cpu exited with $rc"; fi
      done
    fi

    fi

    if [[ " $suites " == *" aot "* ]]; then
    echo "== arm64 qemu-user: tests/Cnn.Edge.AotTests (NativeAOT) =="
    if publish tests/Cnn.Edge.AotTests/Cnn.Edge.AotTests.csproj Cnn.Edge.AotTests; then
      for cpu in $cpus; do
        log=$logs/Cnn.Edge.AotTests-$cpu.log
        run_user Cnn.Edge.AotTests "$cpu" "$log" "$out/Cnn.Edge.AotTests/Cnn.Edge.AotTests"
        rc=$?
        grep -vE '^PASS ' "$log"
        line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)
        if [ -z "$line" ]; then
          tail -20 "$log"; fail "Cnn.Edge.AotTests on $cpu: no totals line (exit $rc, log $log)"
          continue
        fi
        p=$(echo "$line" | cut -d' ' -f1); f=$(echo "$line" | cut -d' ' -f3)
        passed=$((passed + p)); failed=$((failed + f))
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then fail "Cnn.Edge.AotTests on $cpu exited with $rc"; fi
      done
    fi
    fi
  fi
fi

if [ "$what" != user ]; then
  echo "== arm64 qemu-system: Debian arm64 kernel, gpio-sim, vivid, NativeAOT device program =="
  if [ -x build/qemu-system/test.sh ]; then
    t0=$(now)
    build/qemu-system/test.sh 2>&1 | tee "$logs/qemu-system.log"
    rc=${PIPESTATUS[0]}
    timing "full-system (setup + build + boot + test)" "$(elapsed "$t0")"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$logs/qemu-system.log" | tail -1)
    if [ -n "$line" ]; then
      passed=$((passed + $(echo "$line" | cut -d' ' -f1))); failed=$((failed + $(echo "$line" | cut -d' ' -f3)))
    fi
    if [ "$rc" -ne 0 ] && { [ -z "$line" ] || [ "$(echo "$line" | cut -d' ' -f3)" = 0 ]; }; then
      fail "build/qemu-system/test.sh exited with $rc"
    fi
  else
    fail "build/qemu-system/test.sh is missing"
  fi
fi

echo "== arm64 timings =="
printf '  %s\n' "${timings[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
