"""First-boot import of the technician's ``terminal.toml`` from the SD card's FAT partition.

A technician edits ``terminal.toml`` on the boot partition (the only one Windows can see), usually in
Notepad, so a UTF-8 BOM, CRLF line ends and an added ``.txt`` are accepted. At boot
(``receipt-terminal-firstboot.service``, before the terminal service) this module:

1. validates the file MERGED over the current ``/etc/receipt-terminal/terminal.toml`` with the
   service's own rules (``terminal.config``), so a partial file (say, only ``[printer]``) keeps the
   earlier secrets, and an error names ``section.key`` (or the line of a syntax error);
2. writes the merged file atomically, mode 0600, owned by the service user, then re-reads it with
   ``terminal.config.load``; an optional ``[wifi]`` table becomes a wpa_supplicant file (PSK hashed);
3. only after that write is on disk, renames the FAT copy to ``terminal.toml.applied`` with every
   secret value replaced by a comment, so the card carries no secret and the import does not re-run;
4. reports the outcome in ``terminal-status.txt`` on the FAT partition and, best effort, on the OLED.

Nothing is changed when validation fails. Secret values never reach the status file or the log.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import logging
import os
import pwd
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import tomli_w

from terminal import config as config_mod
from terminal.core.errors import ConfigError

log = logging.getLogger("receipt_terminal.firstboot")

BOOT_DIR = Path("/boot/firmware")
SOURCE_NAMES = ("terminal.toml", "terminal.toml.txt")  # Notepad may append .txt
APPLIED_NAME = "terminal.toml.applied"
STATUS_NAME = "terminal-status.txt"
WIFI_CONF = Path("/data/network/wpa_supplicant.conf")
WLAN_INTERFACES = "wlan0.interfaces"  # next to WIFI_CONF; /etc/network/interfaces.d/wlan0 sources it
SERVICE_USER = "receipt-terminal"
EXIT_OK, EXIT_FAIL, EXIT_CONFIG = 0, 1, 2

# The [wifi] table is the image's, not the service's: it is split off before terminal.config sees the file.
WIFI_KEYS = {"ssid", "psk", "country", "hidden"}
SECRET_KEYS = frozenset({(s, k) for s, opts in config_mod.SCHEMA.items() for k, o in opts.items() if o.secret}
                        | {("wifi", "psk")})
SECRET_TABLES = frozenset({"secrets"})  # any key in these tables is scrubbed, even a misspelt one
MERGED_HEADER = ("# Written by the first-boot import (terminal.toml on the boot partition, merged over the\n"
                 "# previous settings). Change settings the same way; see /opt/receipt-terminal/image-README.md.\n\n")


@dataclass(frozen=True)
class Outcome:
    """What one import did: ``ok`` or a ConfigError-style ``code`` with the offending ``field``."""

    ok: bool
    code: str
    message: str
    message_zh: str
    field: str | None = None
    source: str = ""
    kept: tuple[str, ...] = ()  # keys taken from the earlier /etc file (not in the card's file)
    scrubbed: tuple[str, ...] = ()  # secret keys removed from the card


@dataclass(frozen=True)
class Paths:
    boot_dir: Path = BOOT_DIR
    dest: Path = config_mod.DEFAULT_PATH
    wifi_conf: Path = WIFI_CONF


# ---------------------------------------------------------------------------------------------- input
def find_source(boot_dir: Path) -> Path | None:
    """The technician's file, or None when there is nothing to import (e.g. every later boot)."""
    found = [boot_dir / n for n in SOURCE_NAMES if (boot_dir / n).is_file()]
    if len(found) > 1:
        raise ConfigError(f"both {found[0].name} and {found[1].name} are on the card; delete one of them",
                          code="config_ambiguous", message_zh="設定檔重複", field=found[1].name)
    return found[0] if found else None


def _split_wifi(data: dict) -> dict | None:
    wifi = data.pop("wifi", None)
    if wifi is None:
        return None
    if not isinstance(wifi, Mapping):
        raise ConfigError("wifi must be a table ([wifi])", field="wifi", message_zh="設定錯誤: wifi")
    return dict(wifi)


