"""Printing the 電子發票證明聯 and 交易明細 on 58 mm ESC/POS printers, and as PNG pictures.

``terminal.core.receipt`` describes a receipt; this package renders it (``encode``: ESC/POS bytes in
raster or Big5 mode; ``raster``: pictures), sends it (``printer``: ReceiptPrinter over python-escpos
Usb/Serial/Network/File), reports the printer's state (``status``) and simulates a printer with PNG
files (``simulate``). python-escpos is only imported when a printer is opened or a job encoded.
See README.md for the modes, their byte counts and the status limits.
"""
from .errors import PrinterError
from .printer import ReceiptPrinter, open_printer
from .raster import render_png
from .simulate import PngFilePrinter, preview
from .status import PrinterStatus

__all__ = ["PrinterError", "PrinterStatus", "ReceiptPrinter", "PngFilePrinter", "open_printer", "preview",
           "render_png"]
