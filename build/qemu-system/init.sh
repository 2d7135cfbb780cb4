#!/bin/busybox sh
# /init of the CI guest (build/qemu-system/mkinitramfs.sh puts it in the initramfs).
# Loads the modules, creates a gpio-sim chip and the vivid camera, runs the checks, prints one
# "QTEST PASS|FAIL <name>" line per check and the marker "QTEST-RESULT: PASS (0)" or
# "QTEST-RESULT: FAIL (<n>)", then ends the emulation with <n> as qemu's exit status (semihosting).
# A guest that dies before the marker makes the host count a failure (qemu exits 0 on a panic).
# Kernel command line switches: qtforcefail (adds a failing check, to prove the harness goes red).
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
export PATH=/bin:/sbin:/usr/bin:/usr/sbin LD_LIBRARY_PATH=/lib/aarch64-linux-gnu:/usr/lib/aarch64-linux-gnu
echo "QT $(cut -d' ' -f1 /proc/uptime) init started"

fails=0
pass() { echo "QTEST PASS $1"; }
fail() { echo "QTEST FAIL $1: $2"; fails=$((fails + 1)); }
finish() {
  echo "QT $(cut -d' ' -f1 /proc/uptime) done"
  if [ "$fails" -eq 0 ]; then echo "QTEST-RESULT: PASS (0)"; else echo "QTEST-RESULT: FAIL ($fails)"; fi
  sync
  /opt/semiexit "$fails"
  poweroff -f  # only reached if semihosting is off; the host then relies on the marker
}

# --- modules: load order computed on the host by modprobe --show-depends -------------------------
bad=""
while read -r mod args; do
  # shellcheck disable=SC2086  # args are module parameters
  insmod "$mod" $args 2>/tmp/insmod.err || bad="$bad $(basename "$mod"): $(cat /tmp/insmod.err);"
done < /etc/modules.load
if [ -z "$bad" ]; then pass modules-load; else fail modules-load "$bad"; fi
echo "QT $(cut -d' ' -f1 /proc/uptime) modules loaded"

# --- gpio-sim: one bank of 32 lines labelled like samples/RaspberryPi/qemu-virt.json expects
# (pi-sim-bank0, BCM-like numbering); line 0 is the output the probe drives, line 1 its trigger ---
grep -q " /sys/kernel/config " /proc/mounts || mount -t configfs configfs /sys/kernel/config
sim=/sys/kernel/config/gpio-sim/ci
if mkdir "$sim" && mkdir "$sim/bank0" && echo 32 > "$sim/bank0/num_lines" && echo pi-sim-bank0 > "$sim/bank0/label" \
   && mkdir "$sim/bank0/line0" && echo relay > "$sim/bank0/line0/name" \
   && mkdir "$sim/bank0/line1" && echo trigger > "$sim/bank0/line1/name" \
   && echo 1 > "$sim/live"; then
  dev=$(cat "$sim/dev_name"); chip=$(cat "$sim/bank0/chip_name")
  simdir=/sys/devices/platform/$dev/$chip
  if [ -c "/dev/$chip" ] && [ -e "$simdir/sim_gpio0/value" ]; then pass gpio-sim-chip; else fail gpio-sim-chip "no /dev/$chip or $simdir"; fi
else
  fail gpio-sim-chip "configfs setup failed"; chip=""
fi
gpiodetect 2>&1
[ -c /dev/video0 ] && pass vivid-video0 || fail vivid-video0 "no /dev/video0"
echo "QT $(cut -d' ' -f1 /proc/uptime) devices ready"

# run_gpio_program NAME COMMAND...: the program drives line 0 high and creates /tmp/held; this
# reads line 0 through gpio-sim's sysfs while held, then fires the trigger (line 1) by pull-up.
run_gpio_program() {
  name=$1; shift
  rm -f /tmp/held
  echo pull-down > "$simdir/sim_gpio1/pull"
  "$@" > "/tmp/$name.log" 2>&1 &
  pid=$!
  i=0
  while [ ! -e /tmp/held ] && [ $i -lt 300 ] && kill -0 $pid 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
  if [ -e /tmp/held ]; then
    v=$(cat "$simdir/sim_gpio0/value")
    [ "$v" = 1 ] && pass "$name-output-held-high" || fail "$name-output-held-high" "gpio-sim sim_gpio0/value is '$v' while held"
  else
    fail "$name-output-held-high" "the program never signalled that it holds the line"
  fi
  echo pull-up > "$simdir/sim_gpio1/pull"
  # Scenes: the program announces the class pin it holds in /tmp/scene.N; only that pin may be high.
  for n in 0 1 2; do
    i=0
    while [ ! -e "/tmp/scene.$n" ] && [ $i -lt 300 ] && kill -0 $pid 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
    if [ ! -e "/tmp/scene.$n" ]; then fail "$name-scene-$n" "the program never announced scene $n"; break; fi
    pin=$(cat "/tmp/scene.$n"); high=""
    for p in 23 24 25; do [ "$(cat "$simdir/sim_gpio$p/value")" = 1 ] && high="$high $p"; done
    [ "$high" = " $pin" ] && pass "$name-scene-$n-pin-$pin-held-high" || fail "$name-scene-$n-pin-$pin-held-high" "pins high:${high:- none}"
    touch "/tmp/ack.$n"
  done
  wait $pid; rc=$?
  cat "/tmp/$name.log"
  [ $rc -eq 0 ] && pass "$name-exit" || fail "$name-exit" "exit status $rc"
}

