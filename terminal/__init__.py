"""receipt-terminal: a Raspberry Pi e-invoice receipt terminal."""
__version__ = "0.1.0"
