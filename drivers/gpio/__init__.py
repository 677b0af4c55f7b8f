"""The counter's buttons, status LEDs and buzzer on the GPIO header, through gpiozero (imported when a
panel is built; every device gets the pin factory passed in)."""
from .panel import BEEPS, BUTTONS, DEFAULT_HOLD_S, LED_PATTERNS, CounterPanel, check_pins

__all__ = ["BEEPS", "BUTTONS", "DEFAULT_HOLD_S", "LED_PATTERNS", "CounterPanel", "check_pins"]
