"""OledDisplay on luma devices: redraw only on change, exact SSD1306 bytes, burn-in care with an
injected clock, blanking, the PNG frames of simulate mode, and the config factory."""
import os

import pytest
from luma.core.device import dummy
from luma.oled.device import sh1106, ssd1306
from PIL import Image, ImageChops

from display import DisplayError, OledDisplay, PngFrameDisplay, find_i2c_bus, open_oled, render_screen
from display.oled import CONTRAST_DIM, CONTRAST_NORMAL
from terminal.core.errors import ConfigError

from .catalog import SCREENS
from .helpers import RecordingInterface

DISPLAYOFF, DISPLAYON, SETCONTRAST = 0xAE, 0xAF, 0x81
pytestmark = pytest.mark.filterwarnings("ignore:Image.Image.getdata is deprecated:DeprecationWarning")  # luma.oled 3.16


class Clock:
    def __init__(self, t=0.0):
        self.t = t

    def __call__(self):
        return self.t


def same(a, b):
    return a.mode == b.mode and a.size == b.size and a.tobytes() == b.tobytes()


def ssd1306_pages(image):
    """What an SSD1306 in horizontal addressing mode expects: 8 pages x 128 columns, bit 0 on top."""
    px = image.load()
    return bytes(sum(1 << bit for bit in range(8) if px[x, page * 8 + bit]) for page in range(8) for x in range(128))


@pytest.fixture
def panel():
    wire = RecordingInterface()
    device = ssd1306(serial_interface=wire)
    wire.take()  # the controller's init sequence
    return wire, device


def test_show_sends_the_frame_once_and_skips_unchanged_screens(panel):
    wire, device = panel
    oled = OledDisplay(device, clock=Clock())
    assert oled.show(SCREENS["ready"]) is True
    commands, data = wire.take()
    assert data == ssd1306_pages(render_screen(SCREENS["ready"]))
    assert (SETCONTRAST, CONTRAST_NORMAL) in commands
    assert oled.show(SCREENS["ready"]) is False
    assert wire.take() == ([], b"")
    assert oled.show(SCREENS["issued_printed"]) is True
    assert wire.take()[1] == ssd1306_pages(render_screen(SCREENS["issued_printed"]))
    assert oled.frames_pushed == 2


def test_dims_when_idle_and_comes_back_on_activity(panel):
    wire, device = panel
    clock = Clock(1000.0)
    oled = OledDisplay(device, clock=clock, dim_after_s=60, orbit_s=None)
    oled.show(SCREENS["ready"])
    wire.take()
    oled.tick(1059.9)
    assert wire.take() == ([], b"")
    oled.tick(1060.0)
    assert wire.take() == ([(SETCONTRAST, CONTRAST_DIM)], b"")
    oled.tick(1200.0)
    assert wire.take() == ([], b"")  # dimmed once, not again
    clock.t = 1201.0
    oled.wake()
    assert wire.take() == ([(SETCONTRAST, CONTRAST_NORMAL)], b"")
    assert oled.status()["dimmed"] is False


def test_switches_off_after_a_long_idle_and_on_for_a_new_screen(panel):
    wire, device = panel
    clock = Clock()
    oled = OledDisplay(device, clock=clock, dim_after_s=60, off_after_s=600, orbit_s=None)
    oled.show(SCREENS["ready"])
    wire.take()
    oled.tick(600.0)
    assert wire.take()[0] == [(DISPLAYOFF,), (SETCONTRAST, CONTRAST_DIM)]
    clock.t = 700.0
    assert oled.show(SCREENS["pending_mobile"])
    commands, data = wire.take()
    assert commands[:2] == [(DISPLAYON,), (SETCONTRAST, CONTRAST_NORMAL)]
    assert data == ssd1306_pages(render_screen(SCREENS["pending_mobile"]))


