"""Fixtures for the upload tests: a fake clock, the strict in-memory outbox, the fake ECPay server on
loopback and a client wired to it."""
from __future__ import annotations

import datetime as dt
import random

import pytest

from drivers.vac import EcpayOfflineClient, Uploader
from terminal.core.period import Period
from vac_fake_ecpay import FakeEcpay, Track
from vac_outbox import MemoryOutbox
from vac_samples import HASH_IV, HASH_KEY, MACHINE_ID, MERCHANT_ID, START, TAIPEI, TRACK, FakeClock

T0 = dt.datetime(2026, 3, 10, 10, 0, tzinfo=TAIPEI)  # a Tuesday in period 11504 (Mar–Apr 2026)


@pytest.fixture
def clock():
    return FakeClock(T0)


@pytest.fixture
def outbox():
    return MemoryOutbox()


@pytest.fixture
def ecpay(clock):
    period = Period.of(T0.date())
    fake = FakeEcpay(merchant_id=MERCHANT_ID, hash_key=HASH_KEY, hash_iv=HASH_IV, clock=clock,
                     machines=(MACHINE_ID,),
                     tracks=[Track(MACHINE_ID, period, TRACK, START, START + 49_999),
                             Track(MACHINE_ID, period, "CD", 20_000_000, 20_000_049, status=2),
                             Track(MACHINE_ID, period.next(), TRACK, 30_000_000, 30_000_999)])
    fake.base_url = fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def client(ecpay, clock):
    c = EcpayOfflineClient(base_url=ecpay.base_url, merchant_id=MERCHANT_ID, hash_key=HASH_KEY, hash_iv=HASH_IV,
                           machine_id=MACHINE_ID, timeout=2, clock=clock, allow_insecure_loopback=True)
    yield c
    c.close()


@pytest.fixture
def uploader(outbox, client, clock):
    return Uploader(outbox, client, clock=clock, rng=random.Random(7), base_delay_s=30, max_delay_s=3600, batch=50)
