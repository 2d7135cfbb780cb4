#!/usr/bin/env bash
# Builds the arm64 runtime root that qemu-aarch64 uses as its ELF interpreter prefix
# (QEMU_LD_PREFIX): glibc, libgcc_s, libstdc++ and libssl3. The cross glibc in
# /usr/aarch64-linux-gnu would do for NativeAOT programs, but the xunit.v3 runner hashes with
# SHA256 through OpenSSL and aborts with "No usable version of libssl was found" without libssl3.
# Prints the root's path. Cached in build/arm64/cache/ (gitignored).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cache=$here/cache
root=$cache/root
if [ ! -e "$root/.complete" ]; then
  fetch_debs "$cache/debs" libc6:arm64 libgcc-s1:arm64 libstdc++6:arm64 libssl3:arm64 zlib1g:arm64 >&2
  rm -rf "$root"
  unpack_debs "$root" "$cache"/debs/*.deb
  touch "$root/.complete"
fi
echo "$root"
