"""Config: strict TOML, Windows-friendly, errors that name the key, secrets only in 0600 files."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from terminal import config
from terminal.core.errors import ConfigError

KEY = "FE0F50D87215F625D1248F5FDAEBA37F"
TOKEN = "t0ken-0123456789abcdef"
BASE = f"""
[seller]
tax_id = "04595257"
name = "範例咖啡有限公司"
address = "臺北市中正區範例路1號"

[secrets]
qr_aes_key = "{KEY}"
api_token = "{TOKEN}"
"""


def write(tmp_path: Path, text: str, *, mode: int = 0o600, name: str = "terminal.toml", raw: bytes | None = None):
    p = tmp_path / name
    p.write_bytes(raw if raw is not None else text.encode("utf-8"))
    os.chmod(p, mode)
    return p


def test_minimal_config_fills_defaults(tmp_path):
    cfg = config.load(write(tmp_path, BASE))
    assert cfg.seller.tax_id == "04595257"
    assert cfg.seller.store_name == "範例咖啡有限公司"  # defaults to the seller name
    assert cfg.seller.head_ban == "04595257"
    assert cfg.api.bind == "127.0.0.1" and cfg.api.port == 8080
    assert cfg.printer.mode == "raster"
    assert cfg.secrets.qr_aes_key == KEY


def test_windows_notepad_bom_and_crlf_are_accepted(tmp_path):
    raw = b"\xef\xbb\xbf" + BASE.replace("\n", "\r\n").encode("utf-8")
    cfg = config.load(write(tmp_path, "", raw=raw))
    assert cfg.seller.address == "臺北市中正區範例路1號"


@pytest.mark.parametrize("extra, field, fragment", [
    ("[printer]\nbaudrat = 9600\n", "printer.baudrat", "unknown option printer.baudrat"),
    ("[printr]\nmode = 'raster'\n", "printr", "unknown section [printr]"),
    ("[printer]\nmode = 'cp936'\n", "printer.mode", "must be one of raster, big5, gb18030"),
    ("[api]\nport = 70000\n", "api.port", "between 1 and 65535"),
    ("[api]\nport = '8080'\n", "api.port", "must be an integer"),
    ("[terminal]\nsplit_consumer_tax = 1\n", "terminal.split_consumer_tax", "must be true/false"),
    ("[oled]\naddress = 0x99\n", "oled.address", "between"),
    ("[upload]\nbackend = 'ecpay'\n", "secrets.ecpay_merchant_id", "needs secrets.ecpay_merchant_id"),
    ("[upload]\nbackend = 'turnkey'\n", "upload.turnkey_root", "needs upload.turnkey_root"),
])
def test_bad_values_name_the_key(tmp_path, extra, field, fragment):
    with pytest.raises(ConfigError) as err:
        config.load(write(tmp_path, BASE + extra))
    assert err.value.field == field
    assert fragment in err.value.message
    assert err.value.message_zh


def test_bad_seller_tax_id_names_the_key(tmp_path):
    with pytest.raises(ConfigError) as err:
        config.load(write(tmp_path, BASE.replace('"04595257"', '"04595253"')))
    assert err.value.field == "seller.tax_id"
    assert "check-digit" in err.value.message


def test_empty_required_values_count_as_missing(tmp_path):
    with pytest.raises(ConfigError) as err:
        config.load(write(tmp_path, BASE.replace(f'qr_aes_key = "{KEY}"', 'qr_aes_key = ""')))
    assert err.value.field == "secrets.qr_aes_key" and "is empty; it is required" in err.value.message
    with pytest.raises(ConfigError) as err:
        config.load(write(tmp_path, BASE.replace('tax_id = "04595257"', 'tax_id = ""')))
    assert err.value.field == "seller.tax_id"


def test_missing_required_option(tmp_path):
    with pytest.raises(ConfigError) as err:
        config.load(write(tmp_path, BASE.replace('address = "臺北市中正區範例路1號"\n', "")))
    assert err.value.field == "seller.address"


def test_bad_secret_is_named_but_never_shown(tmp_path):
    bad = "FE0F50D87215F625D1248F5FDAEBA37Z"
    with pytest.raises(ConfigError) as err:
        config.load(write(tmp_path, BASE.replace(KEY, bad)))
    assert err.value.field == "secrets.qr_aes_key"
    assert bad not in str(err.value) and "***" in str(err.value)


def test_secrets_in_a_world_readable_file_are_refused(tmp_path):
    with pytest.raises(ConfigError) as err:
        config.load(write(tmp_path, BASE, mode=0o644))
    assert err.value.code == "secrets_not_private"
    assert "chmod 600" in err.value.message


def test_secrets_file_beside_a_public_config(tmp_path):
    public, _, secret_part = BASE.partition("[secrets]")
    write(tmp_path, "[secrets]" + secret_part, name="secrets.toml")
    cfg = config.load(write(tmp_path, public + '\n[terminal]\nsecrets_file = "secrets.toml"\n', mode=0o644))
    assert cfg.secrets.api_token == TOKEN
    assert cfg.secrets_path == tmp_path / "secrets.toml"
    os.chmod(tmp_path / "secrets.toml", 0o640)
    with pytest.raises(ConfigError, match="readable by other users"):
        config.load(tmp_path / "terminal.toml")


def test_syntax_error_and_missing_file(tmp_path):
    with pytest.raises(ConfigError) as err:
        config.load(write(tmp_path, BASE + "\n[api\n"))
    assert err.value.code == "config_syntax" and "line" in err.value.message
    with pytest.raises(ConfigError) as err:
        config.load(tmp_path / "nope.toml")
    assert err.value.code == "config_missing"
    with pytest.raises(ConfigError) as err:
        config.load(write(tmp_path, "", raw=b"\xff\xfe[seller]"))
    assert err.value.code == "config_syntax"


def test_redacted_hides_every_secret(tmp_path):
    cfg = config.load(write(tmp_path, BASE))
    text = repr(cfg.redacted())
    assert KEY not in text and TOKEN not in text


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "terminal.cli", *args], capture_output=True, text=True, timeout=60)


def test_cli_config_check_exit_codes(tmp_path):
    good = write(tmp_path, BASE)
    r = _cli("config", "check", "--config", str(good), "--json")
    assert r.returncode == 0, r.stderr
    assert KEY not in r.stdout and '"ok": true' in r.stdout
    bad = write(tmp_path, BASE + "[printer]\nbaudrat = 9600\n", name="bad.toml")
    r = _cli("config", "check", "--config", str(bad))
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == ["receipt-terminal: config error: unknown option printer.baudrat"]


def test_cli_usage_error_is_exit_2():
    r = _cli("invoice", "frobnicate")
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1
