#!/usr/bin/env bash
# Installs the host tools of the arm64 runs (Debian 12 amd64, root): qemu-user and qemu-system,
# clang + the aarch64 cross binutils/glibc that NativeAOT links with, and what the full-system
# image build needs (cpio, make, kmod's depmod, xz). Idempotent: a second run installs nothing.
# Also enables the arm64 architecture so `apt-get download NAME:arm64` works (nothing arm64 is
# ever installed into /: those packages are unpacked with dpkg -x into build caches).
set -euo pipefail

packages=(
  qemu-user-static qemu-system-arm
  clang lld llvm
  binutils-aarch64-linux-gnu gcc-aarch64-linux-gnu libc6-dev-arm64-cross libgcc-12-dev-arm64-cross
  cpio make gcc kmod xz-utils bc
)
# Another apt client (a peer's install) may hold the lock: wait instead of failing.
apt_opts=(-y -q -o DPkg::Lock::Timeout=900 -o Acquire::Retries=3)
export DEBIAN_FRONTEND=noninteractive

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

need_update=0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "host-packages: dpkg --add-architecture arm64"
  dpkg --add-architecture arm64
  need_update=1
fi
# The arm64 package index is what `apt-get download NAME:arm64` needs.
if ! ls /var/lib/apt/lists/*_binary-arm64_Packages* >/dev/null 2>&1; then need_update=1; fi
if [ ${#missing[@]} -gt 0 ] && [ "$need_update" = 0 ] && ! apt-cache show "${missing[0]}" >/dev/null 2>&1; then
  need_update=1
fi
if [ "$need_update" = 1 ]; then
  echo "host-packages: apt-get update"
  apt-get "${apt_opts[@]}" update
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "host-packages: installing ${missing[*]}"
  apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}"
else
  echo "host-packages: all ${#packages[@]} packages present"
fi
