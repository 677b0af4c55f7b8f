"""The printed proof's machine-readable codes: the Code 39 barcode text, the AES check code and the
left/right QR payloads (財政部《電子發票證明聯一維及二維條碼規格說明》 v1.8).

Both QR codes must be printed at the same version, at least V6, level L. This module chooses how the
items are split between the two codes and the common version, from the standard byte capacities, so
the renderers only draw what they are given.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Sequence

from .money import Item
from .numbers import InvoiceNumber
from .period import Period, roc_date7

QR_IV = base64.b64decode("Dt8lyToo17X/XkXaQvihuA==")
MIN_QR_VERSION = 6
MAX_QR_VERSION = 9  # two V9 codes at 3 dots/module plus quiet zones fill 384 dots
CUSTOM_AREA_UNUSED = "*" * 10
ENCODING_BIG5, ENCODING_UTF8, ENCODING_BASE64 = 0, 1, 2
# Byte-mode capacity at error correction level L (ISO/IEC 18004 table 7), versions 1..15.
QR_BYTE_CAPACITY_L = (17, 32, 53, 78, 106, 134, 154, 192, 230, 271, 321, 367, 425, 458, 520)


def barcode_text(period: Period, number: InvoiceNumber, random_code: str) -> str:
    """Code 39 content, 19 chars: period code (5) + number (10) + random code (4)."""
    return f"{period.code}{number}{random_code}"


def check_code(key_hex: str, number: InvoiceNumber | str, random_code: str) -> str:
    """加密驗證資訊: Base64(AES-128-CBC(key, fixed IV, PKCS#7(number + random code))), 24 chars."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = bytes.fromhex(key_hex)
    if len(key) != 16:
        raise ValueError("the QR AES key must be 32 hex digits (128 bits)")
    plain = f"{number}{random_code}".encode("ascii")
    pad = 16 - len(plain) % 16
    plain += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(QR_IV)).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode("ascii")


def verify_check_code(key_hex: str, code: str) -> str:
    """Decrypt a 24-char check code and return the plaintext ``number + random code``."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    dec = Cipher(algorithms.AES(bytes.fromhex(key_hex)), modes.CBC(QR_IV)).decryptor()
    plain = dec.update(base64.b64decode(code)) + dec.finalize()
    pad = plain[-1]
    if not 1 <= pad <= 16 or plain[-pad:] != bytes([pad]) * pad:
        raise ValueError("bad padding: wrong key or corrupted check code")
    return plain[:-pad].decode("ascii")


def qr_version_for(n_bytes: int) -> int | None:
    """Smallest QR version (level L, byte mode) holding ``n_bytes``; None if beyond the table."""
    for version, capacity in enumerate(QR_BYTE_CAPACITY_L, start=1):
        if n_bytes <= capacity:
            return version
    return None


def qr_item_name(name: str) -> str:
    """Item names may not contain the field separator ':'; use the full-width colon instead."""
    return name.replace(":", "：").replace("\n", " ")


@dataclass(frozen=True)
class QrPair:
    left: str
    right: str
    version: int
    items_in_codes: int  # 二維條碼記載完整品目筆數
    encoding: int

    def byte_lengths(self) -> tuple[int, int]:
        return _encoded_len(self.left, self.encoding), _encoded_len(self.right, self.encoding)


def _encoded_len(text: str, encoding) -> int:
    return len(text.encode("cp950", errors="replace") if encoding == ENCODING_BIG5 else text.encode("utf-8"))


def qr_head(number: InvoiceNumber, issued_on, random_code: str, sales: int, total: int,
            buyer_ban: str | None, seller_ban: str, check: str) -> str:
    """The fixed 77-char head of the left QR code."""
    return (f"{number}{roc_date7(issued_on)}{random_code}{sales:08x}{total:08x}"
            f"{buyer_ban or '00000000'}{seller_ban}{check:<24}")


def qr_pair(head: str, items: Sequence[Item], *, encoding: int = ENCODING_UTF8,
            custom_area: str = CUSTOM_AREA_UNUSED, max_version: int = MAX_QR_VERSION,
            left_items: int | None = None) -> QrPair:
    """Split the item list between the left and right codes.

    The left code gets the head and a prefix of the items, the right code (``**`` + continuation) the
    rest. We record as many items as fit at ``max_version`` (the spec allows leaving the rest out; the
    item counter says how many are in), and among those splits pick the smallest common version (never
    below V6); ties go to the fewest items on the left (at least one), as in the spec's own example.
    Sizes are computed from prefix sums, so a 9,999-line invoice costs no more than a short one.

    ``left_items`` forces the split instead (all items recorded, that many on the left; e.g. all of
    them, the spec's other layout); ValueError if the result does not fit ``max_version``.
    """
    if len(custom_area) != 10:
        raise ValueError("the merchant area of the QR code is exactly 10 characters")
    fields = [f"{qr_item_name(i.name)}:{i.quantity}:{i.unit_price}" for i in items]
    if left_items is not None:
        return _forced_pair(head, custom_area, fields, left_items, encoding, max_version)
    cap = QR_BYTE_CAPACITY_L[max_version - 1]
    sums = [0]
    for f in fields:
        sums.append(sums[-1] + _encoded_len(f, encoding))
        if sums[-1] > 2 * cap:
            break
    for placed in range(len(sums) - 1, -1, -1):
        prefix_len = _encoded_len(_prefix(head, custom_area, placed, len(items), encoding), "ascii")
        best: tuple[int, int] | None = None
        for k in range(1 if placed else 0, placed + 1):
            n_left, n_right = _split_lengths(sums, k, placed, prefix_len, encoding)
            if max(n_left, n_right) > cap:
                continue
            version = max(MIN_QR_VERSION, qr_version_for(n_left), qr_version_for(n_right))
            if best is None or version < best[0]:
                best = (version, k)
        if best is not None:
            left, right = _compose(head, custom_area, fields, best[1], placed, len(items), encoding)
            return QrPair(left, right, best[0], placed, encoding)
    raise ValueError("the QR head alone does not fit the maximum QR version")


def _forced_pair(head: str, custom_area: str, fields: list[str], k: int, encoding: int,
                 max_version: int) -> QrPair:
    if not (1 if fields else 0) <= k <= len(fields):
        raise ValueError(f"left_items must be between 1 and the number of items ({len(fields)})")
    left, right = _compose(head, custom_area, fields, k, len(fields), len(fields), encoding)
    needed = [qr_version_for(_encoded_len(text, encoding)) for text in (left, right)]
    if None in needed or max(needed) > max_version:
        raise ValueError(f"{k} items on the left do not fit QR version {max_version}")
    return QrPair(left, right, max(MIN_QR_VERSION, *needed), len(fields), encoding)


def _prefix(head: str, custom_area: str, placed: int, total_items: int, encoding: int) -> str:
    return f"{head}:{custom_area}:{placed}:{total_items}:{encoding}:"


def _split_lengths(sums: list[int], k: int, placed: int, prefix_len: int, encoding: int) -> tuple[int, int]:
    left_items = sums[k] + max(k - 1, 0)
    stream = sums[placed] + max(placed - 1, 0)
    if encoding == ENCODING_BASE64:
        b64 = lambda n: 4 * ((n + 2) // 3)  # noqa: E731
        return prefix_len + b64(left_items), 2 + b64(stream - left_items)
    right_items = stream - left_items - (1 if k else 0)
    if k < placed:
        return prefix_len + left_items + 1, 2 + right_items
    return prefix_len + left_items, 2


def _compose(head: str, custom_area: str, fields: list[str], k: int, placed: int, total_items: int,
             encoding: int) -> tuple[str, str]:
    prefix = _prefix(head, custom_area, placed, total_items, encoding)
    if encoding == ENCODING_BASE64:
        stream = ":".join(fields[:placed]).encode("utf-8")
        cut = len(":".join(fields[:k]).encode("utf-8"))
        return (prefix + base64.b64encode(stream[:cut]).decode("ascii"),
                "**" + base64.b64encode(stream[cut:]).decode("ascii"))
    left_items = ":".join(fields[:k])
    right_items = ":".join(fields[k:placed])
    if right_items:
        return prefix + left_items + ":", "**" + right_items
    return prefix + left_items, "**"


def qr_base64_split(head: str, items_text: str, cut: int, *, placed: int, total_items: int,
                    custom_area: str = CUSTOM_AREA_UNUSED) -> tuple[str, str]:
    """Base64 (parameter 2) payloads with an explicit byte cut of the item stream, as in the spec's
    example, where the stream is cut in the middle of an item."""
    stream = items_text.encode("utf-8")
    return (_prefix(head, custom_area, placed, total_items, ENCODING_BASE64)
            + base64.b64encode(stream[:cut]).decode("ascii"),
            "**" + base64.b64encode(stream[cut:]).decode("ascii"))