def validate_wifi(wifi: Mapping[str, Any], earlier: Mapping[str, str] | None = None) -> dict:
    """``[wifi] ssid, psk, country, hidden`` -> normalised values; errors name ``wifi.<key>``.
    Without ``psk`` the earlier network's hashed PSK is kept when the SSID is unchanged (the scrubbed
    ``terminal.toml.applied`` has no psk), so re-applying an edited card keeps the Wi-Fi working."""
    for key in wifi:
        if key not in WIFI_KEYS:
            raise ConfigError(f"unknown option wifi.{key}", field=f"wifi.{key}",
                              message_zh=f"未知的設定 wifi.{key}")

    def bad(key: str, why: str) -> ConfigError:
        return ConfigError(f"wifi.{key} {why}", field=f"wifi.{key}", message_zh=f"設定錯誤: wifi.{key}")

    ssid, psk = wifi.get("ssid"), wifi.get("psk")
    if not isinstance(ssid, str) or not 1 <= len(ssid.encode()) <= 32:
        raise bad("ssid", "must be the network name, 1 to 32 bytes")
    if psk is None and earlier and earlier.get("ssid") == ssid:
        psk = earlier["psk"]
    if not isinstance(psk, str):
        raise bad("psk", "must be the Wi-Fi password as a string" if psk is not None else
                  "is needed (the Wi-Fi password): no earlier password for this network is stored")
    if not (8 <= len(psk) <= 63 and psk.isascii() and psk.isprintable()) and not re.fullmatch(r"[0-9A-Fa-f]{64}", psk):
        raise bad("psk", "must be 8 to 63 printable ASCII characters (WPA2 password)")
    country = wifi.get("country", "TW")
    if not isinstance(country, str) or not re.fullmatch(r"[A-Za-z]{2}", country):
        raise bad("country", "must be a two-letter country code such as TW")
    hidden = wifi.get("hidden", False)
    if not isinstance(hidden, bool):
        raise bad("hidden", "must be true or false")
    return {"ssid": ssid, "psk": psk, "country": country.upper(), "hidden": hidden}


def merge(existing: Mapping[str, Any], incoming: Mapping[str, Any]) -> tuple[dict, tuple[str, ...]]:
    """Table-by-table merge, the card winning; also returns the ``section.key`` names kept from before."""
    out = {s: dict(v) if isinstance(v, Mapping) else v for s, v in existing.items()}
    for section, values in incoming.items():
        if isinstance(values, Mapping) and isinstance(out.get(section), dict):
            out[section].update(values)
        else:
            out[section] = dict(values) if isinstance(values, Mapping) else values
    kept = tuple(f"{s}.{k}" for s, v in existing.items() if isinstance(v, Mapping) for k in v
                 if not (isinstance(incoming.get(s), Mapping) and k in incoming[s]))
    return out, kept


def _secret_values(data: Mapping[str, Any]) -> list[str]:
    values = []
    for section, table in data.items():
        if not isinstance(table, Mapping):
            continue
        for key, value in table.items():
            if (section, key) in SECRET_KEYS or section in SECRET_TABLES:
                values.append(str(value))
    return [v for v in values if v]


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with every secret value replaced by ``***`` (values under 4 characters are no secret
    and replacing them would garble the message)."""
    for value in sorted((v for v in secrets if len(v) >= 4), key=len, reverse=True):
        text = text.replace(value, "***")
    return text


# ---------------------------------------------------------------------------------------------- output
def wpa_supplicant_conf(wifi: Mapping[str, Any]) -> str:
    """A wpa_supplicant network block with the SSID in hex and the PSK pre-hashed (no plaintext)."""
    psk = wifi["psk"]
    if len(psk) != 64:
        psk = hashlib.pbkdf2_hmac("sha1", psk.encode(), wifi["ssid"].encode(), 4096, 32).hex()
    lines = ["# Written by receipt-terminal first-boot import; edit terminal.toml [wifi] instead.",
             "ctrl_interface=DIR=/run/wpa_supplicant GROUP=netdev", "update_config=0",
             f"country={wifi['country']}", "network={", f"\tssid={wifi['ssid'].encode().hex()}",
             f"\tpsk={psk.lower()}", "\tkey_mgmt=WPA-PSK"]
    if wifi["hidden"]:
        lines.append("\tscan_ssid=1")
    return "\n".join(lines + ["}", ""])


def earlier_wifi(path: Path) -> dict | None:
    """SSID and hashed PSK of the network in an existing wpa_supplicant file written by us."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError):
        return None
    ssid = re.search(r"^\s*ssid=([0-9a-f]+)\s*$", text, re.M)
    psk = re.search(r"^\s*psk=([0-9a-f]{64})\s*$", text, re.M)
    if not (ssid and psk):
        return None
    try:
        return {"ssid": bytes.fromhex(ssid.group(1)).decode(), "psk": psk.group(1)}
    except ValueError:
        return None


