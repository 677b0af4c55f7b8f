"""The pure e-invoice core: numbers, periods, tax, carriers, barcode/QR payloads, MIG 4.1 XML.

Nothing in this package does I/O, reads the clock or imports a hardware library; time, randomness and
keys are passed in. Everything else in the terminal depends on this package, never the reverse
(enforced by the import-linter contracts in pyproject.toml).
"""
