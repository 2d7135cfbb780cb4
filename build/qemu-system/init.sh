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

grep -qw qtforcefail /proc/cmdline && fail forced "qtforcefail on the kernel command line"
finish
