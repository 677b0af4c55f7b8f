"""Child process of the crash test: issues sales into a ledger and acknowledges each one on stdout
(``ACK <sale_id> <number> <created>``) right after ``issue`` returns, like the service answering the
POS. The parent kills it with SIGKILL at random points.

usage: crash_writer.py LEDGER FIRST COUNT SEED [RETRY_SALE_ID]
"""
import datetime as dt
import hashlib
import random
import sys

from storage.ledger import Ledger
from terminal.core.invoice import Seller, parse_sale

TAIPEI = dt.timezone(dt.timedelta(hours=8))
BASE = dt.datetime(2024, 9, 2, 8, 0, tzinfo=TAIPEI)
SELLER = Seller("04595257", "範例咖啡有限公司", "臺北市中正區範例路1號")


def sale_body(n: int) -> dict:
    qty = 1 + n % 3
    return {"sale_id": f"CRASH-{n:06d}", "items": [{"name": "拿鐵咖啡", "quantity": qty, "unit_price": 65},
                                                    {"name": f"品項{n}", "quantity": 1, "unit_price": n % 90}],
            "total": qty * 65 + n % 90}


def main() -> None:
    path, first, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    retry = sys.argv[5] if len(sys.argv) > 5 else None
    rng = random.Random(seed)
    ledger = Ledger.open(path, integrity="quick")
    todo = ([int(retry.split("-")[1])] if retry else []) + list(range(first, first + count))
    for n in todo:
        body = sale_body(n)
        fp = hashlib.sha256(repr(sorted(body.items())).encode()).hexdigest()
        now = BASE + dt.timedelta(seconds=first + count + n)  # later every round, so never behind the ledger
        inv, created = ledger.issue(parse_sale(body), now=now, seller=SELLER,
                                    random_code=lambda: rng.randrange(10000), sale_fingerprint=fp)
        print(f"ACK {body['sale_id']} {inv.number} {int(created)}", flush=True)
        if n % 4 == 0:
            ledger.set_print_state(str(inv.number), "printed", now=now)
    ledger.close()
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
