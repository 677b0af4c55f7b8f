"""The terminal's configuration: one strict TOML file.

``/etc/receipt-terminal/terminal.toml`` (UTF-8, with or without BOM, LF or CRLF). Every section and
option is declared below; an unknown key or a bad value is an error that names ``section.key`` (the
Klipper habit), so a technician's typo never silently falls back to a default. Secrets (the QR AES key,
the API token, value-added center credentials) are accepted only from a file of mode 0600: either the
``[secrets]`` table of the main file when that file is 0600, or ``[terminal] secrets_file``.
"""
from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

from terminal.core.errors import ConfigError
from terminal.core.taxid import validate_ban

DEFAULT_PATH = Path("/etc/receipt-terminal/terminal.toml")
DEFAULT_STATE_DIR = Path("/var/lib/receipt-terminal")
_HEX32 = re.compile(r"^[0-9A-Fa-f]{32}$")
REQUIRED = object()


@dataclass(frozen=True)
class Opt:
    kind: type | tuple[type, ...]
    default: Any = None
    choices: tuple | None = None
    lo: float | None = None
    hi: float | None = None
    check: Callable[[Any], Any] | None = None  # returns the normalised value or raises ValueError
    secret: bool = False


def _ban(v: str) -> str:
    try:
        return validate_ban(v)
    except Exception as exc:  # ValidationError -> ValueError for the message below
        raise ValueError(str(exc)) from None


def _hex_key(v: str) -> str:
    if not _HEX32.match(v):
        raise ValueError("must be 32 hexadecimal digits (the 128-bit QR AES key from the MOF key tool)")
    return v.upper()


def _token(v: str) -> str:
    if len(v) < 16 or not v.isprintable() or " " in v:
        raise ValueError("must be at least 16 printable characters without spaces")
    return v


def _maxlen(n: int) -> Callable[[str], str]:
    def check(v: str) -> str:
        if not 1 <= len(v) <= n:
            raise ValueError(f"must be 1 to {n} characters")
        return v
    return check


PIN = (int, str)
SCHEMA: dict[str, dict[str, Opt]] = {
    "seller": {
        "tax_id": Opt(str, REQUIRED, check=_ban),
        "name": Opt(str, REQUIRED, check=_maxlen(60)),
        "address": Opt(str, REQUIRED, check=_maxlen(100)),
        "store_name": Opt(str, ""),
        "head_ban": Opt(str, "", check=lambda v: v and _ban(v)),
    },
    "terminal": {
        "id": Opt(str, "T1", check=_maxlen(16)),
        "state_dir": Opt(str, str(DEFAULT_STATE_DIR)),
        "secrets_file": Opt(str, ""),
        "pending_seconds": Opt(int, 90, lo=5, hi=900),
        "split_consumer_tax": Opt(bool, True),
        "require_clock_sync": Opt(bool, True),
        "qr_encoding": Opt(int, 1, choices=(0, 1, 2)),
        "max_qr_version": Opt(int, 9, lo=6, hi=10),
        "pool_warn_days": Opt(int, 5, lo=1, hi=60),
        "allowance_unit": Opt(str, "個", check=_maxlen(6)),
        "test_mode": Opt(bool, False),
        "receipt_footer": Opt(str, ""),
    },
    "api": {
        "bind": Opt(str, "127.0.0.1"),
        "port": Opt(int, 8080, lo=1, hi=65535),
        "max_body_bytes": Opt(int, 256 * 1024, lo=1024, hi=16 * 1024 * 1024),
    },
    "printer": {
        "connection": Opt(str, "usb", choices=("usb", "serial", "network", "file", "none")),
        "vendor_id": Opt(int, 0x0416, lo=0, hi=0xFFFF),
        "product_id": Opt(int, 0x5011, lo=0, hi=0xFFFF),
        "in_ep": Opt(int, 0x82, lo=0, hi=0xFF),
        "out_ep": Opt(int, 0x01, lo=0, hi=0xFF),
        "device": Opt(str, ""),
        "baudrate": Opt(int, 115200, choices=(9600, 19200, 38400, 57600, 115200)),
        "host": Opt(str, ""),
        "port": Opt(int, 9100, lo=1, hi=65535),
        "profile": Opt(str, "POS-5890"),
        "mode": Opt(str, "raster", choices=("raster", "big5", "gb18030")),
        "font": Opt(str, ""),
        "detail_slip": Opt(bool, True),
        "dsrdtr": Opt(bool, True),
        "status_timeout": Opt(float, 0.5, lo=0.05, hi=10.0),
        "require_status": Opt(bool, False),
        # 2 mm keeps every QR quiet zone inside the printed width; 1.5 counts the roll's unprinted margin
        # (smaller receipts, a link that keeps up with the paper; check on real paper first)
        "qr_quiet_edge_mm": Opt(float, 2.0, lo=1.0, hi=4.0),
    },
    "oled": {
        "enabled": Opt(bool, True),
        "driver": Opt(str, "ssd1306", choices=("ssd1306", "sh1106")),
        "i2c_bus": Opt(int, -1, lo=-1, hi=32),
        "address": Opt(int, 0x3C, lo=0x03, hi=0x77),
        "rotate": Opt(int, 0, choices=(0, 1, 2, 3)),
        "font": Opt(str, ""),
        "dim_after_s": Opt(float, 60.0, lo=0.0, hi=86400.0),
        "off_after_s": Opt(float, 0.0, lo=0.0, hi=86400.0),
        "orbit_s": Opt(float, 120.0, lo=0.0, hi=86400.0),
    },
    "scanner": {
        "type": Opt(str, "evdev", choices=("evdev", "serial", "stdin", "none")),
        "name": Opt(str, ""),
        "vendor_id": Opt(int, 0, lo=0, hi=0xFFFF),
        "product_id": Opt(int, 0, lo=0, hi=0xFFFF),
        "by_id": Opt(str, ""),
        "device": Opt(str, ""),
        "baudrate": Opt(int, 9600, lo=1200, hi=921600),
        "timeout_ms": Opt(int, 300, lo=20, hi=5000),
    },
    "gpio": {
        "enabled": Opt(bool, True),
        "reprint_pin": Opt(PIN, 17),
        "clear_pin": Opt(PIN, 27),
        "test_print_pin": Opt(PIN, 22),
        "upload_pin": Opt(PIN, 23),
        "led_ok_pin": Opt(PIN, 5),
        "led_error_pin": Opt(PIN, 6),
        "buzzer_pin": Opt(PIN, 13),
        "hold_seconds": Opt(float, 1.0, lo=0.0, hi=10.0),
    },
    "upload": {
        "backend": Opt(str, "none", choices=("none", "ecpay", "turnkey")),
        "interval_seconds": Opt(int, 300, lo=30, hi=86400),
        "base_url": Opt(str, ""),
        "machine_id": Opt(str, ""),
        "turnkey_root": Opt(str, ""),
        "ca_bundle": Opt(str, ""),
        "timeout_seconds": Opt(float, 10.0, lo=1.0, hi=120.0),
    },
    "secrets": {
        "qr_aes_key": Opt(str, REQUIRED, check=_hex_key, secret=True),
        "api_token": Opt(str, REQUIRED, check=_token, secret=True),
        "ecpay_merchant_id": Opt(str, "", secret=True),
        "ecpay_hash_key": Opt(str, "", secret=True),
        "ecpay_hash_iv": Opt(str, "", secret=True),
    },
}


