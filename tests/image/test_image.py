"""Static checks of a built SD-card image, run by default in CI.

Builds the ``ci`` variant (image/build.sh --variant ci: the host's architecture, no kernel or firmware,
but the same app layer, partitions, fstab, units, users and FAT templates as the Pi image; the base root
filesystem is cached in /var/cache/receipt-terminal-image) and reads the image file without mounting
it. The full arm64 image gets the same checks plus a boot in tests/image/test_boot.py (RT_SLOW=1)."""
from __future__ import annotations

import re
import stat
import subprocess
import tomllib

import pytest

from . import diskimage as di

pytestmark = pytest.mark.skipif(di.skip_reason() is not None, reason=di.skip_reason() or "")

SERVICE_USER = "receipt-terminal"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("ci-image")
    meta = di.build("ci", out, "--keep-rootfs", timeout=1800)
    img = di.Path(meta["image"])
    table, parts = di.partitions(img)
    rootfs = next(out.glob("*.rootfs"))
    return dict(meta=meta, img=img, table=table, parts=parts, root=di.Ext4(img, parts[1]),
                data=di.Ext4(img, parts[2]), rootfs=rootfs)


def passwd(built) -> dict[str, tuple[int, int]]:
    rows = [line.split(":") for line in built["root"].read("/etc/passwd").decode().splitlines()]
    return {r[0]: (int(r[2]), int(r[3])) for r in rows}


def nspawn(built, *cmd, binds=(), check=True):
    args = ["systemd-nspawn", "-q", "--register=no", "--keep-unit", "-D", str(built["rootfs"]),
            *(f"--bind={b}" for b in binds), *cmd]
    return subprocess.run(args, capture_output=True, text=True, timeout=300, check=check)


def test_partition_table_boot_root_data_aligned(built):
    table, parts = built["table"], built["parts"]
    assert table["label"] == "dos" and table["id"] == "0x5eed7e01"
    assert [(p.type, p.bootable) for p in parts] == [("c", True), ("83", False), ("83", False)]
    mib = 1 << 20
    assert all(p.start % (8 * mib) == 0 for p in parts)
    assert parts[0].start + parts[0].size == parts[1].start and parts[1].start + parts[1].size == parts[2].start
    assert parts[2].start + parts[2].size == built["img"].stat().st_size  # data last: it can grow
    assert parts[0].size == 64 * mib and parts[2].size == 64 * mib


def test_labels_match_fstab(built):
    img, parts = built["img"], built["parts"]
    seen = [di.probe(img, p) for p in parts]
    assert [(s["TYPE"], s["LABEL"]) for s in seen] == [("vfat", "TERMINAL"), ("ext4", "rtroot"), ("ext4", "rtdata")]
    tab = di.fstab(built["root"].read("/etc/fstab").decode())
    labels = {row[0].removeprefix("LABEL="): mnt for mnt, row in tab.items() if row[0].startswith("LABEL=")}
    assert labels == {"rtroot": "/", "TERMINAL": "/boot/firmware", "rtdata": "/data"}  # case-sensitive


def test_fstab_puts_config_ledger_and_timer_state_on_the_data_partition(built):
    tab = di.fstab(built["root"].read("/etc/fstab").decode())
    assert tab["/"][2] == "ext4" and tab["/"][5] == "1"  # checked first
    assert tab["/boot/firmware"][2] == "vfat" and "umask=0077" in tab["/boot/firmware"][3].split(",")
    assert tab["/data"][2] == "ext4" and tab["/data"][5] == "2" and "x-systemd.growfs" in tab["/data"][3]
    binds = {mnt: row[0] for mnt, row in tab.items() if "bind" in row[3].split(",")}
    assert binds == {"/etc/receipt-terminal": "/data/config", "/var/lib/receipt-terminal": "/data/state",
                     "/var/lib/systemd/timers": "/data/timers", "/var/lib/systemd/timesync": "/data/timesync",
                     "/srv/turnkey": "/data/turnkey"}
    for mnt in binds:  # empty mount points in the read-only root
        assert built["root"].ls(mnt) == []


def test_data_partition_tree_and_owners(built):
    uid_gid = passwd(built)
    data = built["data"]
    assert set(data.ls("/")) >= {"config", "state", "timers", "timesync", "network", "turnkey"}
    for name, owner, mode in [("config", SERVICE_USER, 0o700), ("state", SERVICE_USER, 0o700),
                              ("turnkey", SERVICE_USER, 0o700),
                              ("timesync", "systemd-timesync", 0o755), ("network", "root", 0o700),
                              ("timers", "root", 0o755)]:
        st = data.stat(f"/{name}")
        assert (st["type"], (st["uid"], st["gid"]), st["mode"]) == ("directory", uid_gid[owner], mode), name


def test_units_enabled_and_apt_timers_off(built):
    root = built["root"]
    wants = {
        "timers.target.wants": ["receipt-terminal-upload.timer"],
        "multi-user.target.wants": ["receipt-terminal.service", "receipt-terminal-firstboot.service",
                                    "receipt-terminal-growdata.service"],
        "local-fs.target.wants": ["overlayroot-lower-ro.service"],
        "sysinit.target.wants": ["systemd-time-wait-sync.service", "systemd-timesyncd.service"],
    }
    for target, units in wants.items():
        for unit in units:
            link = root.stat(f"/etc/systemd/system/{target}/{unit}")
            assert link["type"] == "symlink" and link["target"].endswith("/" + unit), (target, unit)
            assert root.read(link["target"])  # the unit file itself is in the image
    timers = root.ls("/etc/systemd/system/timers.target.wants")
    assert "apt-daily.timer" not in timers and "apt-daily-upgrade.timer" not in timers
    # no network at the counter must not keep the terminal from starting (and its OLED dark) forever
    drop_in = root.read("/etc/systemd/system/systemd-time-wait-sync.service.d/receipt-terminal.conf").decode()
    assert "\nTimeoutStartSec=3min\n" in drop_in


