"""Bytes and time per printed receipt, per printer mode.

For the spec's vectors C (consumer) and D (buyer with tax ID, details) and two 40-line invoices:
bytes of the ESC/POS job, its transfer time on a 115200-baud serial link (8N1: 10 bits a byte)
against the paper feed time of a 9 cm slip at 200 mm/s, and the time to render and encode it.
Columns: bytes, ratio to the baseline, seconds on the link, link time over the 9 cm slip's paper
time, paper time of the receipt's actual length, median milliseconds to render and encode it.
Baseline, measured in the same run: the whole slip as one full-width ``GS v 0`` picture through
python-escpos ``image()`` (blank rows and margins included), as a straightforward raster receipt does.

    .venv/bin/python bench/printing.py [--repeat N]

Prints a table and writes bench/results/printing.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from drivers.printer.encode import Encoder  # noqa: E402
from drivers.printer.raster import DOTS_PER_MM, RasterRenderer, make_qr, render_png  # noqa: E402
from terminal.core.invoice import Invoice, Seller  # noqa: E402
from terminal.core.money import Item, split_tax  # noqa: E402
from terminal.core.numbers import InvoiceNumber  # noqa: E402
from terminal.core.receipt import proof_layout  # noqa: E402

KEY = "FE0F50D87215F625D1248F5FDAEBA37F"
BAUD = 115_200
BYTES_PER_S = BAUD / 10
SLIP_MM, FEED_MM_S = 90, 200
PAPER_S = SLIP_MM / FEED_MM_S
TARGET_BYTES = 10 * 1024
PROFILE = "POS-5890"  # 58 mm, 384 dots, no cutter (tear bar)


def _invoice(number: str, rnd: str, items, buyer=None) -> Invoice:
    items = tuple(Item(*i) for i in items)
    total = sum(i.amount for i in items)
    sales, tax = split_tax(total)
    issued = dt.datetime(2024, 9, 15, 14, 30, 5, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return Invoice(InvoiceNumber.parse(number), issued, rnd, Seller("04595257", "", ""), items, total, sales, tax,
                   buyer_tax_id=buyer)


LONG = [(f"{name}{n}", 1 + n % 3, 35 + 5 * n) for n, name in enumerate(
    ["有機綠茶", "手工鳳梨酥禮盒（十二入）", "Espresso Double Shot", "原味貝果", "冰美式咖啡:大杯", "巧克力可頌",
     "季節水果塔", "Earl Grey Tea Latte with Oat Milk", "黑糖珍珠鮮奶", "抹茶紅豆蛋糕捲"] * 4)]
INVOICES = {
    "C consumer": _invoice("AB12345678", "5829", [("拿鐵咖啡", 2, 65), ("可頌", 1, 45)]),
    "D buyer+details": _invoice("AB12345679", "0417", [("水管除油酵素錠三罐", 1, 1380)], buyer="22099131"),
    "40 items consumer": _invoice("AB12345681", "0042", LONG),
    "40 items buyer+details": _invoice("AB12345682", "9310", LONG, buyer="22099131"),
}


def _receipts():
    for name, inv in INVOICES.items():
        yield name, inv, proof_layout(inv, inv.qr_codes(KEY), store_name="範例咖啡", reprint=False,
                                      footer="退換貨須憑證明聯正本辦理")


def baseline_bytes(receipt, renderer: RasterRenderer) -> bytes:
    """Each slip as one full-width picture via python-escpos image(), then a tear feed."""
    from escpos.printer import Dummy

    out = Dummy(profile=PROFILE)
    out.hw("INIT")
    for slip in renderer.slips(receipt):
        out.image(slip, impl="bitImageRaster", fragment_height=960)
        out._raw(b"\x1bJ\x60")
    return out.output


def _median_ms(fn, repeat: int) -> float:
    fn()  # warm: font faces, segno tables
    runs = []
    for _ in range(repeat):
        make_qr.cache_clear()  # every receipt is new: no cached QR codes
        t = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t) * 1000)
    return statistics.median(runs)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "printing.json")
    args = ap.parse_args(argv)

    from escpos.capabilities import get_profile

    renderer = RasterRenderer()
    encoders = {f"{mode}{' qr-edge-1.5mm' if edge == 12 else ''}":
                Encoder(mode=mode, profile=get_profile(PROFILE), qr_edge_dots=edge)
                for edge in (16, 12) for mode in ("raster", "big5")}
    rows = []
    for name, inv, receipt in _receipts():
        paper_mm = sum(s.height for s in renderer.slips(receipt)) / DOTS_PER_MM + 12  # + tear feed
        variants = {"baseline raster (escpos image)": lambda r=receipt: baseline_bytes(r, renderer)}
        variants.update({mode: lambda r=receipt, e=enc: e.encode(r) for mode, enc in encoders.items()})
        for mode, fn in variants.items():
            size = len(fn())
            rows.append({
                "receipt": name, "mode": mode, "bytes": size, "qr_version": inv.qr_codes(KEY).version,
                "paper_length_mm": round(paper_mm, 1),
                "transfer_s_115200": round(size / BYTES_PER_S, 3),
                "paper_s_9cm_200mms": PAPER_S,
                "link_over_paper": round(size / BYTES_PER_S / PAPER_S, 2),
                "paper_s_actual_200mms": round(paper_mm / FEED_MM_S, 3),
                "encode_ms_median": round(_median_ms(fn, args.repeat), 1),
                "within_10kb": size <= TARGET_BYTES,
            })
        rows.append({"receipt": name, "mode": "png preview (render_png)", "bytes": None,
                     "encode_ms_median": round(_median_ms(lambda r=receipt: render_png(r), args.repeat), 1)})

    base = {r["receipt"]: r["bytes"] for r in rows if r["mode"].startswith("baseline")}
    print(f"{'receipt':24} {'mode':32} {'bytes':>7} {'vs base':>7} {'115200 s':>8} {'link/9cm':>8} "
          f"{'paper s':>7} {'ms':>7}")
    for r in rows:
        if r["bytes"] is None:
            print(f"{r['receipt']:24} {r['mode']:32} {'':>7} {'':>7} {'':>8} {'':>8} {'':>7} "
                  f"{r['encode_ms_median']:7.1f}")
            continue
        r["ratio_to_baseline"] = round(r["bytes"] / base[r["receipt"]], 3)
        print(f"{r['receipt']:24} {r['mode']:32} {r['bytes']:7d} {r['ratio_to_baseline']:7.2f} "
              f"{r['transfer_s_115200']:8.3f} {r['link_over_paper']:8.2f} {r['paper_s_actual_200mms']:7.3f} "
              f"{r['encode_ms_median']:7.1f}")
    print(f"paper: a {SLIP_MM} mm slip at {FEED_MM_S} mm/s takes {PAPER_S:.2f} s; "
          f"the link keeps up below {int(PAPER_S * BYTES_PER_S)} bytes")
    result = {"generated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "python": sys.version.split()[0], "repeat": args.repeat, "profile": PROFILE,
              "link": {"baud": BAUD, "bytes_per_s": BYTES_PER_S}, "paper": {"slip_mm": SLIP_MM, "mm_per_s": FEED_MM_S},
              "target_bytes": TARGET_BYTES, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
