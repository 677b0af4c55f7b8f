#!/usr/bin/env bash
# Builds the receipt terminal's SD-card image from Debian packages (no Raspberry Pi servers needed).
#
#   sudo image/build.sh [--variant full|ci] [--out DIR] [--source DIR] [--cache DIR] [--no-xz] [--keep-rootfs]
#
# --variant full  (default) arm64, bootable on a Pi 3B/3B+/4B: receipt-terminal-<version>.img.xz + .sha256
# --variant ci    the host's architecture, no kernel or firmware: the same app layer and card layout,
#                 built in about a minute for the static image tests (tests/image/test_image.py)
# --source DIR    the checkout whose wheel is installed (default: this one, as it is on disk)
# --cache DIR     base root filesystems and wheelhouses, reused while their inputs are unchanged
#                 (default $RT_IMAGE_CACHE or /var/cache/receipt-terminal-image)
#
# Stages: 1 base (image/base.sh, cached: ~20 min for full under qemu-user), 2 wheelhouse (image/wheels.sh,
# cached), 3 the app layer (venv, units, users, config files: ~1 min), 4 assembly (image/assemble.sh,
# seconds), 5 xz + SHA-256 (full only, ~3 min). Needs root; see image/README.md for the host packages.
{  # parsed whole before it runs: editing this file during a build cannot change the build
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
variant=full out=$repo/build/image src=$repo cache=${RT_IMAGE_CACHE:-/var/cache/receipt-terminal-image}
xz=1 keep=0
suite=${RT_SUITE:-bookworm}

die() { echo "build.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
    case $1 in
        --variant) variant=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --source) src=$(cd "$2" && pwd); shift 2 ;;
        --cache) cache=$2; shift 2 ;;
        --no-xz) xz=0; shift ;;
        --keep-rootfs) keep=1; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
case $variant in
    full) arch=arm64 boot_mib=256 data_mib=512 ;;
    ci) arch=$(dpkg --print-architecture) boot_mib=64 data_mib=64 xz=0 ;;
    *) die "unknown variant $variant (full|ci)" ;;
esac
[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap root mode, file ownership inside the filesystems)"
missing=()
for tool in mmdebstrap mkfs.vfat mcopy mkfs.ext4 sfdisk systemd-nspawn systemd-sysusers zstd xz; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ "$arch" != "$(dpkg --print-architecture)" ]; then
    command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(aarch64-linux-gnu-gcc)
    if ! arch-test "$arch" >/dev/null 2>&1; then
        update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true   # registered but not enabled
        arch-test "$arch" >/dev/null 2>&1 || missing+=("qemu-user-static/binfmt for $arch")
    fi
