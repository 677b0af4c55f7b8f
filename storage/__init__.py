"""The terminal's durable state in SQLite: the invoice ledger (number ranges, issued invoices and what
happened to them, blank-number reports, the event log) and the upload outbox in the same file.

``storage.ledger.Ledger`` is the entry point; ``storage.trackfiles`` reads allocation files,
``storage.outbox`` is the ``terminal.core.ports.Outbox`` implementation, ``storage.migrations`` the
schema, ``storage.invariants`` the checks run at every open, ``storage.db`` the connection rules.
Importing this package imports nothing else (the service imports ``storage.ledger`` lazily).
"""
