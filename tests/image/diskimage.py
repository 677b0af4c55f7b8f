"""Reading a built SD-card image without mounting it: the partition table (sfdisk --json), the FAT
partition (mtools at a byte offset), the ext4 partitions (debugfs on an extracted copy), and building
it (image/build.sh). Shared by the fast image checks and the slow boot test."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "image" / "build.sh"
SECTOR = 512
CI_TOOLS = ("mmdebstrap", "mkfs.vfat", "mcopy", "mtype", "mkfs.ext4", "debugfs", "e2fsck", "sfdisk",
            "systemd-nspawn", "systemd-sysusers", "zstd", "blkid")


def missing_tools(tools=CI_TOOLS) -> list[str]:
    return [t for t in tools if shutil.which(t) is None]


def skip_reason(tools=CI_TOOLS) -> str | None:
    """Why the image tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "image build needs root (mmdebstrap root mode, file owners inside the filesystems)"
    missing = missing_tools(tools)
    if missing:
        return f"image build tools missing: {', '.join(missing)} (apt: mmdebstrap mtools dosfstools fdisk " \
               "e2fsprogs systemd-container zstd)"
    return None


def build(variant: str, out: Path, *extra: str, timeout: int = 3600) -> dict:
    """Run image/build.sh and return its build.json (paths, sizes, stage seconds)."""
    r = subprocess.run([str(BUILD), "--variant", variant, "--out", str(out), *extra], capture_output=True,
                       text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError(f"build.sh failed ({r.returncode}):\n{r.stderr[-4000:]}")
    (meta,) = out.glob("*.build.json")
    return json.loads(meta.read_text())


@dataclass(frozen=True)
class Partition:
    number: int
    start: int  # bytes
    size: int  # bytes
    type: str
    bootable: bool


def partitions(img: Path) -> tuple[dict, list[Partition]]:
    table = json.loads(subprocess.run(["sfdisk", "--json", str(img)], capture_output=True, text=True,
                                      check=True).stdout)["partitiontable"]
    parts = [Partition(i + 1, p["start"] * SECTOR, p["size"] * SECTOR, p["type"], p.get("bootable", False))
             for i, p in enumerate(table["partitions"])]
    return table, parts


def probe(img: Path, part: Partition) -> dict:
    """blkid's view of a partition: TYPE, LABEL, VERSION..."""
    out = subprocess.run(["blkid", "-p", "-o", "export", "-O", str(part.start), str(img)],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


class Ext4:
    """An ext4 partition inside the image file, through debugfs/e2fsck's ``FILE?offset=N`` syntax."""

    def __init__(self, img: Path, part: Partition) -> None:
        self.path = f"{img}?offset={part.start}"

    def _run(self, request: str) -> str:
        return subprocess.run(["debugfs", "-R", request, self.path], capture_output=True, text=True,
                              check=True).stdout

    def write(self, local: Path, path: str) -> None:
        """Copy a local file in (owner and mode from the local file); replaces an existing one."""
        subprocess.run(["debugfs", "-w", "-R", f"rm {path}", self.path], capture_output=True)
        r = subprocess.run(["debugfs", "-w", "-R", f"write {local} {path}", self.path], capture_output=True,
                           text=True, check=True)
        assert "Allocated inode" in r.stdout + r.stderr, r.stderr

    def read(self, path: str) -> bytes:
        r = subprocess.run(["debugfs", "-R", f"cat {path}", self.path], capture_output=True, check=True)
        if b"File not found" in r.stderr:
            raise FileNotFoundError(path)
        return r.stdout

    def stat(self, path: str) -> dict:
        """type (regular, directory, symlink), mode (permission bits), uid, gid, and a symlink's target."""
        r = subprocess.run(["debugfs", "-R", f"stat {path}", self.path], capture_output=True, text=True, check=True)
        if "File not found" in r.stderr:
            raise FileNotFoundError(path)
        out = r.stdout

        def field(name: str, pattern: str = r"(\d+)") -> str:
            m = re.search(rf"\b{name}:\s+{pattern}", out)
            assert m, f"no {name} in debugfs stat {path}:\n{out}"
            return m.group(1)

        info = {"type": field("Type", r"(\S+)"), "mode": int(field("Mode"), 8), "uid": int(field("User")),
                "gid": int(field("Group"))}
        if info["type"] == "symlink":
            info["target"] = field("Fast link dest", r'"(.*)"')
        return info

    def ls(self, path: str) -> list[str]:
        names = []
        for line in self._run(f"ls -p {path}").splitlines():  # /inode/mode/uid/gid/name/size/
            fields = line.split("/")
            if len(fields) >= 7 and fields[5] not in (".", ".."):
                names.append(fields[5])
        return sorted(names)


def fat_read(img: Path, part: Partition, name: str) -> bytes:
    return subprocess.run(["mtype", "-i", f"{img}@@{part.start}", f"::/{name}"], capture_output=True,
                          check=True).stdout


def fat_list(img: Path, part: Partition) -> list[str]:
    out = subprocess.run(["mdir", "-b", "-i", f"{img}@@{part.start}", "::/"], capture_output=True, text=True,
                         check=True).stdout
    return sorted(line.strip().removeprefix("::/") for line in out.splitlines() if line.strip())


def fat_write(img: Path, part: Partition, name: str, data: bytes, tmp: Path) -> None:
    src = tmp / name
    src.write_bytes(data)
    subprocess.run(["mcopy", "-o", "-i", f"{img}@@{part.start}", str(src), f"::/{name}"], check=True)


def fstab(text: str) -> dict[str, list[str]]:
    """mount point -> [spec, mountpoint, type, options, dump, pass]"""
    rows = [line.split() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return {r[1]: r for r in rows}
