#!/usr/bin/env bash
# mkinitramfs.sh APPDIR OUT.cpio.gz [OVERLAY] : builds the CI guest's initramfs from
# build/qemu-system/work/ (setup.sh) and the arm64 programs in APPDIR (copied to /opt/app); the
# tree OVERLAY (e.g. opt/cnn-pi/...) is copied over the root as it is. Contents: busybox, glibc,
# libgcc_s, libstdc++, libgpiod + gpiod tools, the module closures of vivid and gpio-sim, init.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$here/work
app=$(cd "$1" && pwd); out=$2
read -r pkg version < "$work/kernel-version"
abi=${pkg#linux-image-}; abi=${abi%:arm64}
stage=$(mktemp -d "$work/stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
g=$work/guest

mkdir -p "$stage"/{bin,lib/aarch64-linux-gnu,usr/lib/aarch64-linux-gnu,usr/bin,etc,opt/app}
cp "$g/bin/busybox" "$stage/bin/"
for f in ld-linux-aarch64.so.1 libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1 libgcc_s.so.1; do
  cp -L "$g/lib/aarch64-linux-gnu/$f" "$stage/lib/aarch64-linux-gnu/"
done
ln -s aarch64-linux-gnu/ld-linux-aarch64.so.1 "$stage/lib/ld-linux-aarch64.so.1"
cp -L "$g"/usr/lib/aarch64-linux-gnu/libstdc++.so.6 "$g"/usr/lib/aarch64-linux-gnu/libgpiod.so.2 "$stage/usr/lib/aarch64-linux-gnu/"
cp "$g"/usr/bin/gpio* "$stage/usr/bin/"
cp "$work/semiexit" "$stage/opt/"
cp -r "$app"/. "$stage/opt/app/"
rm -f "$stage"/opt/app/*.dbg
[ -n "${3:-}" ] && cp -r "$3"/. "$stage/"
cp "$here/init.sh" "$stage/init"
chmod +x "$stage/init"

# Module closures in load order. vivid: one capture node only (node_types=0x1), so it is /dev/video0.
: > "$stage/etc/modules.load"
for spec in "configfs" "gpio-sim" "vivid n_devs=1 node_types=0x1"; do
  set -- $spec; mod=$1; shift
  modprobe -d "$work/modroot" -S "$abi" --show-depends "$mod" | while read -r kind path _; do
    [ "$kind" = insmod ] || continue
    rel=${path#"$work/modroot"}
    grep -q "^$rel\\b" "$stage/etc/modules.load" && continue
    mkdir -p "$stage$(dirname "$rel")"
    cp "$path" "$stage$rel"
    if [ "$(basename "$rel" .ko)" = "${mod//-/_}" ] || [ "$(basename "$rel" .ko)" = "$mod" ]; then
      echo "$rel $*" >> "$stage/etc/modules.load"
    else
      echo "$rel" >> "$stage/etc/modules.load"
    fi
  done
done
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
echo "mkinitramfs: $out ($(du -k "$out" | cut -f1) KiB, $(wc -l < "$stage/etc/modules.load") modules)"