def wlan_interfaces(wifi_conf: Path) -> str:
    """The ifupdown stanza for wlan0, sourced from /etc/network/interfaces.d only once Wi-Fi is set
    (a stanza without a network would leave a failed ifup@wlan0 at every boot)."""
    return ("# Written by receipt-terminal first-boot import from terminal.toml [wifi].\n"
            f"allow-hotplug wlan0\niface wlan0 inet dhcp\n\twpa-conf {wifi_conf}\n")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # vfat may refuse fsync on a directory; the file itself was synced
        pass
    finally:
        os.close(fd)


def write_private(path: Path, text: str, owner: tuple[int, int] | None) -> Path:
    """Write ``path`` atomically with mode 0600 (and ``owner``); returns the temporary name used
    so a caller can validate it before :func:`commit`. The parent is created 0700."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fd, 0o600)  # O_CREAT's mode is cut by the umask; an existing file keeps its mode
        if owner is not None:
            os.fchown(fd, *owner)
        fh.write(text.encode())
        fh.flush()
        os.fsync(fd)
    return tmp


def commit(tmp: Path, path: Path) -> None:
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _replace_text(path: Path, text: str) -> None:
    """Atomic rewrite of a FAT file (no modes there), CRLF for Notepad."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="\r\n") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    commit(tmp, path)


# ------------------------------------------------------------------------------------------- scrubbing
_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_\-\"' .]+?)\s*\]\s*(#.*)?$")
_KEY = r"""(?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*')"""
_ASSIGN = re.compile(rf"^\s*({_KEY}(?:\s*\.\s*{_KEY})*)\s*=")


def _key_path(raw: str) -> list[str]:
    return [p.strip("\"'") for p in re.findall(_KEY, raw)]


def _is_secret_path(path: list[str]) -> bool:
    if len(path) == 1:
        return path[0] in SECRET_TABLES  # e.g. secrets = { ... } at the top level
    return path[0] in SECRET_TABLES or (path[0], path[1]) in SECRET_KEYS


def scrub_text(text: str, stamp: str) -> str:
    """The technician's file with each secret assignment replaced by a comment, everything else
    (their comments, layout) kept. Multi-line string values are removed whole."""
    out, table, skipping = [], [], None
    for line in text.splitlines():
        if skipping:
            if skipping in line:
                skipping = None
            continue
        header = _HEADER.match(line)
        if header and not line.lstrip().startswith("[["):
            table = _key_path(header.group(1))
            out.append(line)
            continue
        assign = _ASSIGN.match(line)
        if assign and _is_secret_path(table + _key_path(assign.group(1))):
            key = ".".join(table + _key_path(assign.group(1)))
            out.append(f"# {key} = (imported {stamp}; removed from this card, kept on the terminal)")
            value = line[assign.end():]
            for quote in ('"""', "'''"):
                if value.count(quote) == 1:
                    skipping = quote
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def _regenerated(data: Mapping[str, Any], stamp: str) -> str:
    """Fallback when the line scrub cannot be proven clean: the values without secrets."""
    clean = {s: {k: v for k, v in t.items() if not _is_secret_path([s, k])} if isinstance(t, Mapping) else t
             for s, t in data.items() if s not in SECRET_TABLES}
    removed = sorted(f"{s}.{k}" for s, t in data.items() if isinstance(t, Mapping)
                     for k in t if _is_secret_path([s, k]))
    head = [f"# Imported {stamp}. Secrets removed from this card: {', '.join(removed) or 'none'}.", ""]
    return "\n".join(head) + tomli_w.dumps(clean)


def _clean(text: str, secrets: list[str]) -> bool:
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return False
    return not _secret_values(parsed) and not any(v in text for v in secrets)


def scrubbed_copy(text: str, data: Mapping[str, Any], stamp: str) -> str:
    """Text for ``terminal.toml.applied``: provably free of every secret value in ``data``."""
    secrets = _secret_values(data)
    for candidate in (scrub_text(text, stamp), _regenerated(data, stamp)):
        if _clean(candidate, secrets):
            return candidate
    return f"# Imported {stamp}. The settings were applied; this copy was emptied because it could not be\n" \
           "# separated from the secrets it held.\n"