def test_the_frame_orbits_one_pixel_per_period_without_a_new_screen():
    device = dummy(width=128, height=64, mode="1")
    oled = OledDisplay(device, clock=Clock(), orbit_s=120, dim_after_s=None)
    oled.show(SCREENS["ready"])
    base = render_screen(SCREENS["ready"])
    assert device.image == base
    oled.tick(119.0)
    assert oled.frames_pushed == 1
    oled.tick(120.0)
    assert oled.frames_pushed == 2 and device.image == ImageChops.offset(base, 1, 0)
    oled.tick(240.0)
    assert device.image == ImageChops.offset(base, 1, 1)
    oled.tick(6 * 120.0)
    assert device.image == ImageChops.offset(base, -1, -1)
    # the shift never wraps text around: the blank 1 px border absorbs it
    shifted = ImageChops.offset(base, -1, -1)
    assert shifted.crop((0, 63, 128, 64)).getbbox() is None and shifted.crop((127, 0, 128, 64)).getbbox() is None


def test_show_runs_the_housekeeping_so_a_1_hz_refresh_is_enough():
    device = dummy(width=128, height=64, mode="1")
    clock = Clock()
    oled = OledDisplay(device, clock=clock, orbit_s=120)
    oled.show(SCREENS["ready"])
    clock.t = 130.0
    assert oled.show(SCREENS["ready"]) is False  # same screen: no redraw of content...
    assert oled.status()["offset"] == [1, 0] and oled.status()["dimmed"]  # ...but orbit and dim happened


def test_blank_clears_and_switches_off_and_the_next_show_restores(panel):
    wire, device = panel
    oled = OledDisplay(device, clock=Clock())
    oled.show(SCREENS["ready"])
    wire.take()
    oled.blank()
    commands, data = wire.take()
    assert data == bytes(1024) and commands[-1] == (DISPLAYOFF,)
    assert oled.image is None and oled.screen is None
    assert oled.show(SCREENS["ready"]) is True
    commands, data = wire.take()
    assert commands[0] == (DISPLAYON,) and data == ssd1306_pages(render_screen(SCREENS["ready"]))


def test_close_blanks_and_releases_the_bus_once(panel):
    wire, device = panel
    oled = OledDisplay(device, clock=Clock())
    oled.show(SCREENS["ready"])
    oled.close()
    assert wire.cleaned == 1 and device.persist is True
    assert wire.data_bytes[-1] == bytes(1024) or b"".join(wire.data_bytes).endswith(bytes(1024))


def test_png_frames_for_simulate_mode(tmp_path):
    clock = Clock()
    sim = PngFrameDisplay(tmp_path / "oled", clock=clock, orbit_s=None)
    sim.show(SCREENS["ready"])
    sim.show(SCREENS["ready"])
    sim.show(SCREENS["pending_mobile"])
    names = sorted(os.listdir(tmp_path / "oled"))
    assert names == ["000001.png", "000002.png", "latest.png"]
    assert same(Image.open(tmp_path / "oled" / "000001.png"), render_screen(SCREENS["ready"]))
    assert same(Image.open(tmp_path / "oled" / "latest.png"), render_screen(SCREENS["pending_mobile"]))
    sim.blank()
    assert Image.open(tmp_path / "oled" / "latest.png").getbbox() is None
    gif = sim.write_gif(tmp_path / "oled.gif", scale=2)
    with Image.open(gif) as im:
        assert im.n_frames == 3 and im.size == (256, 128)
    # a restarted simulator continues the numbering instead of overwriting
    again = PngFrameDisplay(tmp_path / "oled", clock=clock)
    again.show(SCREENS["issued_printed"])
    assert (tmp_path / "oled" / "000004.png").exists()


def test_png_frames_keep_only_the_newest(tmp_path):
    sim = PngFrameDisplay(tmp_path, clock=Clock(), keep=2, orbit_s=None)
    for name in ("ready", "issued_printed", "issued_carrier", "issued_donation"):
        sim.show(SCREENS[name])
    assert [p.name for p in sim.frames()] == ["000003.png", "000004.png"]


@pytest.mark.parametrize("driver,cls", [("ssd1306", ssd1306), ("sh1106", sh1106)])
def test_open_oled_builds_the_configured_driver_on_the_given_interface(driver, cls):
    wire = RecordingInterface()
    oled = open_oled({"driver": driver, "i2c_bus": 1, "address": 0x3D, "rotate": 2, "enabled": True,
                      "font": "", "dim_after_s": 30}, interface=wire)
    assert type(oled.device) is cls and oled.device.rotate == 2 and oled.dim_after_s == 30.0
    wire.take()
    oled.show(SCREENS["ready"])
    assert len(wire.take()[1]) == 1024


