"""The LAN API for the POS (HTTP/JSON, ``/v1``), on falcon, served by a small threaded WSGI server.

Every request but ``GET /v1/health`` needs ``Authorization: Bearer <token>`` (constant-time compare).
Errors are ``{"error": {"code", "message", "field"}}``: 400 malformed, 401, 404, 409, 413, 422 rule
violation, 503 when the terminal cannot issue now. The OpenAPI description is served at
``GET /v1/openapi.json`` and kept in ``terminal/openapi.json``.
"""
from __future__ import annotations

import hmac
import json
import logging
import socketserver
import threading
from importlib import resources
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import falcon

from terminal.core.errors import CannotIssue, ConfigError, TerminalError, ValidationError
from terminal.service import Conflict, NotFound, Terminal

log = logging.getLogger("receipt_terminal.api")

_STATUS_OF = [(NotFound, falcon.HTTP_404), (Conflict, falcon.HTTP_409), (CannotIssue, falcon.HTTP_503),
              (ValidationError, falcon.HTTP_422), (ConfigError, falcon.HTTP_503)]
# Ledger rule violations that are conflicts with the invoice's current state (409), not bad input (422).
_CONFLICT_CODES = {"sale_id_conflict", "already_cancelled", "already_voided", "invoice_cancelled",
                   "invoice_voided", "allowances_active", "range_overlap"}


def _error(resp: falcon.Response, status: str, code: str, message: str, field: str | None = None) -> None:
    resp.status = status
    resp.media = {"error": {"code": code, "message": message, "field": field}}


class _Errors:
    @staticmethod
    def terminal_error(req, resp, exc: TerminalError, params) -> None:
        status = falcon.HTTP_500
        for cls, st in _STATUS_OF:
            if isinstance(exc, cls):
                status = st
                break
        if exc.code in _CONFLICT_CODES:
            status = falcon.HTTP_409
        elif exc.code == "not_found":
            status = falcon.HTTP_404
        if exc.code in ("malformed", "unknown_field") and isinstance(exc, ValidationError):
            status = falcon.HTTP_400
        _error(resp, status, exc.code, exc.message, exc.field)

    @staticmethod
    def http_error(req, resp, exc: falcon.HTTPError, params) -> None:
        code = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed", 413: "too_large",
                415: "unsupported_media_type", 400: "malformed"}.get(exc.status_code, "http_error")
        _error(resp, exc.status, code, exc.title + (f": {exc.description}" if exc.description else ""))
        if exc.headers:
            resp.set_headers(exc.headers)

    @staticmethod
    def unexpected(req, resp, exc: Exception, params) -> None:
        log.exception("unexpected error in %s %s", req.method, req.path)
        _error(resp, falcon.HTTP_500, "internal_error", "internal error; see the terminal's journal")


class _Auth:
    """Bearer token middleware; also enforces the body size limit before the body is read."""

    def __init__(self, token: str, max_body: int) -> None:
        self._token = token.encode()
        self._max_body = max_body

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.path == "/v1/health":
            return
        header = req.get_header("Authorization") or ""
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self._token):
            raise falcon.HTTPUnauthorized(title="Unauthorized", description="missing or wrong bearer token",
                                          headers={"WWW-Authenticate": "Bearer"})
        length = req.content_length
        if length is not None and length > self._max_body:
            raise falcon.HTTPContentTooLarge(title="Request body too large",
                                             description=f"at most {self._max_body} bytes")


def _body(req: falcon.Request) -> Any:
    if req.content_length in (None, 0):
        if req.method == "POST":
            raise ValidationError("a JSON body is required", code="malformed")
        return None
    ctype = (req.content_type or "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise ValidationError("Content-Type must be application/json", code="malformed")
    raw = req.bounded_stream.read()
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"malformed JSON: {exc}", code="malformed") from None


class _Sales:
    def __init__(self, t: Terminal) -> None:
        self.t = t

    def on_post(self, req, resp) -> None:
        status, body = self.t.sale(_body(req))
        resp.status = falcon.code_to_http_status(status)
        resp.media = body


class _Invoice:
    def __init__(self, t: Terminal) -> None:
        self.t = t

    def on_get(self, req, resp, number) -> None:
        resp.media = self.t.get_invoice(number)

    def on_post_cancel(self, req, resp, number) -> None:
        resp.media = self.t.cancel(number, _body(req))

    def on_post_void(self, req, resp, number) -> None:
        resp.media = self.t.void(number, _body(req))

    def on_post_allowances(self, req, resp, number) -> None:
        resp.status = falcon.HTTP_201
        resp.media = self.t.allowance(number, _body(req))

    def on_post_reprint(self, req, resp, number) -> None:
        resp.media = self.t.reprint(number)


class _Allowance:
    def __init__(self, t: Terminal) -> None:
        self.t = t

    def on_post_cancel(self, req, resp, number) -> None:
        resp.media = self.t.cancel_allowance(number, _body(req))


class _Status:
    def __init__(self, t: Terminal) -> None:
        self.t = t

    def on_get(self, req, resp) -> None:
        resp.media = self.t.status()


class _Health:
    def on_get(self, req, resp) -> None:
        resp.media = {"ok": True}


class _OpenApi:
    def on_get(self, req, resp) -> None:
        resp.content_type = falcon.MEDIA_JSON
        resp.data = resources.files("terminal").joinpath("openapi.json").read_bytes()


def create_app(terminal: Terminal, *, token: str, max_body: int) -> falcon.App:
    app = falcon.App(middleware=[_Auth(token, max_body)])
    app.req_options.strip_url_path_trailing_slash = True
    app.add_error_handler(Exception, _Errors.unexpected)
    app.add_error_handler(falcon.HTTPError, _Errors.http_error)
    app.add_error_handler(TerminalError, _Errors.terminal_error)
    inv = _Invoice(terminal)
    app.add_route("/v1/sales", _Sales(terminal))
    app.add_route("/v1/invoices/{number}", inv)
    for action in ("cancel", "void", "allowances", "reprint"):
        app.add_route(f"/v1/invoices/{{number}}/{action}", inv, suffix=action)
    app.add_route("/v1/allowances/{number}/cancel", _Allowance(terminal), suffix="cancel")
    app.add_route("/v1/status", _Status(terminal))
    app.add_route("/v1/health", _Health())
    app.add_route("/v1/openapi.json", _OpenApi())
    return app


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s - %s", self.address_string(), format % args)


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(app: falcon.App, bind: str, port: int) -> tuple[_ThreadingServer, threading.Thread]:
    """Start serving in a background thread; returns the server (``server_port`` is the real port)."""
    server = make_server(bind, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="api", daemon=True)
    thread.start()
    return server, thread
