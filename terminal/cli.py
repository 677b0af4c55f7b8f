"""The ``receipt-terminal`` command line (shared/reference/interfaces.md §2).

Every command takes ``--json``. Exit status: 0 success, 2 usage or config error, 1 anything else, with
one clear English line on stderr.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from terminal import __version__

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 on its own; keep one line on stderr
        raise UsageError(message)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--config", type=Path, default=None, help="config file (default /etc/receipt-terminal/terminal.toml)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="receipt-terminal", description="Taiwan e-invoice receipt terminal")
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("run", help="run the service")
    _common(p)
    p.add_argument("--simulate", action="store_true", help="no hardware: PNG receipts and OLED frames, stdin scanner")
    p.add_argument("--state-dir", type=Path, default=None)
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--demo", type=int, default=0, metavar="N", help="(simulate) a demo POS posts N sales")

    p = sub.add_parser("status", help="pool, uploads, printer, clock")
    _common(p)

    p = sub.add_parser("tracks", help="invoice number ranges (字軌)")
    tsub = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    q = tsub.add_parser("import", help="import ranges from a CSV or E0401/E0501 XML file")
    _common(q)
    q.add_argument("file", type=Path)
    q = tsub.add_parser("list", help="list ranges and what is left")
    _common(q)

    p = sub.add_parser("invoice", help="show, cancel (作廢), void (註銷), allowance (折讓), reprint (補印)")
    isub = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    for action, help_ in (("show", "show an invoice"), ("reprint", "print again (補印) via the running service")):
        q = isub.add_parser(action, help=help_)
        _common(q)
        q.add_argument("number")
    for action, help_ in (("cancel", "作廢 (F0501)"), ("void", "註銷 (F0701)")):
        q = isub.add_parser(action, help=help_)
        _common(q)
        q.add_argument("number")
        q.add_argument("--reason", required=True)
    q = isub.add_parser("allowance", help="折讓 (G0401) of one line")
    _common(q)
    q.add_argument("number")
    q.add_argument("--line", type=int, required=True, help="1-based line of the invoice")
    q.add_argument("--quantity", type=int, required=True)
    q.add_argument("--amount", type=int, required=True, help="tax-inclusive NT$ refunded")

    p = sub.add_parser("upload", help="upload pending messages to the value-added center now")
    _common(p)

    p = sub.add_parser("selftest", help="printer test page, OLED pattern, GPIO, scanner echo")
    _common(p)
    p.add_argument("--scan-seconds", type=float, default=0.0, help="echo scans for this long")

    p = sub.add_parser("config", help="configuration")
    csub = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    q = csub.add_parser("check", help="validate the config file")
    _common(q)

    p = sub.add_parser("firstboot", help="apply terminal.toml from the boot partition (run by systemd at boot)")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="options of python -m terminal.firstboot")

    p = sub.add_parser("preview", help="render one invoice to PNG without issuing it")
    _common(p)
    p.add_argument("--invoice", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    return parser


def _load_config(args):
    from terminal import config

    return config.load(args.config or config.DEFAULT_PATH)


def _emit(args, data: Any, human: str) -> None:
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=None, default=str))
    else:
        print(human)


def _now():
    from drivers.clock import SystemClock

    return SystemClock().now()


# ---------------------------------------------------------------------- commands
def cmd_run(args) -> int:
    from terminal import bootstrap, runner

    if args.simulate:
        state = args.state_dir or Path("sim-state")
        cfg = bootstrap.simulate_config(state, args.port)
    else:
        cfg = _load_config(args)
        if args.state_dir:
            from terminal import config as config_mod

            sections = {k: dict(v) for k, v in cfg.sections.items()}
            sections["terminal"]["state_dir"] = str(args.state_dir)
            cfg = config_mod.Config(sections, path=cfg.path, secrets_path=cfg.secrets_path)
    built = bootstrap.build(cfg, simulate=args.simulate)

    def start_demo_pos(url: str) -> None:
        from terminal import demo_pos

        demo_pos.start(url, cfg.secrets.api_token, args.demo)

    return runner.run(built, cfg, port=args.port, on_ready=start_demo_pos if args.demo else None)


def _open_ledger(args):
    from terminal import bootstrap

    cfg = _load_config(args)
    return cfg, bootstrap.open_ledger(cfg)


def cmd_status(args) -> int:
    cfg, ledger = _open_ledger(args)
    try:
        now = _now()
        h = ledger.pool_health(now, warn_days=cfg.terminal.pool_warn_days)
        b = ledger.outbox.backlog(now)
        data = {"pool": _plain(h), "uploads": _plain(b), "queued_prints": len(ledger.queued_prints())}
    finally:
        ledger.close()
    human = (f"period {h.period}: {h.numbers_left} numbers left"
             f"{', runs out ' + str(h.runs_out_on) if h.runs_out_on else ''}; next period imported: "
             f"{'yes' if h.next_period_imported else 'NO'}\nuploads: {b.pending} pending, {b.rejected} rejected")
    _emit(args, data, human)
    return EXIT_OK


def _plain(obj) -> dict:
    import dataclasses

    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dataclasses.asdict(obj).items()}


def cmd_tracks(args) -> int:
    cfg, ledger = _open_ledger(args)
    try:
        if args.action == "import":
            added = ledger.import_file(args.file, now=_now())
            _emit(args, {"imported": added}, f"imported {added} numbers from {args.file}")
            return EXIT_OK
        rows = ledger.list_ranges()
    finally:
        ledger.close()
    data = [{"range": str(r.range), "period": r.range.period.code, "track": r.range.track,
             "start": f"{r.range.start:08d}", "end": f"{r.range.end:08d}", "used": r.used, "left": r.left,
             "closed": r.closed} for r in rows]
    human = "\n".join(f"{d['range']}  used {d['used']:>6}  left {d['left']:>6}{'  closed' if d['closed'] else ''}"
                      for d in data) or "no ranges imported"
    _emit(args, data, human)
    return EXIT_OK


def cmd_invoice(args) -> int:
    from terminal.service import Terminal

    if args.action == "reprint":
        return _via_api(args, "POST", f"/v1/invoices/{args.number}/reprint", {})
    cfg, ledger = _open_ledger(args)
    try:
        from terminal.bootstrap import _NoPrinter
        import random

        from drivers.clock import SystemClock

        t = Terminal(cfg, ledger=ledger, printer=_NoPrinter(), display=None, clock=SystemClock(),
                     rng=random.SystemRandom())
        if args.action == "show":
            data = t.get_invoice(args.number)
        elif args.action == "cancel":
            data = t.cancel(args.number, {"reason": args.reason})
        elif args.action == "void":
            data = t.void(args.number, {"reason": args.reason})
        else:
            data = t.allowance(args.number, {"lines": [{"line": args.line, "quantity": args.quantity,
                                                         "amount": args.amount}]})
    finally:
        ledger.close()
    _emit(args, data, json.dumps(data, ensure_ascii=False, indent=2))
    return EXIT_OK


def _via_api(args, method: str, path: str, body) -> int:
    import requests

    cfg = _load_config(args)
    host = cfg.api.bind if cfg.api.bind not in ("0.0.0.0", "::") else "127.0.0.1"
    try:
        r = requests.request(method, f"http://{host}:{cfg.api.port}{path}", json=body, timeout=30,
                             headers={"Authorization": f"Bearer {cfg.secrets.api_token}"})
    except requests.ConnectionError:
        raise RuntimeError("the terminal service is not running (the printer belongs to it)") from None
    data = r.json()
    if r.status_code >= 400:
        raise RuntimeError(f"{data['error']['code']}: {data['error']['message']}")
    _emit(args, data, json.dumps(data, ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_upload(args) -> int:
    import random

    from drivers.clock import SystemClock
    from terminal import bootstrap

    cfg, ledger = _open_ledger(args)
    try:
        uploader = bootstrap.open_uploader(cfg, ledger, SystemClock(), random.SystemRandom())
        if uploader is None:
            _emit(args, {"backend": "none"}, "upload.backend is \"none\": nothing to do")
            return EXIT_OK
        ledger.close_periods(_now(), head_ban=cfg.seller.head_ban, branch_ban=cfg.seller.tax_id)
        result = uploader.upload_once()
        b = ledger.outbox.backlog(_now())
    finally:
        ledger.close()
    data = {**_plain(result), "pending": b.pending, "rejected": b.rejected}
    _emit(args, data, f"sent {result.sent}, acknowledged {result.acked}, failed {result.failed}, "
                      f"rejected {result.rejected}; {b.pending} still pending")
    return EXIT_OK if result.failed == 0 else EXIT_FAIL


def cmd_config(args) -> int:
    cfg = _load_config(args)
    _emit(args, {"ok": True, "path": str(cfg.path), "config": cfg.redacted()}, f"{cfg.path}: OK")
    return EXIT_OK


def cmd_preview(args) -> int:
    from drivers.printer import preview

    try:
        invoice = json.loads(args.invoice.read_text(encoding="utf-8-sig"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read {args.invoice}: {exc}") from None
    kw: dict[str, Any] = {}
    if args.config or not (invoice.get("qr_key") and invoice.get("seller_tax_id")):
        cfg = _load_config(args)
        kw = {"qr_key": cfg.secrets.qr_aes_key, "seller_tax_id": cfg.seller.tax_id,
              "store_name": cfg.seller.store_name}
    out = preview(invoice, args.out, **kw)
    data = {k: out[k] for k in ("barcode", "qr_left", "qr_right")}
    data.update({k: str(out[k]) for k in ("png", "bin") if k in out})
    print(json.dumps(data, ensure_ascii=False))
    return EXIT_OK


def cmd_selftest(args) -> int:
    from terminal import selftest

    return selftest.run(args, _load_config(args), _emit)


def cmd_firstboot(args) -> int:
    from terminal import firstboot

    return firstboot.main(args.rest)


COMMANDS = {"firstboot": cmd_firstboot, "run": cmd_run, "status": cmd_status, "tracks": cmd_tracks, "invoice": cmd_invoice,
            "upload": cmd_upload, "config": cmd_config, "preview": cmd_preview, "selftest": cmd_selftest}


def _persistent_escpos_cache() -> None:
    """python-escpos parses its 1 MB printer database with PyYAML on import (0.9 s here, several
    seconds on a Pi Zero) unless it finds its pickle, which by default it writes to a fresh temp dir
    every run. Point it at a persistent cache (systemd sets the variable to its CacheDirectory=)."""
    if os.environ.get("ESCPOS_CAPABILITIES_PICKLE_DIR"):
        return
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "receipt-terminal"
    try:
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return
    os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = str(base)


def main(argv: list[str] | None = None) -> int:
    from terminal.core.errors import ConfigError, TerminalError

    _persistent_escpos_cache()

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"receipt-terminal: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print(f"receipt-terminal: config error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except TerminalError as exc:
        print(f"receipt-terminal: {exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return EXIT_FAIL
    except Exception as exc:  # one clear line, not a traceback, for the technician
        print(f"receipt-terminal: error: {exc}", file=sys.stderr)
        logging.getLogger("receipt_terminal").debug("details", exc_info=True)
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