def test_units_verify_inside_the_image(built):
    units = ["receipt-terminal.service", "receipt-terminal-upload.service", "receipt-terminal-upload.timer",
             "receipt-terminal-firstboot.service", "receipt-terminal-growdata.service",
             "overlayroot-lower-ro.service"]
    r = nspawn(built, "systemd-analyze", "verify", *(f"/etc/systemd/system/{u}" for u in units), check=False)
    problems = [l for l in r.stderr.splitlines() if "receipt-terminal" in l and "Attempted to remove" not in l]
    assert r.returncode == 0 and not problems, r.stderr


def test_service_user_groups_and_udev_rules(built):
    users = passwd(built)
    assert SERVICE_USER in users
    rows = (line.split(":") for line in built["root"].read("/etc/group").decode().splitlines())
    groups = {r[0]: r[3].split(",") for r in rows}
    for g in ("input", "lp", "dialout", "i2c", "gpio"):
        assert SERVICE_USER in groups[g], g
    assert built["root"].read("/etc/udev/rules.d/99-receipt-terminal.rules").startswith(b"# USB printers")


def test_fat_partition_holds_the_notepad_templates(built):
    img, boot = built["img"], built["parts"][0]
    assert {"terminal.toml", "README-terminal.txt"} <= set(di.fat_list(img, boot))
    raw = di.fat_read(img, boot, "terminal.toml")
    assert raw.count(b"\r\n") == raw.count(b"\n") > 10  # CRLF throughout
    template = tomllib.loads(raw.decode())
    assert template["seller"]["tax_id"] == "" and "wifi" not in template  # [wifi] ships commented out


def test_app_runs_inside_the_root_filesystem(built):
    code = ("import terminal.cli, terminal.firstboot, terminal.bootstrap, drivers, display, storage, "
            "evdev, gpiozero, luma.oled.device, escpos.printer, PIL.Image, cryptography, segno, falcon, lgpio; "
            "import sys; print(sys.prefix)")
    r = nspawn(built, "/opt/receipt-terminal/venv/bin/python", "-c", code)
    assert r.stdout.strip() == "/opt/receipt-terminal/venv"
    r = nspawn(built, "/opt/receipt-terminal/venv/bin/receipt-terminal", "--help")
    assert "selftest" in r.stdout
    release = dict(l.split("=", 1) for l in built["root"].read("/etc/receipt-terminal-release").decode().splitlines())
    version = tomllib.loads((di.REPO / "pyproject.toml").read_text())["project"]["version"]
    assert release["VERSION"] == version and release["IMAGE_VARIANT"] == "ci"


def test_no_compiler_and_the_font_the_app_needs(built):
    rootfs = built["rootfs"]
    assert not list((rootfs / "usr/bin").glob("gcc*")) and not (rootfs / "usr/bin/cc").exists()
    assert (rootfs / "usr/share/fonts/truetype/wqy/wqy-zenhei.ttc").is_file()
    pycs = list((rootfs / "opt/receipt-terminal/venv/lib").glob("python3*/site-packages/terminal/__pycache__/*.pyc"))
    assert pycs  # compiled at build time: the root is read-only on the terminal


def test_first_boot_import_inside_the_image(built, tmp_path):
    """The real module, the image's Python and passwd: the config ends up 0600, owned by the image's
    service user, and no secret stays on the 'card'."""
    boot, etc = tmp_path / "boot", tmp_path / "etc"
    boot.mkdir()
    etc.mkdir()
    key, token = "00112233445566778899AABBCCDDEEFF", "image-test-token-42"
    template = (di.REPO / "image/bootfs/terminal.toml").read_text()
    filled = (template.replace('tax_id = ""', 'tax_id = "04595257"').replace('name = ""', 'name = "測試商店"')
              .replace('address = ""', 'address = "臺北市"').replace('qr_aes_key = ""', f'qr_aes_key = "{key}"')
              .replace('api_token = ""', f'api_token = "{token}"'))
    (boot / "terminal.toml").write_bytes(b"\xef\xbb\xbf" + filled.replace("\n", "\r\n").encode())
    r = nspawn(built, "/opt/receipt-terminal/venv/bin/python", "-m", "terminal.firstboot", "--boot-dir", "/mnt/boot",
               "--config", "/mnt/etc/receipt-terminal/terminal.toml", "--wifi-conf", "/mnt/etc/net/wpa.conf",
               "--no-oled", binds=(f"{boot}:/mnt/boot", f"{etc}:/mnt/etc"), check=False)
    assert r.returncode == 0, r.stderr
    dest = etc / "receipt-terminal" / "terminal.toml"
    st = dest.stat()
    assert (st.st_uid, st.st_gid) == passwd(built)[SERVICE_USER] and stat.S_IMODE(st.st_mode) == 0o600
    assert tomllib.loads(dest.read_text())["secrets"]["qr_aes_key"] == key
    on_card = b"".join(p.read_bytes() for p in boot.iterdir())
    assert key.encode() not in on_card and token.encode() not in on_card
    assert re.search(rb"configuration: OK", (boot / "terminal-status.txt").read_bytes())


def test_filesystems_are_clean(built):
    for part in ("root", "data"):
        r = subprocess.run(["e2fsck", "-fn", built[part].path], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
