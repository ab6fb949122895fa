"""RequestsProvider's guards, through real adapters against local servers on 127.0.0.1.

A whole call ends within its total deadline however slowly the reply trickles in
(issue 10, defect 10), a reply has a size cap, and credentials never follow a
redirect to another host (defect 13).
"""

from __future__ import annotations

import gzip
import json
import threading
import time

import pytest

from django_order_monitor.exceptions import ProviderResponseError, ProviderTimeout
from django_order_monitor.providers.adapters.base import BaseProvider, Outcome
from django_order_monitor.providers.adapters.batchjson import BatchJsonProvider
from django_order_monitor.providers.adapters.http import MAX_REPLY_BYTES, RequestsProvider
from django_order_monitor.providers.adapters.znet import ZnetProvider
from django_order_monitor.testing.memory import InMemoryProvider
from tests.replyserver import ReplyServer

TOKEN = "s3cret-api-token"
OK_BODY = json.dumps({"status": "OK", "data": [{"order_id": "7001", "status": "pending", "pin": None}]}).encode()


@pytest.fixture
def server():
    with ReplyServer() as reply:
        yield reply


@pytest.fixture
def other_server():
    with ReplyServer() as reply:
        yield reply


def znet(url, **options):
    return ZnetProvider(base_url=url, kod="5551234567", sifre="s3cret-sifre", **options)


# -- total deadline (defect 10) ----------------------------------------------------------


def test_a_reply_trickling_slower_than_the_read_timeout_per_byte_still_ends_at_the_total_deadline(server):
    # 20 bytes, one every 0.1 s: every socket read is well within the 0.5 s read timeout,
    # so only a deadline on the whole call stops it before its 2 s.
    server.body, server.trickle = b"OK|1| - |bekleniyor.", 0.1
    provider = znet(server.url, connect_timeout=0.5, read_timeout=0.5, total_timeout=0.6)
    started = time.monotonic()
    with pytest.raises(ProviderTimeout) as info:
        provider.fetch_status("R-1")
    elapsed = time.monotonic() - started
    assert str(info.value) == "znet: no complete reply within 0.6s on servis/pin_kontrol.php"
    assert 0.55 <= elapsed < 0.9
    provider.close()


def test_the_default_total_deadline_is_connect_plus_read_timeout(server):
    server.body, server.trickle = b"OK|1| - |bekleniyor.", 0.1
    provider = znet(server.url, connect_timeout=0.2, read_timeout=0.4)
    started = time.monotonic()
    with pytest.raises(ProviderTimeout, match=r"no complete reply within 0\.6s"):
        provider.fetch_status("R-1")
    assert time.monotonic() - started < 0.9
    provider.close()


def test_a_reply_within_the_deadline_is_read_whole_and_the_connection_reused(server):
    server.body = b"OK|1| - |bekleniyor"
    provider = znet(server.url, total_timeout=2)
    for _ in range(3):
        assert provider.fetch_status("R-2").outcome is Outcome.PROCESSING
    # One keep-alive connection served all three: reading the body in pieces still
    # hands the connection back to the pool.
    assert len(server.client_ports) == 3 and len(set(server.client_ports)) == 1
    provider.close()


def test_call_deadline_is_what_the_options_allow():
    assert BaseProvider.call_deadline({}) is None
    assert InMemoryProvider.call_deadline({}) is None
    assert RequestsProvider.call_deadline({"base_url": "http://x/"}) == 25.0
    assert ZnetProvider.call_deadline({"connect_timeout": 2, "read_timeout": 10}) == 12.0
    assert ZnetProvider.call_deadline({"timeout": 3}) == 6.0
    assert BatchJsonProvider.call_deadline({"read_timeout": 10, "total_timeout": 7.5}) == 7.5


@pytest.mark.parametrize("value", [0, -1, "soon", True, float("nan"), float("inf"), [5]])
def test_total_timeout_is_checked(value):
    options = {"base_url": "http://x/", "kod": "k", "sifre": "s", "total_timeout": value}
    assert ZnetProvider.check_options(options) == ["option 'total_timeout' must be a positive number of seconds"]


# -- size cap -------------------------------------------------------------------------


def test_a_reply_larger_than_the_cap_is_refused(server):
    server.body = b"OK|1| - |" + b"x" * MAX_REPLY_BYTES
    provider = znet(server.url)
    with pytest.raises(ProviderResponseError) as info:
        provider.fetch_status("R-3")
    assert str(info.value) == f"znet: reply larger than {MAX_REPLY_BYTES} bytes on servis/pin_kontrol.php"
    provider.close()


def test_a_compressed_reply_is_capped_after_decompression(server):
    server.body = gzip.compress(b"OK|1| - |" + b"x" * (4 * MAX_REPLY_BYTES))
    server.headers = {"Content-Encoding": "gzip"}
    provider = znet(server.url)
    with pytest.raises(ProviderResponseError, match="reply larger than"):
        provider.fetch_status("R-4")
    server.body = gzip.compress(b"OK|2|AB12-CD34|tamam")
    assert provider.fetch_status("R-4").pin == "AB12-CD34"
    provider.close()


# -- redirects (defect 13) -----------------------------------------------------------------


def test_the_api_token_never_follows_a_redirect_to_another_host(server, other_server):
    other_server.body = OK_BODY
    server.location = other_server.url + "client/api/check?orders=[7001]"
    provider = BatchJsonProvider(base_url=server.url, api_token=TOKEN)
    with pytest.raises(ProviderResponseError) as info:
        provider.fetch_status("7001")
    assert str(info.value) == (
        "batchjson: refused a redirect to another host, scheme or port on client/api/check "
        "(if the provider moved, change base_url)"
    )
    assert info.value.status_code == 302
    assert server.requests[0][1]["api-token"] == TOKEN
    assert not any("api-token" in {name.lower() for name in headers} for _, headers in other_server.requests)
    provider.close()


def test_a_redirect_within_the_provider_is_followed_with_the_token(server):
    server.body = OK_BODY
    server.redirect_from = "/client/"
    server.location = "/v2/client/api/check?orders=[7001]"
    provider = BatchJsonProvider(base_url=server.url, api_token=TOKEN)
    assert provider.fetch_status("7001").outcome is Outcome.PROCESSING
    assert [path for path, _ in server.requests] == ["/client/api/check?orders=%5B7001%5D", "/v2/client/api/check?orders=%5B7001%5D"]
    assert all(headers["api-token"] == TOKEN for _, headers in server.requests)
    provider.close()


def test_a_redirect_loop_is_a_failed_query(server):
    server.location = "/servis/pin_kontrol.php"
    provider = znet(server.url)
    with pytest.raises(ProviderResponseError, match="more than 5 redirects on servis/pin_kontrol.php"):
        provider.fetch_status("R-5")
    provider.close()


def test_many_threads_sharing_one_adapter_never_touch_a_connection_they_gave_back(server):
    """32 consumer threads, one adapter, a pool of 10 connections (as in a run_huey consumer).

    A connection goes back to the pool (or is closed, the pool being full) the moment its
    reply has been read; setting a read timeout on its socket after that hit a socket that
    was closed, or in use by another thread, as an OSError: a failed query for no reason.
    """
    server.body = b"OK|1| |bekleniyor"
    adapter = znet(server.url)
    failures = []

    def worker():
        for _ in range(40):
            try:
                assert adapter.fetch_status("R-1").outcome.value == "processing"
            except Exception as err:  # noqa: BLE001 (collected for the assertion below)
                failures.append(type(err).__name__ + ": " + str(err))

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