if [ -n "$chip" ] && [ -x /opt/app/guest-probe ]; then
  run_gpio_program probe /opt/app/guest-probe --chip "${chip#gpiochip}" --out 0 --in 1 --video /dev/video0 --ready /tmp/held
  grep -q "^PROBE OK" /tmp/probe.log && pass probe-classify-frames || fail probe-classify-frames "no PROBE OK line"
  echo "QT $(cut -d' ' -f1 /proc/uptime) probe done"
fi

# --- samples/RaspberryPi (cnn-pi), the real device program, with /opt/cnn-pi/cnn-pi.json
# (build/qemu-system/cnn-pi-guest.json): V4L2 mmap capture from vivid, the demo colour model, a GPIO
# edge trigger on line 17 and the class outputs 23/24/25 through libgpiod. /init shows it a scene
# (vivid solid red/green/blue, switched by guest-probe --vivid-pattern), fires the trigger by
# gpio-sim's simulated pull, waits for the decision in its JSON log and reads the pins through
# sysfs while the sample holds them; then SIGTERM, which must leave every output low.
slog=/tmp/cnn-pi.log
# wait_log PATTERN TENTHS: until the sample's log has a line matching PATTERN (false on timeout or exit).
wait_log() {
  i=0
  while ! grep -q "$1" "$slog" && [ $i -lt "$2" ] && kill -0 "$spid" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
  grep -q "$1" "$slog"
}
class_pins_high() {
  h=""
  for p in 23 24 25; do [ "$(cat "$simdir/sim_gpio$p/value")" = 1 ] && h="$h $p"; done
  echo "${h# }"
}
run_sample() {
  cfg=/opt/cnn-pi/cnn-pi.json
  if /opt/cnn-pi/cnn-pi --config "$cfg" --check > /tmp/cnn-pi-check.log 2>&1; then pass sample-config-and-model-check
  else fail sample-config-and-model-check "$(tail -3 /tmp/cnn-pi-check.log | tr '\n' ' ')"; fi
  sed 's/^/SAMPLE /' /tmp/cnn-pi-check.log
  echo pull-down > "$simdir/sim_gpio17/pull"
  /opt/cnn-pi/cnn-pi --config "$cfg" > "$slog" 2> /tmp/cnn-pi.err &
  spid=$!
  if wait_log '"event":"start"' 600; then pass sample-start
  else fail sample-start "no start event: $(tail -3 /tmp/cnn-pi.err | tr '\n' ' ')"; fi
  h=$(class_pins_high)
  [ -z "$h" ] && pass sample-outputs-low-at-start || fail sample-outputs-low-at-start "pins high: $h"
  for scene in "7 red 23" "8 green 24" "9 blue 25"; do
    set -- $scene
    /opt/app/guest-probe --vivid-pattern "$1" /dev/video0 || fail "sample-scene-$2" "setting vivid pattern $1 failed"
    echo pull-up > "$simdir/sim_gpio17/pull"
    if wait_log "\"state\":\"$2\"" 300; then
      h=$(class_pins_high)
      [ "$h" = "$3" ] && pass "sample-scene-$2-pin-$3-held-high" || fail "sample-scene-$2-pin-$3-held-high" "pins high: ${h:-none}"
    else
      fail "sample-scene-$2-pin-$3-held-high" "no decision with state $2 after the trigger"
    fi
    # Back to low only now: the next rising edge is the next trigger (debounce is 50 ms).
    echo pull-down > "$simdir/sim_gpio17/pull"
  done
  kill -TERM "$spid" 2>/dev/null
  i=0
  while kill -0 "$spid" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
  kill -0 "$spid" 2>/dev/null && { kill -KILL "$spid"; fail sample-sigterm "still running 20 s after SIGTERM"; }
  wait "$spid"; rc=$?
  sed 's/^/SAMPLE /' "$slog" /tmp/cnn-pi.err
  [ $rc -eq 0 ] && grep -q '"event":"stop"' "$slog" && pass sample-sigterm-exit-0 || fail sample-sigterm-exit-0 "exit status $rc"
  # A stop request that interrupts a wait (trigger or frame) is a clean shutdown, never a camera error.
  if grep -q '"event":"camera_error"' "$slog"; then fail sample-no-camera-error "$(grep -m1 '"event":"camera_error"' "$slog")"
  else pass sample-no-camera-error; fi
  h=$(class_pins_high)
  [ -z "$h" ] && pass sample-outputs-low-after-exit || fail sample-outputs-low-after-exit "pins high: $h"
}

if [ -n "$chip" ] && [ -x /opt/cnn-pi/cnn-pi ]; then
  run_sample
  echo "QT $(cut -d' ' -f1 /proc/uptime) sample done"
else
  fail sample "no gpio-sim chip or no /opt/cnn-pi/cnn-pi"
fi

grep -qw qtforcefail /proc/cmdline && fail forced "qtforcefail on the kernel command line"
finish
