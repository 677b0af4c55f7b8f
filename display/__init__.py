"""The counter OLED (128x64 SSD1306/SH1106 over I2C, via luma.oled): renders the core's screen models
in Traditional Chinese with a pixel CJK font, redraws only on change, guards against burn-in, and in
simulate mode writes PNG frames instead. luma is imported only when a real panel is opened."""
from .fonts import DEFAULT_FONT, FontMissing, load_fonts
from .frames import PngFrameDisplay
from .oled import DisplayError, OledDisplay, find_i2c_bus, open_oled
from .render import render_screen

__all__ = ["DEFAULT_FONT", "DisplayError", "FontMissing", "OledDisplay", "PngFrameDisplay", "find_i2c_bus",
           "load_fonts", "open_oled", "render_screen"]