# --------------------------------------------------------------------------------------------- import
def import_config(paths: Paths, *, owner: tuple[int, int] | None, now: dt.datetime) -> Outcome | None:
    """Run the import; None when there is no file on the card. Never raises ConfigError: the outcome
    says what was wrong (and nothing was written but the status file)."""
    source = None
    secrets: list[str] = []
    try:
        source = find_source(paths.boot_dir)
        if source is None:
            return None
        text = source.read_bytes().decode("utf-8-sig", errors="replace")
        incoming = config_mod.read_toml(source)
        existing = _existing(paths.dest)
        secrets = _secret_values(incoming) + _secret_values(existing)
        wifi_raw = _split_wifi(incoming)
        wifi = validate_wifi(wifi_raw, earlier_wifi(paths.wifi_conf)) if wifi_raw is not None else None
        merged, kept = merge(existing, incoming)
        sections = config_mod.parse(merged)
        _require_non_empty(sections)
        tmp = write_private(paths.dest, MERGED_HEADER + tomli_w.dumps(merged), owner)
        try:
            config_mod.load(tmp)  # the service's own loader, on the very bytes it will read
        except ConfigError:
            tmp.unlink(missing_ok=True)
            raise
        commit(tmp, paths.dest)
        if wifi is not None:
            commit(write_private(paths.wifi_conf, wpa_supplicant_conf(wifi), None), paths.wifi_conf)
            stanza = paths.wifi_conf.with_name(WLAN_INTERFACES)
            commit(write_private(stanza, wlan_interfaces(paths.wifi_conf), None), stanza)
        stamp = now.strftime("%Y-%m-%d %H:%M")
        data_for_scrub = {**incoming, **({"wifi": wifi_raw} if wifi_raw is not None else {})}
        _replace_text(source.with_name(APPLIED_NAME), scrubbed_copy(text, data_for_scrub, stamp))
        source.unlink()
        _fsync_dir(source.parent)
        scrubbed = tuple(sorted(f"{s}.{k}" for s, t in data_for_scrub.items() if isinstance(t, Mapping)
                                for k in t if _is_secret_path([s, k])))
        return Outcome(True, "ok", f"{source.name} applied to {paths.dest}", "設定已套用", source=source.name,
                       kept=kept, scrubbed=scrubbed)
    except ConfigError as exc:
        return Outcome(False, exc.code, redact(exc.message, secrets), redact(exc.message_zh, secrets),
                       field=_error_field(exc), source=source.name if source else "")


def _require_non_empty(sections: Mapping[str, Mapping[str, Any]]) -> None:
    """The card's template has ``tax_id = ""`` etc.; an unfilled required value must not pass."""
    for section, options in config_mod.SCHEMA.items():
        for key, opt in options.items():
            if opt.default is config_mod.REQUIRED and sections[section][key] == "":
                raise ConfigError(f"{section}.{key} is empty: fill it in", field=f"{section}.{key}",
                                  message_zh=f"缺少設定 {section}.{key}")


def _existing(dest: Path) -> dict:
    """The current /etc config, or {} when there is none yet (or it is unreadable: the card must then
    hold a complete file, which validation enforces)."""
    if not dest.exists():
        return {}
    try:
        return config_mod.read_toml(dest)
    except ConfigError as exc:
        log.warning("ignoring the current %s: %s", dest, exc.message)
        return {}


def _error_field(exc: ConfigError) -> str | None:
    if exc.field:
        return exc.field
    m = re.search(r"at line (\d+)", exc.message)
    return f"line {m.group(1)}" if m else None


# --------------------------------------------------------------------------------------------- report
def status_text(outcome: Outcome, now: dt.datetime, *, dest: Path) -> str:
    """``terminal-status.txt``: what a technician reads on Windows after the first boot."""
    when = now.strftime("%Y-%m-%d %H:%M %Z").strip()
    if outcome.ok:
        lines = [
            "receipt-terminal configuration: OK",
            "設定已套用",
            "",
            f"Applied {outcome.source} to {dest} ({when}, terminal clock: may be wrong before network time).",
            f"Secrets removed from this card: {', '.join(outcome.scrubbed) or 'none'}.",
            f"Kept from the earlier configuration: {', '.join(outcome.kept) or 'nothing'}.",
            f"The card's copy is now {APPLIED_NAME}. To change a setting: edit it, rename it to terminal.toml",
            "(only the settings in the file change; leave out the secrets to keep them), and restart the terminal.",
        ]
    else:
        where = outcome.field or outcome.source or "terminal.toml"
        lines = [
            "receipt-terminal configuration: ERROR",
            f"{outcome.message_zh}",
            "",
            f"Problem in: {where}",
            f"Error ({outcome.code}): {outcome.message}",
            f"Nothing was changed ({when}). Fix {outcome.source or 'terminal.toml'} on this card and restart",
            "the terminal.",
        ]
    return "\n".join(lines) + "\n"


