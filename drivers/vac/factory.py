"""Build the configured center client from the ``[upload]`` section plus the ECPay secrets."""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Mapping

from terminal.core.errors import ConfigError

from .center import CenterClient

_COMMON = {"backend", "interval_seconds"}
_ECPAY = {"base_url", "machine_id", "ca_bundle", "timeout_seconds", "allow_insecure_loopback", "revision",
          "ecpay_merchant_id", "ecpay_hash_key", "ecpay_hash_iv"}
_TURNKEY = {"turnkey_root", "turnkey_state_dir"}


def make_client(cfg: Mapping[str, Any], *, clock: Callable[[], dt.datetime]) -> CenterClient:
    """``cfg``: ``{"backend": "ecpay" | "turnkey", ...}`` — the keys of the ``[upload]`` section and the
    ``ecpay_*`` secrets (``bootstrap.open_uploader`` merges them). Empty strings count as not set; keys
    of the other back-end are ignored; unknown keys are an error.

    :raises ConfigError: unknown backend or key, a missing or bad value (never echoing a secret).
    """
    unknown = set(cfg) - _COMMON - _ECPAY - _TURNKEY
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError(f"unknown option upload.{key}", field=f"upload.{key}")
    backend = cfg.get("backend")
    if backend == "ecpay":
        from .ecpay import EcpayOfflineClient

        def need(key: str, section: str) -> str:
            value = cfg.get(key)
            if not value:
                raise ConfigError(f'upload.backend = "ecpay" needs {section}.{key}', field=f"{section}.{key}")
            return value

        return EcpayOfflineClient(
            base_url=need("base_url", "upload"), machine_id=need("machine_id", "upload"),
            merchant_id=need("ecpay_merchant_id", "secrets"), hash_key=need("ecpay_hash_key", "secrets"),
            hash_iv=need("ecpay_hash_iv", "secrets"), timeout=cfg.get("timeout_seconds") or 10, clock=clock,
            ca_bundle=cfg.get("ca_bundle") or None,
            allow_insecure_loopback=bool(cfg.get("allow_insecure_loopback", False)),
            revision=cfg.get("revision", "3.0.0") or None)
    if backend == "turnkey":
        from .turnkey import TurnkeyClient

        return TurnkeyClient(root=cfg.get("turnkey_root") or "", clock=clock,
                             state_dir=cfg.get("turnkey_state_dir") or None)
    raise ConfigError(f'upload.backend must be "ecpay" or "turnkey" to upload, got {backend!r}',
                      field="upload.backend")
