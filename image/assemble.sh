#!/usr/bin/env bash
# Stage 4 of the image build: a partitioned SD-card image from three directory trees, with no loop
# device and no mount (works in containers and where vfat cannot be mounted):
#
#   image/assemble.sh ROOTFS BOOT_DIR DATA_DIR OUT.img [BOOT_MIB] [DATA_MIB]
#
#   p1  FAT32  "TERMINAL"  BOOT_DIR  (Pi firmware, kernel, config.txt, terminal.toml)   mkfs.vfat + mcopy
#   p2  ext4   "rtroot"    ROOTFS    (read-only at run time, sized to its content)         mkfs.ext4 -d
#   p3  ext4   "rtdata"    DATA_DIR  (ledger, config, timer state; grown at first boot)   mkfs.ext4 -d
#
# MBR ("dos") table: the Pi 3 boot ROM reads nothing else. Partitions start on 8 MiB boundaries.
{  # parsed whole before it runs: editing this file during a build cannot change the build
set -euo pipefail
rootfs=${1:?usage: assemble.sh ROOTFS BOOT_DIR DATA_DIR OUT.img [BOOT_MIB] [DATA_MIB]}
boot=${2:?}
data=${3:?}
out=${4:?}
boot_mib=${5:-256}
data_mib=${6:-512}
align_mib=8
disk_id=0x5eed7e01   # fixed: reproducible images; partitions are found by label, never by PARTUUID

work=$(mktemp -d "${out%/*}/.assemble.XXXXXX")
trap 'rm -rf "$work"' EXIT

# FAT first, so a missing file shows up before the slow ext4 step
mkfs.vfat -F 32 -n TERMINAL -i 5EED7E01 -C "$work/boot.vfat" $((boot_mib * 1024)) >/dev/null
if [ -n "$(ls -A "$boot")" ]; then
    mcopy -s -p -m -i "$work/boot.vfat" "$boot"/* ::
fi

# the root, sized to its content plus 20% and 128 MiB (so overlayroot-chroot maintenance has room);
# /boot/firmware must be an empty mount point inside it
if [ -n "$(ls -A "$rootfs/boot/firmware" 2>/dev/null)" ]; then
    echo "assemble.sh: $rootfs/boot/firmware is not empty (move it to BOOT_DIR)" >&2
    exit 1
fi
used_mib=$(du -s --apparent-size -B1M -x "$rootfs" | cut -f1)
root_mib=$(( (used_mib * 12 / 10 + 128 + align_mib - 1) / align_mib * align_mib ))
mkfs.ext4 -q -F -L rtroot -m 0 -E root_owner=0:0 -d "$rootfs" "$work/root.ext4" "${root_mib}M"
mkfs.ext4 -q -F -L rtdata -m 1 -E root_owner=0:0 -d "$data" "$work/data.ext4" "${data_mib}M"

boot_start=$align_mib
root_start=$((boot_start + boot_mib))
data_start=$((root_start + root_mib))
rm -f "$out"
truncate -s $(( (data_start + data_mib) ))M "$out"
sfdisk --quiet "$out" <<EOF
label: dos
label-id: $disk_id
start=${boot_start}MiB, size=${boot_mib}MiB, type=c, bootable
start=${root_start}MiB, size=${root_mib}MiB, type=83
start=${data_start}MiB, size=${data_mib}MiB, type=83
EOF
dd if="$work/boot.vfat" of="$out" bs=1M seek=$boot_start conv=notrunc,sparse status=none
dd if="$work/root.ext4" of="$out" bs=1M seek=$root_start conv=notrunc,sparse status=none
dd if="$work/data.ext4" of="$out" bs=1M seek=$data_start conv=notrunc,sparse status=none
echo "assemble.sh: $out: boot ${boot_mib} MiB, root ${root_mib} MiB (${used_mib} MiB used), data ${data_mib} MiB"
exit
}
