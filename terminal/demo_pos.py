"""Simulate mode's demo POS: after READY, posts a few sales over the real LAN API, the way a POS would,
including one with a mobile-barcode carrier, one donation and one with a buyer tax ID."""
from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request

log = logging.getLogger("receipt_terminal.demo")

DEMO_SALES = [
    {"items": [{"name": "拿鐵咖啡", "quantity": 2, "unit_price": 65}, {"name": "可頌", "quantity": 1, "unit_price": 45}],
     "total": 175},
    {"items": [{"name": "美式咖啡", "quantity": 1, "unit_price": 55}], "total": 55,
     "carrier": {"type": "3J0002", "id": "/ABC+123"}},
    {"items": [{"name": "水管除油酵素錠三罐", "quantity": 1, "unit_price": 1380}], "total": 1380,
     "buyer_tax_id": "22099131"},
    {"items": [{"name": "蛋糕", "quantity": 3, "unit_price": 80}], "total": 240, "donation_code": "88888"},
]


def post_sales(url: str, token: str, count: int, *, prefix: str) -> list[dict]:
    results = []
    for n in range(count):
        body = {"sale_id": f"{prefix}-{n:04d}", **DEMO_SALES[n % len(DEMO_SALES)]}
        req = urllib.request.Request(f"{url}/v1/sales", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                results.append(json.loads(resp.read()))
        except urllib.error.HTTPError as exc:
            results.append(json.loads(exc.read()))
        log.info("demo sale %s -> %s", body["sale_id"], results[-1].get("invoice_number", results[-1]))
    return results


def start(url: str, token: str, count: int) -> threading.Thread:
    """Post ``count`` demo sales to the service at ``url`` from a background thread."""
    t = threading.Thread(target=post_sales, args=(url, token, count),
                         kwargs={"prefix": f"DEMO-{time.strftime('%Y%m%d%H%M%S')}"}, name="demo-pos", daemon=True)
    t.start()
    return t
