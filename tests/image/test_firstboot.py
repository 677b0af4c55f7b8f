"""terminal.firstboot on temporary directories: what a technician's card does to the terminal."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import pwd
import stat
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import pytest

from terminal import config as config_mod
from terminal import firstboot
from terminal.firstboot import Paths

NOW = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
QR_KEY = "0123456789ABCDEF0123456789ABCDEF"
TOKEN = "tok-3f9a1c7e5b2d4086"
HASH_KEY = "ejCk326UnaZWKisg"
WIFI_PSK = "counter-wifi-8817"
OWNER = (os.getuid(), os.getgid())

FULL = f"""# Store 17 — edited in Notepad
[seller]
tax_id = "04595257"
name = "範例咖啡有限公司"
address = "臺北市中正區範例路1號"

[printer]
connection = "usb"

[upload]
backend = "ecpay"
base_url = "https://einvoice-stage.example.com"
machine_id = "POS-17"

[secrets]
qr_aes_key = "{QR_KEY}"   # from the MOF key tool
api_token = "{TOKEN}"
ecpay_merchant_id = "2000132"
ecpay_hash_key = "{HASH_KEY}"
ecpay_hash_iv = "v77hoKGq4kWxNNIS"

[wifi]
ssid = "Store17"
psk = "{WIFI_PSK}"
"""
SECRET_VALUES = (QR_KEY, TOKEN, "2000132", HASH_KEY, "v77hoKGq4kWxNNIS", WIFI_PSK)


@pytest.fixture
def card(tmp_path: Path) -> Paths:
    boot = tmp_path / "boot"
    boot.mkdir()
    return Paths(boot_dir=boot, dest=tmp_path / "etc" / "terminal.toml", wifi_conf=tmp_path / "net" / "wpa.conf")


def put(paths: Paths, text: str, *, name: str = "terminal.toml", windows: bool = False) -> Path:
    data = text.replace("\n", "\r\n").encode() if windows else text.encode()
    path = paths.boot_dir / name
    path.write_bytes((b"\xef\xbb\xbf" if windows else b"") + data)
    return path


def run(paths: Paths):
    return firstboot.import_config(paths, owner=OWNER, now=NOW)


def card_bytes(paths: Paths) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(paths.boot_dir.iterdir()))


def test_windows_notepad_file_with_bom_and_crlf_is_applied(card):
    put(card, FULL, windows=True)
    outcome = run(card)
    assert outcome.ok, outcome
    cfg = config_mod.load(card.dest)  # the service's own loader accepts the result
    assert cfg.seller.name == "範例咖啡有限公司"
    assert cfg.secrets.qr_aes_key == QR_KEY and cfg.secrets.ecpay_hash_key == HASH_KEY
    assert sorted(p.name for p in card.boot_dir.iterdir()) == ["terminal.toml.applied"]


def test_config_is_0600_and_owned_by_the_given_user_even_with_a_lax_umask(card):
    put(card, FULL)
    old = os.umask(0)
    try:
        assert run(card).ok
    finally:
        os.umask(old)
    st = card.dest.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600 and (st.st_uid, st.st_gid) == OWNER
    assert stat.S_IMODE(card.wifi_conf.stat().st_mode) == 0o600
    assert stat.S_IMODE(card.dest.parent.stat().st_mode) == 0o700
    assert [p.name for p in card.dest.parent.iterdir()] == ["terminal.toml"]  # no temporary left


def test_partial_file_merges_and_keeps_the_earlier_secrets(card):
    put(card, FULL)
    assert run(card).ok
    # later visit: the technician edits the scrubbed copy, changes the printer, renames it back
    applied = (card.boot_dir / "terminal.toml.applied").read_text()
    (card.boot_dir / "terminal.toml.applied").unlink()
    put(card, applied.replace('connection = "usb"', 'connection = "serial"\ndevice = "/dev/ttyUSB0"'))
    outcome = run(card)
    assert outcome.ok, outcome
    cfg = config_mod.load(card.dest)
    assert (cfg.printer.connection, cfg.printer.device) == ("serial", "/dev/ttyUSB0")
    assert (cfg.secrets.qr_aes_key, cfg.secrets.api_token, cfg.secrets.ecpay_hash_iv) == (
        QR_KEY, TOKEN, "v77hoKGq4kWxNNIS")
    assert {"secrets.qr_aes_key", "secrets.api_token"} <= set(outcome.kept)


def test_only_a_secrets_table_rotates_a_key_and_keeps_the_rest(card):
    put(card, FULL)
    run(card)
    new_key = "FEDCBA9876543210FEDCBA9876543210"
    put(card, f'[secrets]\nqr_aes_key = "{new_key}"\n')
    assert run(card).ok
    cfg = config_mod.load(card.dest)
    assert cfg.secrets.qr_aes_key == new_key and cfg.secrets.api_token == TOKEN
    assert cfg.upload.machine_id == "POS-17"
    assert new_key.encode() not in card_bytes(card)


@pytest.mark.parametrize("layout", [
    FULL,
    FULL.replace(f'[secrets]\nqr_aes_key = "{QR_KEY}"   # from the MOF key tool\napi_token = "{TOKEN}"\n',
                 f'[secrets]\n"qr_aes_key" = \'{QR_KEY}\'\napi_token = """\n{TOKEN}"""\n'),
    FULL.replace("[secrets]\n", "[ secrets ]  # keys\n"),
])
def test_no_secret_value_is_left_anywhere_on_the_card(card, layout):
    put(card, layout, windows=True)
    outcome = run(card)
    assert outcome.ok, outcome
    on_card = card_bytes(card)
    for value in SECRET_VALUES:
        assert value.encode() not in on_card, value
    applied = tomllib.loads((card.boot_dir / "terminal.toml.applied").read_bytes().decode("utf-8-sig"))
    assert applied["secrets"] == {} and "psk" not in applied["wifi"]
    assert applied["seller"]["tax_id"] == "04595257"  # the rest stays readable and re-usable
    assert set(outcome.scrubbed) == {"secrets.qr_aes_key", "secrets.api_token", "secrets.ecpay_merchant_id",
                                     "secrets.ecpay_hash_key", "secrets.ecpay_hash_iv", "wifi.psk"}


def test_line_scrub_keeps_the_technicians_comments(card):
    put(card, FULL)
    run(card)
    applied = (card.boot_dir / "terminal.toml.applied").read_text()
    assert "# Store 17 — edited in Notepad" in applied
    assert "# secrets.qr_aes_key = (imported 2026-11-25 09:30; removed from this card" in applied


@pytest.mark.parametrize("text", [
    # an inline table and dotted keys at the top level
    f'secrets = {{ qr_aes_key = "{QR_KEY}", api_token = "{TOKEN}", ecpay_merchant_id = "2000132",'
    f' ecpay_hash_key = "{HASH_KEY}", ecpay_hash_iv = "v77hoKGq4kWxNNIS" }}\n' + FULL.split("[secrets]")[0],
    f'secrets.qr_aes_key = "{QR_KEY}"\nsecrets.api_token = "{TOKEN}"\nsecrets.ecpay_merchant_id = "2000132"\n'
    f'secrets.ecpay_hash_key = "{HASH_KEY}"\nsecrets.ecpay_hash_iv = "v77hoKGq4kWxNNIS"\n' + FULL.split("[secrets]")[0],
])
def test_unusual_toml_spellings_are_scrubbed_too(card, text):
    put(card, text)
    assert run(card).ok
    for value in (QR_KEY, TOKEN, HASH_KEY):
        assert value.encode() not in card_bytes(card)
    assert config_mod.load(card.dest).secrets.api_token == TOKEN


def test_scrubbed_copy_falls_back_to_regeneration_when_a_line_scrub_would_leak():
    # the secret value also appears in a comment: the line scrub keeps comments, so it is not clean
    text = f'# old key was {QR_KEY}\n[secrets]\nqr_aes_key = "{QR_KEY}"\n'
    out = firstboot.scrubbed_copy(text, {"secrets": {"qr_aes_key": QR_KEY}}, "2026-11-25 09:30")
    assert QR_KEY not in out and "secrets.qr_aes_key" in out


@pytest.mark.parametrize("change, key", [
    (('connection = "usb"', 'connection = "usb"\nbaudrate = 12345'), "printer.baudrate"),
    (('connection = "usb"', 'conection = "usb"'), "printer.conection"),
    (('tax_id = "04595257"', 'tax_id = "04595258"'), "seller.tax_id"),
    (('ssid = "Store17"', 'ssid = "Store17"\nchannel = 6'), "wifi.channel"),
    ((f'psk = "{WIFI_PSK}"', 'psk = "short"'), "wifi.psk"),
    (("[upload]", "[uploads]"), "uploads"),
    ((f'qr_aes_key = "{QR_KEY}"', 'qr_aes_key = ""'), "secrets.qr_aes_key"),
    (('name = "範例咖啡有限公司"', 'name = "範例咖啡有限公司'), "line 4"),
])
def test_bad_file_names_the_key_changes_nothing_and_stays_on_the_card(card, change, key):
    put(card, FULL)
    assert run(card).ok
    before = card.dest.read_bytes()
    put(card, FULL.replace(*change))
    outcome = run(card)
    assert not outcome.ok and outcome.field == key
    assert card.dest.read_bytes() == before
    assert (card.boot_dir / "terminal.toml").exists()  # left for the technician to fix
    report = firstboot.status_text(outcome, NOW, dest=card.dest)
    assert "configuration: ERROR" in report and f"Problem in: {key}" in report


def test_status_file_is_written_for_notepad_and_names_the_key(card, monkeypatch):
    put(card, FULL.replace('connection = "usb"', 'connection = "usb"\nbaudrate = 12345'))
    monkeypatch.setattr(firstboot.pwd, "getpwnam", lambda name: pwd.getpwuid(os.getuid()))
    rc = firstboot.main(["--boot-dir", str(card.boot_dir), "--config", str(card.dest),
                         "--wifi-conf", str(card.wifi_conf), "--no-oled"])
    assert rc == firstboot.EXIT_CONFIG
    raw = (card.boot_dir / "terminal-status.txt").read_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    text = raw.decode()
    assert "printer.baudrate" in text and "12345" in text and "設定錯誤" in text
    assert not card.dest.exists()


def test_a_wrongly_typed_secret_is_not_echoed_into_the_status_file(card):
    put(card, FULL.replace(f'api_token = "{TOKEN}"', "api_token = 918273645546372819"))
    outcome = run(card)
    assert outcome.field == "secrets.api_token"
    report = firstboot.status_text(outcome, NOW, dest=card.dest)
    assert "918273645546372819" not in report and "***" in report


def test_second_boot_does_nothing(card, monkeypatch):
    put(card, FULL)
    monkeypatch.setattr(firstboot.pwd, "getpwnam", lambda name: pwd.getpwuid(os.getuid()))
    argv = ["--boot-dir", str(card.boot_dir), "--config", str(card.dest), "--wifi-conf", str(card.wifi_conf),
            "--no-oled"]
    assert firstboot.main(argv) == 0
    snapshot = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in [*card.boot_dir.iterdir(), card.dest]}
    assert firstboot.main(argv) == 0
    assert run(card) is None
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in [*card.boot_dir.iterdir(), card.dest]} == snapshot


def test_notepad_txt_extension_is_accepted_but_two_files_are_refused(card):
    put(card, FULL, name="terminal.toml.txt")
    assert run(card).ok
    put(card, FULL, name="terminal.toml.txt")
    put(card, FULL)
    outcome = run(card)
    assert not outcome.ok and outcome.code == "config_ambiguous" and outcome.field == "terminal.toml.txt"


def test_unreadable_earlier_config_is_replaced_by_a_complete_card_file(card):
    card.dest.parent.mkdir()
    card.dest.write_text("[seller\n")
    put(card, FULL)
    assert run(card).ok
    assert config_mod.load(card.dest).seller.tax_id == "04595257"


def test_wifi_psk_is_stored_hashed_with_the_ssid_in_hex(card):
    # IEEE 802.11i-2004 Annex H.4 test vector: passphrase "password", SSID "IEEE"
    put(card, FULL.replace('ssid = "Store17"', 'ssid = "IEEE"\ncountry = "tw"').replace(WIFI_PSK, "password"))
    assert run(card).ok
    conf = card.wifi_conf.read_text()
    assert "psk=f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e" in conf
    assert "ssid=49454545" in conf and "country=TW" in conf and "password" not in conf
    assert hashlib.pbkdf2_hmac("sha1", b"password", b"IEEE", 4096, 32).hex() in conf
    stanza = (card.wifi_conf.parent / "wlan0.interfaces").read_text().splitlines()
    assert stanza[1:] == ["allow-hotplug wlan0", "iface wlan0 inet dhcp", f"\twpa-conf {card.wifi_conf}"]


def test_no_wifi_table_writes_no_network_files(card):
    put(card, FULL.split("[wifi]")[0])
    assert run(card).ok
    assert not card.wifi_conf.parent.exists()


def test_outcome_is_shown_on_the_oled_when_a_display_is_there(card, monkeypatch):
    shown = []

    class Panel:
        device = types.SimpleNamespace(persist=False)

        def show(self, screen):
            shown.append(screen)

    fake = types.ModuleType("display")
    fake.open_oled = lambda section: Panel() if section["address"] == 0x3D else None
    monkeypatch.setitem(sys.modules, "display", fake)
    put(card, FULL.replace("[printer]", "[oled]\naddress = 0x3D\n\n[printer]").replace("04595257", "04595258"))
    outcome = run(card)
    assert firstboot.show_on_oled(outcome, firstboot._oled_section(card)) is True
    assert "seller.tax_id" in shown[0].text and shown[0].alert
    assert Panel.device.persist is True
    assert firstboot.show_on_oled(outcome, {"enabled": False}) is False


def test_missing_display_package_is_not_an_error(card, monkeypatch):
    monkeypatch.setitem(sys.modules, "display", None)  # import fails like on a machine without it
    put(card, FULL)
    assert firstboot.show_on_oled(run(card), {"enabled": True}) is False


def test_unknown_service_user_fails_clearly(card, capsys):
    rc = firstboot.main(["--boot-dir", str(card.boot_dir), "--user", "no-such-user-rt", "--no-oled"])
    assert rc == firstboot.EXIT_FAIL and "no-such-user-rt does not exist" in capsys.readouterr().err


def test_runs_as_a_module():
    out = subprocess.run([sys.executable, "-m", "terminal.firstboot", "--help"], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2])
    assert "--boot-dir" in out.stdout


def test_reapplied_card_without_psk_keeps_the_wifi_password_only_for_the_same_network(card):
    put(card, FULL)
    assert run(card).ok
    first = card.wifi_conf.read_text()
    applied = (card.boot_dir / "terminal.toml.applied").read_text()
    (card.boot_dir / "terminal.toml.applied").unlink()
    put(card, applied.replace('ssid = "Store17"', 'ssid = "Store17"\nhidden = true'))
    assert run(card).ok
    assert card.wifi_conf.read_text() == first.replace("\tkey_mgmt=WPA-PSK\n", "\tkey_mgmt=WPA-PSK\n\tscan_ssid=1\n")
    put(card, applied.replace('ssid = "Store17"', 'ssid = "Backroom"'))
    outcome = run(card)
    assert not outcome.ok and outcome.field == "wifi.psk" and "no earlier password" in outcome.message


TEMPLATE = Path(__file__).resolve().parents[2] / "image" / "bootfs" / "terminal.toml"


def test_the_cards_template_untouched_names_the_first_empty_value(card):
    put(card, TEMPLATE.read_text(), windows=True)  # build.sh ships it with CRLF
    outcome = run(card)
    assert not outcome.ok and outcome.field == "seller.tax_id" and "empty" in outcome.message


def test_the_cards_template_filled_in_with_wifi_uncommented_applies(card):
    text = (TEMPLATE.read_text().replace('tax_id = ""', 'tax_id = "04595257"')
            .replace('name = ""', 'name = "範例咖啡"').replace('address = ""', 'address = "臺北市"')
            .replace('qr_aes_key = ""', f'qr_aes_key = "{QR_KEY}"').replace('api_token = ""', f'api_token = "{TOKEN}"')
            .replace("# [wifi]", "[wifi]").replace("# ssid", "ssid").replace("# psk", "psk")
            .replace("# country", "country"))
    put(card, text, windows=True)
    outcome = run(card)
    assert outcome.ok, outcome
    assert config_mod.load(card.dest).printer.connection == "usb"
    assert "ssid=73746f72652d77696669" in card.wifi_conf.read_text()  # "store-wifi"
    assert TOKEN.encode() not in card_bytes(card) and b"wifi-password" not in card_bytes(card)
