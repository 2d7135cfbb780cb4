#!/usr/bin/env bash
# Prepares everything the full-system guest needs, cached in build/qemu-system/work/ (gitignored):
#   work/kernel-version       "linux-image-<abi>:arm64 <version>" of the kernel in use
#   work/kernel/vmlinuz       Debian's arm64 kernel
#   work/modroot/lib/modules/<abi>/  its modules plus extra/{irq_sim,gpio-sim}.ko, with modules.dep
#   work/guest/               arm64 userland unpacked with dpkg -x (busybox, glibc, libgpiod, gpiod)
# Debian's arm64 kernel lacks gpio-sim (CONFIG_GPIO_SIM is not set), so gpio-sim and irq_sim are
# built out of tree from the matching linux-source against the matching linux-headers.
# The kernel is pinned to the version first cached: a rerun is offline. When the mirror has moved
# on (a security update replaced the ABI), this says so; `rm -rf build/qemu-system/work` follows it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../arm64/lib.sh"
work=$here/work
mkdir -p "$work/debs"
cd "$work"

# --- which kernel -------------------------------------------------------------------------
candidate_abi() { apt-cache depends linux-image-arm64:arm64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{sub(/:arm64/,"",$2); sub(/^linux-image-/,"",$2); print $2; exit}'; }
candidate_version() { apt-cache policy "$1:arm64" 2>/dev/null | awk '/Candidate:/{print $2}'; }

if [ -e kernel/.complete ] && [ -s kernel-version ]; then
  read -r pkg version < kernel-version
  abi=${pkg#linux-image-}; abi=${abi%:arm64}
  now_abi=$(candidate_abi || true)
  if [ -n "$now_abi" ] && [ "$now_abi" != "$abi" ]; then
    echo "setup: NOTE: the mirror has moved on to linux-image-$now_abi ($(candidate_version "linux-image-$now_abi")); still using the cached $pkg $version (rm -rf build/qemu-system/work to follow it)"
  fi
else
  abi=$(candidate_abi)
  [ -n "$abi" ] || { apt-get -q update >/dev/null; abi=$(candidate_abi); }
  [ -n "$abi" ] || { echo "setup: ERROR: apt knows no linux-image-arm64:arm64 (is the arm64 architecture enabled? build/arm64/host-packages.sh does it)" >&2; exit 3; }
  version=$(candidate_version "linux-image-$abi")
  pkg=linux-image-$abi:arm64
fi
series=$(echo "$version" | cut -d. -f1,2)  # 6.1.192-2 -> 6.1 (linux-source-6.1, linux-kbuild-6.1)
echo "setup: kernel $pkg $version (linux $series)"

# Downloads exact versions, so headers and source match the image byte for byte. Debian's
# security mirror keeps only the newest kernel: after an ABI bump the old version is a 404.
fetch_exact() {
  local spec file
  for spec in "$@"; do
    file=$(echo "${spec%%=*}" | sed 's/:.*//')_$(echo "${spec#*=}" | sed 's/:/%3a/')_
    compgen -G "debs/$file*.deb" >/dev/null && continue
    if ! (cd debs && apt-get download -q "$spec" >/dev/null 2>.err); then
      echo "setup: ERROR: cannot download $spec: $(tail -1 debs/.err)" >&2
      echo "setup: the Debian mirror has most likely moved on (it keeps only the newest kernel; this machine's index names $version). Run 'apt-get update' and 'rm -rf build/qemu-system/work', then rerun to follow it." >&2
      exit 3
    fi
  done
  rm -f debs/.err
}

if [ ! -e kernel/.complete ]; then
  fetch_exact "linux-image-$abi:arm64=$version" "linux-headers-$abi:arm64=$version" \
    "linux-headers-${abi%-arm64}-common=$version" "linux-kbuild-$series=$version" "linux-source-$series=$version"

  # --- out-of-tree gpio-sim + irq_sim --------------------------------------------------------
  rm -rf kb src mod kernel modroot
  mkdir -p kb src mod
  for d in debs/linux-headers-"$abi"_* debs/linux-headers-"${abi%-arm64}"-common_* debs/linux-kbuild-"$series"_*; do dpkg -x "$d" kb; done
  headers=$work/kb/usr/src/linux-headers-$abi
  # The arch headers' Makefile includes the common part by absolute path (/usr/src/...).
  sed -i "s|^include /usr/src/|include $work/kb/usr/src/|" "$headers/Makefile"
  echo "setup: extracting gpio-sim.c, gpiolib.h, irq_sim.c from linux-source-$series"
  dpkg --fsys-tarfile debs/linux-source-"$series"_*.deb | tar -xO "./usr/src/linux-source-$series.tar.xz" \
    | tar -xJ -C src "linux-source-$series/drivers/gpio/gpio-sim.c" "linux-source-$series/drivers/gpio/gpiolib.h" "linux-source-$series/kernel/irq/irq_sim.c"
  cp src/linux-source-"$series"/drivers/gpio/{gpio-sim.c,gpiolib.h} src/linux-source-"$series"/kernel/irq/irq_sim.c mod/
  # irq_sim is built-in code (CONFIG_IRQ_SIM) that the kernel does not have: as a module it may not
  # use irq_to_desc (not exported); generic_handle_irq does the same lookup and is exported.
  grep -q 'handle_simple_irq(irq_to_desc(irqnum));' mod/irq_sim.c || { echo "setup: ERROR: irq_sim.c changed upstream; update the patch in $0" >&2; exit 3; }
  sed -i 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' mod/irq_sim.c
  printf '\nMODULE_LICENSE("GPL");\nMODULE_DESCRIPTION("irq_sim built out of tree for the CI guest");\n' >> mod/irq_sim.c
  echo 'obj-m := irq_sim.o gpio-sim.o' > mod/Kbuild
  make -s -C "$headers" M="$work/mod" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- \
    DEB_BUILD_ARCH=amd64 DEB_HOST_ARCH=arm64 DEB_HOST_GNU_TYPE=aarch64-linux-gnu modules 2>&1 | grep -v 'Skipping BTF' || true
  [ -e mod/gpio-sim.ko ] && [ -e mod/irq_sim.ko ] || { echo "setup: ERROR: building gpio-sim/irq_sim failed" >&2; exit 3; }
  magic=$(modinfo -F vermagic mod/gpio-sim.ko)
  case "$magic" in "$abi "*) ;; *) echo "setup: ERROR: gpio-sim vermagic '$magic' does not match $abi" >&2; exit 3 ;; esac

  # --- kernel and module tree ----------------------------------------------------------------
  mkdir -p kernel modroot
  dpkg -x debs/linux-image-"$abi"_*.deb kernel/root
  cp kernel/root/boot/vmlinuz-"$abi" kernel/vmlinuz
  mv kernel/root/lib modroot/lib
  rm -rf kernel/root
  mkdir -p "modroot/lib/modules/$abi/extra"
  cp mod/irq_sim.ko mod/gpio-sim.ko "modroot/lib/modules/$abi/extra/"
  # The .deb ships no modules.dep (the postinst makes it): build it for modprobe --show-depends.
  depmod -b modroot "$abi"
  rm -rf kb src  # 90 MB of headers and sources; the .debs stay cached
  echo "$pkg $version" > kernel-version
  touch kernel/.complete
fi

# --- guest userland ---------------------------------------------------------------------------
if [ ! -e guest/.complete ]; then
  fetch_debs debs busybox-static:arm64 libc6:arm64 libgcc-s1:arm64 libstdc++6:arm64 libgpiod2:arm64 gpiod:arm64
  rm -rf guest
  for p in busybox-static libc6 libgcc-s1 libstdc++6 libgpiod2 gpiod; do
    dpkg -x "$(ls debs/${p}_*_arm64.deb | head -1)" guest
  done
  touch guest/.complete
fi

# --- semihosting exit helper: makes qemu exit with the guest's status ------------------------
if [ ! -e semiexit ] || [ "$here/semiexit.c" -nt semiexit ]; then
  aarch64-linux-gnu-gcc -static -nostdlib -O2 -o semiexit "$here/semiexit.c"
fi
echo "setup: ready ($(cat kernel-version))"