fi
((${#missing[@]} == 0)) || die "missing: ${missing[*]} (apt packages: see image/README.md)"

mkdir -p "$out" "$cache/logs"
out=$(cd "$out" && pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$src/pyproject.toml")
rev=$(git -C "$src" describe --always --dirty --exclude='*' 2>/dev/null || echo nogit)
name=receipt-terminal-$version-$rev
[ "$variant" = full ] || name=$name-$variant
work=$(mktemp -d "$out/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
timings=()
t_start=$(date +%s)
t_last=$t_start
stage_done() {
    local now; now=$(date +%s)
    timings+=("\"$1\": $((now - t_last))")
    echo "build.sh: $1 done in $((now - t_last)) s" >&2
    t_last=$now
}
hash_of() { sha256sum | cut -c1-16; }

# ---------------------------------------------------------------------------------------- 1. base
exec 9>"$cache/.lock"
flock 9   # stages 1-2 write the cache: one build at a time there
base_key=$( { cat "$here/base.sh" "$here"/packages/*.txt
              (cd "$here" && find base-rootfs -type f -print0 | sort -z | xargs -0 sha256sum)
              echo "$suite $arch"; } | hash_of)
base=$cache/base-$variant-$arch-$base_key.tar.zst
if [ ! -f "$base" ]; then
    echo "build.sh: building the $variant base root filesystem (cached as $base)" >&2
    RT_SUITE=$suite "$here/base.sh" "$variant" "$base" > "$cache/logs/base-$variant-$base_key.log" 2>&1 ||
        die "base.sh failed, see $cache/logs/base-$variant-$base_key.log"
fi
R=$work/rootfs
mkdir "$R"
tar --zstd -xpf "$base" -C "$R" --numeric-owner --xattrs --xattrs-include='*'
stage_done base

# ----------------------------------------------------------------------------------- 2. wheelhouse
wheels_key=$( { cat "$here/wheels.sh" "$here/requirements-image.txt" "$here/build-requirements.txt" \
                    "$src/constraints.txt" "$src/pyproject.toml"; readlink "$R/usr/bin/python3"; echo "$arch"; } | hash_of)
wheels=$cache/wheels-$arch-$wheels_key
if [ ! -f "$wheels/requirements.txt" ]; then
    rm -rf "$wheels.partial"
    "$here/wheels.sh" "$src" "$R" "$wheels.partial" > "$cache/logs/wheels-$wheels_key.log" 2>&1 ||
        die "wheels.sh failed, see $cache/logs/wheels-$wheels_key.log"
    rm -rf "$wheels" && mv "$wheels.partial" "$wheels"
fi
flock -u 9
"${RT_PYTHON:-python3}" -m pip wheel -q --disable-pip-version-check --no-deps -w "$work/dist" "$src" >/dev/null
stage_done wheels

# ------------------------------------------------------------------------------------ 3. app layer
nspawn() { systemd-nspawn -q --register=no --keep-unit -D "$R" "$@"; }
venv=/opt/receipt-terminal/venv
nspawn --pipe python3 -m venv --without-pip "$venv"
# pip itself is a dependency (sqlite-utils), so the venv's pip comes from the same pinned wheelhouse
pip_whl=$(cd "$wheels" && ls pip-*.whl)
nspawn --bind-ro="$wheels:/mnt/wheels" --bind-ro="$work/dist:/mnt/dist" --pipe sh -c "
    set -e
    $venv/bin/python /mnt/wheels/$pip_whl/pip install -q --disable-pip-version-check --no-index --no-cache-dir \
        --find-links /mnt/wheels -r /mnt/wheels/requirements.txt /mnt/dist/*.whl
    $venv/bin/python -m pip check --disable-pip-version-check"

cp -rT --no-preserve=ownership "$here/rootfs" "$R"
install -m 644 -t "$R/etc/systemd/system" "$src"/systemd/receipt-terminal.service \
    "$src"/systemd/receipt-terminal-upload.service "$src"/systemd/receipt-terminal-upload.timer \
    "$src"/systemd/receipt-terminal-firstboot.service
install -D -m 644 "$src/systemd/receipt-terminal.sysusers" "$R/usr/lib/sysusers.d/receipt-terminal.conf"
install -D -m 644 "$src/systemd/99-receipt-terminal.rules" "$R/etc/udev/rules.d/99-receipt-terminal.rules"
install -m 644 "$src/README.md" "$R/opt/receipt-terminal/README.md"
install -m 644 "$here/README.md" "$R/opt/receipt-terminal/image-README.md"
systemd-sysusers --root="$R" "$R/usr/lib/sysusers.d/receipt-terminal.conf"
systemctl --root="$R" --quiet enable receipt-terminal.service receipt-terminal-upload.timer \
    receipt-terminal-firstboot.service receipt-terminal-growdata.service overlayroot-lower-ro.service \
    systemd-time-wait-sync.service
# a read-only root is updated by re-flashing: no apt runs, no dpkg database backups
systemctl --root="$R" --quiet disable apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer 2>/dev/null || true
cat > "$R/etc/receipt-terminal-release" <<EOF
NAME=receipt-terminal
VERSION=$version
SOURCE_REVISION=$rev
IMAGE_VARIANT=$variant
DEBIAN_SUITE=$suite
BUILT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
EOF

# mount points of the data partition, empty in the root filesystem
for d in data etc/receipt-terminal var/lib/receipt-terminal var/lib/systemd/timers var/lib/systemd/timesync \
         srv/turnkey; do
    mkdir -p "$R/$d"
    [ -z "$(ls -A "$R/$d")" ] || die "$d is not empty in the root filesystem (it is a mount point)"
done
owner() { awk -F: -v u="$1" '$1 == u { print $3 ":" $4 }' "$R/etc/passwd"; }
svc=$(owner receipt-terminal)
timesync=$(owner systemd-timesync)
[ -n "$svc" ] && [ -n "$timesync" ] || die "service or systemd-timesync user missing in the root filesystem"
D=$work/data
install -d -m 700 -o "${svc%:*}" -g "${svc#*:}" "$D/config" "$D/state" "$D/turnkey"
install -d -m 755 "$D/timers"
install -d -m 755 -o "${timesync%:*}" -g "${timesync#*:}" "$D/timesync"
install -d -m 700 "$D/network"

B=$work/boot
mkdir "$B"
if [ -d "$R/boot/firmware" ] && [ -n "$(ls -A "$R/boot/firmware")" ]; then
    mv "$R"/boot/firmware/* "$B"/
fi
mkdir -p "$R/boot/firmware"
for f in "$here"/bootfs/*; do  # CRLF: the technician opens these in Notepad
    sed 's/\r*$/\r/' "$f" > "$B/$(basename "$f")"
done
stage_done app

# -------------------------------------------------------------------------------------- 4. assemble
img=$out/$name.img
"$here/assemble.sh" "$R" "$B" "$D" "$img" "$boot_mib" "$data_mib" >&2
stage_done assemble

# ------------------------------------------------------------------------------------ 5. compress
artifact=$img
if [ "$xz" = 1 ]; then
    xz -T0 -6 -f -k "$img"
    artifact=$img.xz
    (cd "$out" && sha256sum "$(basename "$artifact")" > "$(basename "$artifact").sha256")
    stage_done xz
fi
if [ "$keep" = 1 ]; then
    rm -rf "$out/$name.rootfs" && mv "$R" "$out/$name.rootfs"
fi
IFS=,
cat > "$out/$name.build.json" <<EOF
{"image": "$img", "artifact": "$artifact", "variant": "$variant", "arch": "$arch", "base": "$base",
 "wheels": "$wheels", "image_bytes": $(stat -c %s "$img"), "allocated_bytes": $(( $(stat -c %b "$img") * 512 )),
 "artifact_bytes": $(stat -c %s "$artifact"), "seconds": {${timings[*]}, "total": $(( $(date +%s) - t_start ))}}
EOF
unset IFS
echo "$artifact"
exit
}