def show_on_oled(outcome: Outcome, oled_section: Mapping[str, Any]) -> bool:
    """Best effort: the OLED may be absent, disabled, or its driver not installed."""
    if not oled_section.get("enabled", True):
        return False
    try:
        from display import open_oled
        from terminal.core import screens

        if outcome.ok:
            screen = screens.Screen("config_ok", "設定已套用", tuple(
                screens.Line(t) for t in screens.wrap("terminal.toml 已匯入，卡片上的金鑰已移除")))
        else:
            screen = screens.config_error_screen(outcome.field or "terminal.toml")
        oled = open_oled(oled_section)
        oled.show(screen)
        device = getattr(oled, "device", None)
        if device is not None and hasattr(device, "persist"):
            device.persist = True  # keep the message after this process exits
        return True
    except Exception as exc:  # no OLED is not a first-boot failure
        log.info("OLED not used: %s", exc)
        return False


def _oled_section(paths: Paths) -> dict:
    defaults = {k: o.default for k, o in config_mod.SCHEMA["oled"].items()}
    for path in (paths.dest, *(paths.boot_dir / n for n in SOURCE_NAMES), paths.boot_dir / APPLIED_NAME):
        try:
            given = config_mod.read_toml(path).get("oled", {})
        except ConfigError:
            continue
        if isinstance(given, Mapping):
            return {**defaults, **given}
    return defaults


# ----------------------------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="receipt-terminal firstboot",
                                description="Import terminal.toml from the boot partition (run at boot).")
    p.add_argument("--boot-dir", type=Path, default=BOOT_DIR, help="the FAT partition (default %(default)s)")
    p.add_argument("--config", type=Path, default=config_mod.DEFAULT_PATH, help="merged config written here")
    p.add_argument("--wifi-conf", type=Path, default=WIFI_CONF, help="wpa_supplicant file for [wifi]")
    p.add_argument("--user", default=SERVICE_USER, help="owner of the config (the service user)")
    p.add_argument("--no-oled", action="store_true", help="do not try the OLED")
    return p


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when applied or nothing to do, 2 when the file is invalid (see the status file), 1 on
    any other failure. Suitable for ``receipt-terminal firstboot`` and ``python -m terminal.firstboot``."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    args = build_parser().parse_args(argv)
    paths = Paths(args.boot_dir, args.config, args.wifi_conf)
    try:
        pw = pwd.getpwnam(args.user)
    except KeyError:
        print(f"firstboot: error: user {args.user} does not exist (systemd-sysusers not run?)", file=sys.stderr)
        return EXIT_FAIL
    now = dt.datetime.now(dt.timezone.utc).astimezone()
    try:
        outcome = import_config(paths, owner=(pw.pw_uid, pw.pw_gid), now=now)
    except OSError as exc:  # the data partition or the card is not writable: say so on the card too
        outcome = Outcome(False, "config_unwritable", f"cannot apply the configuration: {exc}", "設定無法寫入",
                          source=SOURCE_NAMES[0])
    if outcome is None:
        log.info("no terminal.toml in %s: nothing to import", paths.boot_dir)
        return EXIT_OK
    try:
        _replace_text(paths.boot_dir / STATUS_NAME, status_text(outcome, now, dest=paths.dest))
    except OSError as exc:
        log.error("cannot write %s: %s", paths.boot_dir / STATUS_NAME, exc)
    if not args.no_oled:
        show_on_oled(outcome, _oled_section(paths))
    if outcome.ok:
        log.info("%s; secrets removed from the card: %s", outcome.message, ", ".join(outcome.scrubbed) or "none")
        return EXIT_OK
    print(f"firstboot: error in {outcome.field or outcome.source}: {outcome.message}", file=sys.stderr)
    return EXIT_CONFIG if outcome.code != "config_unwritable" else EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