@dataclass(frozen=True)
class Config:
    sections: Mapping[str, Mapping[str, Any]]
    path: Path | None = None
    secrets_path: Path | None = None
    simulate: bool = False
    warnings: tuple[str, ...] = field(default=())

    def __getattr__(self, name: str) -> Any:
        try:
            return _Section(name, self.sections[name])
        except KeyError:
            raise AttributeError(name) from None

    def section(self, name: str) -> dict:
        return dict(self.sections[name])

    def redacted(self) -> dict:
        """All values with every secret replaced by ``***`` (for logs and ``config check --json``)."""
        out = {s: dict(v) for s, v in self.sections.items()}
        for key, opt in SCHEMA["secrets"].items():
            if out["secrets"].get(key):
                out["secrets"][key] = "***"
        return out


class _Section:
    def __init__(self, name: str, values: Mapping[str, Any]) -> None:
        self._name, self._values = name, values

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(f"{self._name}.{key}") from None


def read_toml(path: Path) -> dict:
    """Read a TOML file written by anyone, including Windows Notepad (BOM, CRLF)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found", code="config_missing",
                          message_zh="找不到設定檔") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}", code="config_unreadable",
                          message_zh="設定檔無法讀取") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 (byte {exc.start}); save it as UTF-8", code="config_syntax",
                          message_zh="設定檔須為UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}", code="config_syntax", message_zh="設定檔語法錯誤") from None


def _check_private(path: Path, what: str) -> None:
    st = path.stat()
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{what} are in {path}, which is readable by other users "
                          f"(mode {stat.S_IMODE(st.st_mode):04o}); run: chmod 600 {path}",
                          code="secrets_not_private", message_zh="金鑰檔權限須為0600", field=what)


def _coerce(section: str, key: str, opt: Opt, value: Any) -> Any:
    name = f"{section}.{key}"
    kinds = opt.kind if isinstance(opt.kind, tuple) else (opt.kind,)
    if opt.kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(value, bool) and bool not in kinds:
        ok = False
    else:
        ok = isinstance(value, kinds)
    if not ok:
        want = " or ".join({int: "an integer", str: "a string", bool: "true/false", float: "a number"}[k]
                           for k in kinds)
        raise ConfigError(f"{name} must be {want}, got {value!r}", field=name, message_zh=f"設定錯誤: {name}")
    if opt.choices is not None and value not in opt.choices:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, opt.choices))}; got {value!r}",
                          field=name, message_zh=f"設定錯誤: {name}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if (opt.lo is not None and value < opt.lo) or (opt.hi is not None and value > opt.hi):
            raise ConfigError(f"{name} must be between {opt.lo:g} and {opt.hi:g}; got {value!r}", field=name,
                              message_zh=f"設定錯誤: {name}")
    if opt.check is not None and value != "":
        try:
            value = opt.check(value) or value
        except ValueError as exc:
            shown = "***" if opt.secret else repr(value)
            raise ConfigError(f"{name} {exc} (got {shown})", field=name,
                              message_zh=f"設定錯誤: {name}") from None
    return value


def parse(data: Mapping[str, Any], *, secrets: Mapping[str, Any] | None = None) -> dict[str, dict]:
    """Validate a config mapping against SCHEMA; returns every section with defaults filled in."""
    merged = {k: v for k, v in data.items()}
    if secrets:
        merged["secrets"] = {**dict(merged.get("secrets", {})), **secrets}
    out: dict[str, dict] = {}
    for section in merged:
        if section not in SCHEMA:
            raise ConfigError(f"unknown section [{section}] (known: {', '.join(SCHEMA)})", field=section,
                              message_zh=f"未知的設定區段 {section}")
        if not isinstance(merged[section], Mapping):
            raise ConfigError(f"{section} must be a table ([{section}])", field=section,
                              message_zh=f"設定錯誤: {section}")
    for section, options in SCHEMA.items():
        given = dict(merged.get(section, {}))
        values = {}
        for key in given:
            if key not in options:
                raise ConfigError(f"unknown option {section}.{key}", field=f"{section}.{key}",
                                  message_zh=f"未知的設定 {section}.{key}")
        for key, opt in options.items():
            if key in given and opt.default is REQUIRED and given[key] == "":
                raise ConfigError(f"{section}.{key} is empty; it is required", field=f"{section}.{key}",
                                  message_zh=f"缺少設定 {section}.{key}")
            if key in given:
                values[key] = _coerce(section, key, opt, given[key])
            elif opt.default is REQUIRED:
                raise ConfigError(f"missing required option {section}.{key}", field=f"{section}.{key}",
                                  message_zh=f"缺少設定 {section}.{key}")
            else:
                values[key] = opt.default
        out[section] = values
    if not out["seller"]["store_name"]:
        out["seller"]["store_name"] = out["seller"]["name"]
    if not out["seller"]["head_ban"]:
        out["seller"]["head_ban"] = out["seller"]["tax_id"]
    if out["upload"]["backend"] == "ecpay":
        for key in ("ecpay_merchant_id", "ecpay_hash_key", "ecpay_hash_iv"):
            if not out["secrets"][key]:
                raise ConfigError(f"upload.backend = \"ecpay\" needs secrets.{key}", field=f"secrets.{key}",
                                  message_zh=f"缺少設定 secrets.{key}")
        if not out["upload"]["base_url"] or not out["upload"]["machine_id"]:
            raise ConfigError("upload.backend = \"ecpay\" needs upload.base_url and upload.machine_id",
                              field="upload.base_url", message_zh="缺少設定 upload.base_url")
    if out["upload"]["backend"] == "turnkey" and not out["upload"]["turnkey_root"]:
        raise ConfigError("upload.backend = \"turnkey\" needs upload.turnkey_root", field="upload.turnkey_root",
                          message_zh="缺少設定 upload.turnkey_root")
    return out


def load(path: str | os.PathLike = DEFAULT_PATH) -> Config:
    """Read, validate and return the config; every problem is a ConfigError naming the key."""
    path = Path(path)
    data = read_toml(path)
    secrets_path = None
    secrets = None
    if data.get("secrets"):
        _check_private(path, "secrets")
    secrets_file = data.get("terminal", {}).get("secrets_file") if isinstance(data.get("terminal"), Mapping) else None
    if secrets_file:
        secrets_path = Path(secrets_file)
        if not secrets_path.is_absolute():
            secrets_path = path.parent / secrets_path
        sdata = read_toml(secrets_path)
        _check_private(secrets_path, "secrets")
        extra = set(sdata) - {"secrets"}
        if extra:
            raise ConfigError(f"{secrets_path} may only hold a [secrets] table, found [{sorted(extra)[0]}]",
                              field=sorted(extra)[0])
        secrets = sdata.get("secrets", {})
    sections = parse(data, secrets=secrets)
    return Config(MappingProxyType(sections), path=path, secrets_path=secrets_path)


def simulated(state_dir: Path, *, port: int | None = None, api_token: str) -> Config:
    """The config of ``run --simulate``: demo seller 04595257 and the public demo QR key."""
    data = {
        "seller": {"tax_id": "04595257", "name": "示範咖啡有限公司", "address": "臺北市中正區示範路1號",
                   "store_name": "示範咖啡"},
        "terminal": {"state_dir": str(state_dir), "require_clock_sync": False, "test_mode": False},
        "api": {"port": port or 8080},
        "printer": {"connection": "file"},
        "scanner": {"type": "stdin"},
        "secrets": {"qr_aes_key": "FE0F50D87215F625D1248F5FDAEBA37F", "api_token": api_token},
    }
    return Config(MappingProxyType(parse(data)), simulate=True)
