#!/usr/bin/env bash
# The full-system arm64 test: Debian's arm64 kernel under qemu-system-aarch64 (-M virt -cpu
# cortex-a72, TCG) with gpio-sim and vivid, running the NativeAOT programs inside.
#
#   build/qemu-system/test.sh [--force-fail]       (env: QEMU_SYSTEM_TIMEOUT, QEMU_SYSTEM_APPEND)
#
# 1. setup.sh: kernel, modules (gpio-sim built out of tree), guest userland; cached in work/.
# 2. cross-publishes the guest programs (NativeAOT, linux-arm64): the probe into
#    artifacts/arm64/guest (/opt/app), samples/RaspberryPi (cnn-pi) with cnn-pi-guest.json and the
#    sample's demo colour model (written by `cnn-pi --write-demo-model` under qemu-aarch64-static) into /opt/cnn-pi.
# 3. mkinitramfs.sh, then boots under a host timeout. The guest's /init (init.sh) prints
#    "QTEST PASS|FAIL name" per check and the marker "QTEST-RESULT: PASS|FAIL (n)", and ends
#    qemu through semihosting with n as its exit status. A missing marker is a failure (qemu also
#    exits 0 after a guest panic), and so is a status that disagrees with the marker.
# Ends with "N passed, M failed" (the guest's checks, plus one failure for any harness problem).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/../arm64/lib.sh"
out=$root/artifacts/arm64
logs=$out/logs
app=$out/guest
mkdir -p "$logs"
append='console=ttyAMA0 panic=-1 quiet'
[ "${1:-}" = --force-fail ] && append="$append qtforcefail"
# Extra kernel arguments, e.g. QEMU_SYSTEM_APPEND=rdinit=/bin/false to check that a guest that dies
# before its marker (qemu then exits 0) is counted as a failure.
append="$append ${QEMU_SYSTEM_APPEND:-}"
timeout_s=${QEMU_SYSTEM_TIMEOUT:-300}

harness_fail() { echo "qemu-system: FAILED: $*"; echo "0 passed, 1 failed"; exit 1; }

t=$(now)
"$here/setup.sh" || harness_fail "setup.sh (kernel, gpio-sim, guest userland)"
echo "qemu-system: time setup: $(elapsed "$t") s ($(cat "$here/work/kernel-version"))"

t=$(now)
rm -rf "$app"; mkdir -p "$app"
dotnet publish "$here/probe/GuestProbe.csproj" -c Release -r linux-arm64 -o "$app" -nologo -v q >"$logs/publish-guest-probe.log" 2>&1 \
  || { tail -30 "$logs/publish-guest-probe.log"; harness_fail "publishing the guest probe (log: $logs/publish-guest-probe.log)"; }
echo "qemu-system: time publish guest probe: $(elapsed "$t") s"

# The device sample itself, installed in the guest as on a Pi: /opt/cnn-pi/{cnn-pi,cnn-pi.json,model.cnnq}.
t=$(now)
sample=$out/guest-cnn-pi
overlay=$out/guest-overlay
rm -rf "$sample" "$overlay"; mkdir -p "$overlay/opt/cnn-pi"
dotnet publish "$root/samples/RaspberryPi/RaspberryPi.csproj" -c Release -r linux-arm64 -o "$sample" -nologo -v q >"$logs/publish-guest-cnn-pi.log" 2>&1 \
  || { tail -30 "$logs/publish-guest-cnn-pi.log"; harness_fail "publishing samples/RaspberryPi (log: $logs/publish-guest-cnn-pi.log)"; }
echo "qemu-system: time publish samples/RaspberryPi: $(elapsed "$t") s"
cp "$sample/cnn-pi" "$here/cnn-pi-guest.json" "$overlay/opt/cnn-pi/"
mv "$overlay/opt/cnn-pi/cnn-pi-guest.json" "$overlay/opt/cnn-pi/cnn-pi.json"
# The model: the sample's own demo colour model (ModelBuilder, in Cnn.Edge.Devices), written
# atomically by `cnn-pi --write-demo-model FILE`, run here under qemu-user with the guest's arm64 glibc.
# Any model with the labels red, green and blue would do.
QEMU_LD_PREFIX=$here/work/guest timeout 120 qemu-aarch64-static "$sample/cnn-pi" --write-demo-model "$overlay/opt/cnn-pi/model.cnnq" >"$logs/cnn-pi-demo.log" 2>&1 \
  && [ -s "$overlay/opt/cnn-pi/model.cnnq" ] \
  || { tail -20 "$logs/cnn-pi-demo.log"; harness_fail "writing the demo model with cnn-pi --write-demo-model under qemu-aarch64-static (log: $logs/cnn-pi-demo.log)"; }

t=$(now)
"$here/mkinitramfs.sh" "$app" "$here/work/initrd.cpio.gz" "$overlay" || harness_fail "mkinitramfs.sh"
echo "qemu-system: time initramfs: $(elapsed "$t") s"

t=$(now)
log=$logs/qemu-system.console.log
# -nic none: no network (and no need for the iPXE option ROM package).
timeout --kill-after=10 "$timeout_s" qemu-system-aarch64 -M virt -cpu cortex-a72 -m 1G -smp 1 \
  -nographic -no-reboot -nic none \
  -kernel "$here/work/kernel/vmlinuz" -initrd "$here/work/initrd.cpio.gz" -append "$append" \
  -semihosting-config enable=on,target=native,userspace=on </dev/null >"$log" 2>&1
rc=$?
echo "qemu-system: time boot + test: $(elapsed "$t") s (qemu exit status $rc)"
grep -E '^(QT |QTEST|PROBE|SAMPLE)' "$log"

passed=$(grep -c '^QTEST PASS ' "$log")
failed=$(grep -c '^QTEST FAIL ' "$log")
marker=$(grep -E '^QTEST-RESULT: (PASS|FAIL) \([0-9]+\)' "$log" | tail -1)
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
  echo "qemu-system: FAILED: no end within $timeout_s s (console: $log)"; tail -20 "$log"; failed=$((failed + 1))
elif [ -z "$marker" ]; then
  echo "qemu-system: FAILED: the guest never printed its QTEST-RESULT marker (panic or crash?); console: $log"
  tail -30 "$log"; failed=$((failed + 1))
elif [ "$rc" -ne "$failed" ]; then
  echo "qemu-system: FAILED: qemu exit status $rc disagrees with the $failed failed checks ($marker)"; failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
