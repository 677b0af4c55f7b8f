"""HTTPS to a value-added center: which URLs are allowed and the ``requests`` session used.

TLS verification is always on: ``verify`` is passed on every request (a CA bundle file or the default
store), so even an injected session with ``verify=False`` cannot switch it off. Plain ``http://`` is
accepted only with ``allow_insecure_loopback`` and only for a loopback host (tests, a local proxy).
"""
from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from terminal.core.errors import ConfigError


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, *, allow_insecure_loopback: bool = False, field: str = "upload.base_url") -> str:
    """The base URL without a trailing slash.

    :raises ConfigError: not https (or http to loopback when allowed), credentials, query or fragment.
    """
    if not isinstance(url, str) or not url:
        raise ConfigError(f"{field} is empty", field=field)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise ConfigError(f"{field} is not a valid URL: {exc}", field=field) from None
    host = parts.hostname or ""
    if parts.username is not None or parts.password is not None:
        raise ConfigError(f"{field} must not contain credentials", field=field)
    if parts.query or parts.fragment:
        raise ConfigError(f"{field} must not have a query or fragment", field=field)
    if not host:
        raise ConfigError(f"{field} has no host", field=field)
    if parts.scheme == "https":
        return url.rstrip("/")
    if parts.scheme == "http" and allow_insecure_loopback:
        if _is_loopback(host):
            return url.rstrip("/")
        raise ConfigError(f"{field}: plain http is allowed only to a loopback host, not {host}", field=field)
    raise ConfigError(f"{field} must start with https:// (TLS is never switched off)", field=field)


def verify_setting(ca_bundle: str | Path | None, *, field: str = "upload.ca_bundle") -> str | bool:
    """``requests``' ``verify``: the CA bundle file when configured, else True (the default store)."""
    if not ca_bundle:
        return True
    path = Path(ca_bundle)
    if not path.is_file():
        raise ConfigError(f"{field}: no such file {path}", field=field)
    return str(path)


def new_session():
    """A session that ignores proxy/netrc/CA variables from the environment (the config decides) and
    does no retries of its own (the uploader's backoff does)."""
    import requests

    session = requests.Session()
    session.trust_env = False
    return session