@pytest.mark.parametrize("cfg,key", [
    ({"driver": "ssd1309"}, "oled.driver"), ({"address": 0x80}, "oled.address"), ({"rotate": 4}, "oled.rotate"),
    ({"i2c_bus": "one"}, "oled.i2c_bus"), ({"colour": "blue"}, "oled.colour"), ({"dim_after_s": -1}, "oled.dim_after_s"),
])
def test_open_oled_names_the_bad_key(cfg, key):
    with pytest.raises(ConfigError) as e:
        open_oled(cfg, interface=RecordingInterface())
    assert e.value.field == key and key in str(e.value)


def test_open_oled_without_the_bus_is_a_clear_error(tmp_path):
    with pytest.raises(DisplayError) as e:
        open_oled({"driver": "sh1106", "i2c_bus": 7, "address": "0x3c"})
    assert e.value.code == "oled_not_found" and "bus 7 address 0x3C" in str(e.value)


def _sysfs(tmp_path, alias_target, adapters):
    (tmp_path / "proc/device-tree/aliases").mkdir(parents=True)
    if alias_target:
        (tmp_path / "proc/device-tree/aliases/i2c_arm").write_bytes(alias_target.encode() + b"\0")
    base = tmp_path / "sys/firmware/devicetree/base"
    for number, node in adapters.items():
        (base / node.lstrip("/")).mkdir(parents=True, exist_ok=True)
        adapter = tmp_path / f"sys/class/i2c-adapter/i2c-{number}"
        adapter.mkdir(parents=True)
        (adapter / "of_node").symlink_to(base / node.lstrip("/"))
    return str(tmp_path)


def test_the_header_bus_comes_from_the_device_tree(tmp_path):
    root = _sysfs(tmp_path, "/soc/i2c@7e804000", {20: "/soc/i2c@7e205000", 13: "/soc/i2c@7e804000"})
    assert find_i2c_bus(root) == 13


def test_the_header_bus_defaults_to_1_without_a_device_tree(tmp_path):
    assert find_i2c_bus(_sysfs(tmp_path, None, {20: "/soc/i2c@7e205000"})) == 1
    assert find_i2c_bus(str(tmp_path / "nothing")) == 1


class FlakyBus(RecordingInterface):
    def __init__(self):
        super().__init__()
        self.broken = False

    def data(self, data):
        if self.broken:
            raise OSError(121, "Remote I/O error")
        super().data(data)

    def command(self, *cmd):
        if self.broken:
            raise OSError(121, "Remote I/O error")
        super().command(*cmd)


def test_an_i2c_error_never_escapes_and_the_screen_is_redrawn_when_the_bus_is_back(caplog):
    bus = FlakyBus()
    oled = OledDisplay(ssd1306(serial_interface=bus), clock=Clock(), orbit_s=120)
    bus.take()
    bus.broken = True
    assert oled.show(SCREENS["issued_printed"]) is False
    assert oled.show(SCREENS["issued_printed"]) is False  # still failing: no exception, one log line
    oled.tick(500.0)
    assert oled.status()["error"] == "[Errno 121] Remote I/O error" and caplog.text.count("OLED write failed") == 1
    bus.broken = False
    assert oled.show(SCREENS["issued_printed"]) is True and oled.failed is None
    assert bus.take()[1] == ssd1306_pages(render_screen(SCREENS["issued_printed"]))


def test_frames_survive_their_directory_being_removed(tmp_path):
    sim = PngFrameDisplay(tmp_path / "oled", clock=Clock())
    sim.show(SCREENS["ready"])
    for p in (tmp_path / "oled").iterdir():
        p.unlink()
    (tmp_path / "oled").rmdir()
    sim.show(SCREENS["issued_printed"])
    assert sorted(p.name for p in (tmp_path / "oled").iterdir()) == ["000002.png", "latest.png"]


def test_an_alert_screen_stays_bright_but_still_orbits():
    device = dummy(width=128, height=64, mode="1")
    oled = OledDisplay(device, clock=Clock(), dim_after_s=60, off_after_s=600, orbit_s=120)
    oled.show(SCREENS["error_paper_out"])
    oled.tick(1000.0)
    assert oled.status()["dimmed"] is False and oled.status()["off"] is False
    assert oled.status()["offset"] != [0, 0]
