"""Uploading to the value-added center: one client interface, two back-ends (ECPay's offline-POS API,
Turnkey files), and the uploader that drains the outbox through either.

Imports stay light: ``requests`` is imported on first use, ``defusedxml`` when results are read.
"""
from terminal.core.vac_deadline import deadline_status

from .center import Ack, CenterClient, ResultCollector, UploadResult
from .ecpay import EcpayOfflineClient
from .errors import CenterError, CenterUnreachable
from .factory import make_client
from .turnkey import TurnkeyClient
from .uploader import Uploader

__all__ = ["Ack", "CenterClient", "CenterError", "CenterUnreachable", "EcpayOfflineClient", "ResultCollector",
           "TurnkeyClient", "UploadResult", "Uploader", "deadline_status", "make_client"]
