#!/usr/bin/env bash
# Stage 1 of the image build: the Debian arm64 base root filesystem, as a .tar.zst (cached by build.sh,
# keyed by a hash of this script and packages/*.txt, so an app change never rebuilds it).
#
#   image/base.sh full|ci OUT.tar.zst
#
# full: minbase + packages/base.txt + packages/boot.txt (kernel, Pi firmware, Wi-Fi, overlayroot);
#       the initramfs is generated exactly once, at the end, with busybox, overlayroot and the ext4
#       fsck hook already in place (it takes ~10 min under qemu-user, so running it twice matters).
# ci:   minbase + packages/base.txt only, for the HOST's architecture (no kernel/firmware): the same app
#       layer and image layout, checked by the fast tests (arm64 minbase under qemu-user takes ~6 CPU-minutes
#       here, amd64 ~50 CPU-seconds).
# Environment: RT_SUITE (bookworm), RT_MIRROR / RT_SECURITY_MIRROR (default: the host's apt sources).
{  # parsed whole before it runs: editing this file during a build cannot change the build
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
variant=${1:?usage: base.sh full|ci OUT.tar.zst}
out=${2:?usage: base.sh full|ci OUT.tar.zst}
suite=${RT_SUITE:-bookworm}

host_uri() {  # first URIs: line of the host's deb822 sources whose URI matches $1
    sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -m1 -- "$1" || true
}
mirror=${RT_MIRROR:-$(host_uri '/debian$')}
mirror=${mirror:-http://deb.debian.org/debian}
security=${RT_SECURITY_MIRROR:-$(host_uri 'debian-security')}
security=${security:-http://deb.debian.org/debian-security}

packages() { sed -e 's/#.*//' "$@" | tr -s ' \n' ',' | sed 's/^,//; s/,$//'; }

case $variant in
    full) arch=arm64; components="main non-free-firmware"
          include=$(packages "$here/packages/base.txt" "$here/packages/boot.txt") ;;
    ci)   arch=$(dpkg --print-architecture); components="main"; include=$(packages "$here/packages/base.txt") ;;
    *) echo "base.sh: unknown variant $variant (full|ci)" >&2; exit 2 ;;
esac

hooks=(
    # smaller and faster under emulation: no manuals, translations or docs (copyright files stay)
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-include=/usr/share/locale/locale.alias'
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='path-exclude=/usr/share/info/*'
)
if [ "$variant" = full ]; then
    hooks+=(
        # base-rootfs/: the ext4 fsck hook setting and the board settings, which are inputs of
        # raspi-firmware's hook (it rewrites config.txt/cmdline.txt on every kernel or firmware upgrade,
        # so those two files are never edited)
        --setup-hook='mkdir -p "$1/boot/firmware"'
        --setup-hook="sync-in $here/base-rootfs /"
        # postpone update-initramfs until every package is in (see the customize hook)
        --essential-hook='chroot "$1" dpkg-divert --quiet --local --rename --divert /usr/sbin/update-initramfs.rt-real --add /usr/sbin/update-initramfs'
        --essential-hook='printf "#!/bin/sh\necho \"update-initramfs: postponed by the image build\" >&2\n" > "$1/usr/sbin/update-initramfs" && chmod 755 "$1/usr/sbin/update-initramfs"'
        --customize-hook='rm "$1/usr/sbin/update-initramfs" && chroot "$1" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs'
        # ROOTPART/CONSOLES/CMA are read from the package's own defaults file; CMA=0 drops the cma=64M the
        # hook writes when it cannot see the board (the package warns it can make a Pi 4 unbootable)
        --customize-hook="printf '%s\n' '# receipt-terminal image' 'ROOTPART=LABEL=rtroot' 'CONSOLES=\"tty0 ttyS1,115200\"' 'CMA=0' >> \"\$1/etc/default/raspi-firmware\""
        --customize-hook='kver=$(ls "$1/lib/modules") && chroot "$1" update-initramfs -c -k "$kver" && chroot "$1" env DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware "$kver" "/boot/vmlinuz-$kver"'
        --customize-hook='test -s "$1/boot/firmware/cmdline.txt" && grep -q "root=LABEL=rtroot" "$1/boot/firmware/cmdline.txt"'
    )
fi
[ "$arch" = "$(dpkg --print-architecture)" ] || hooks+=(
    # the image's pyconfig.h lets wheels.sh cross-compile C extensions (evdev) on the host in seconds
    --customize-hook='v=$(chroot "$1" python3 -c "import sys; print(\"%d.%d\" % sys.version_info[:2])") && chroot "$1" sh -c "cd /tmp && apt-get download -q libpython$v-dev" >/dev/null && dpkg-deb --fsys-tarfile "$1"/tmp/libpython$v-dev_*.deb | tar -x -C "$1" --wildcards "./usr/include/*/python$v/pyconfig.h" && rm "$1"/tmp/libpython$v-dev_*.deb'
)
hooks+=(
    --customize-hook='ln -sf /usr/share/zoneinfo/Asia/Taipei "$1/etc/localtime" && echo Asia/Taipei > "$1/etc/timezone"'
    --customize-hook='echo receipt-terminal > "$1/etc/hostname"'
    # every card gets its own machine-id at boot; none is baked into the image
    --customize-hook=': > "$1/etc/machine-id"; rm -f "$1/var/lib/dbus/machine-id"'
)

mkdir -p "$(dirname "$out")"
tmp="$out.partial.tar.zst"
rm -f "$tmp"
mmdebstrap --arch="$arch" --variant=minbase --components="$components" --include="$include" "${hooks[@]}" \
    "$suite" "$tmp" \
    "deb $mirror $suite $components" "deb $mirror $suite-updates $components" \
    "deb $security $suite-security $components"
mv "$tmp" "$out"
exit
}
