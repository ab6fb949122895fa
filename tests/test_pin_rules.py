"""A PIN reaches the monitor exactly as the provider sent it, or the query fails (issue 10, defect 3).

Both adapters run against a local server on 127.0.0.1 that sends the exact bytes a test sets.
"""

from __future__ import annotations

import json

import pytest

from django_order_monitor.exceptions import ProviderResponseError
from django_order_monitor.providers.adapters.base import Outcome, pin_problem
from django_order_monitor.providers.adapters.batchjson import BatchJsonProvider
from django_order_monitor.providers.adapters.znet import ZnetProvider
from tests.replyserver import ReplyServer

NOT_PRINTABLE = "PIN has characters that are not printable"


@pytest.fixture(scope="module")
def server():
    with ReplyServer() as reply:
        yield reply


@pytest.fixture
def znet(server):
    provider = ZnetProvider(base_url=server.url, kod="5551234567", sifre="s3cret-sifre", read_timeout=2)
    yield provider
    provider.close()


@pytest.fixture
def batch(server):
    provider = BatchJsonProvider(base_url=server.url, api_token="s3cret-token", read_timeout=2)
    yield provider
    provider.close()


def batch_body(pin) -> bytes:
    entry = {"order_id": "7001", "status": "success", "pin": pin, "note": ""}
    return json.dumps({"status": "OK", "data": [entry]}).encode()


@pytest.mark.parametrize(
    ("pin", "problem"),
    [
        ("AB12-CD34", None),
        ("  AB12 CD34\n", None),  # surrounding whitespace is stripped, inner spaces are part of it
        ("İğ-ÄÖÜ-٣٤", None),
        (None, "completed without a PIN"),
        (" - ", "completed without a PIN"),
        ("", "completed without a PIN"),
        (0, "PIN is not text"),
        (False, "PIN is not text"),
        (["AB12"], "PIN is not text"),
        ("AB\x0012", NOT_PRINTABLE),
        ("AB\r\n12", NOT_PRINTABLE),
        ("AB\t12", NOT_PRINTABLE),
        ("AB\x7f12", NOT_PRINTABLE),
        ("AB\u200b12", NOT_PRINTABLE),  # zero-width space (Cf)
        ("AB\u202e12", NOT_PRINTABLE),  # right-to-left override (Cf)
        ("AB\ufffd12", NOT_PRINTABLE),  # a byte that did not decode
        ("AB\ud80012", NOT_PRINTABLE),  # a lone surrogate (JSON "\ud800")
        ("AB\u202812", NOT_PRINTABLE),  # line separator
        ("*", "PIN has no letter or digit"),  # the history's own mask character
        ("--", "PIN has no letter or digit"),
        ("* * *", "PIN has no letter or digit"),
    ],
    ids=repr,
)
def test_pin_problem(pin, problem):
    assert pin_problem(pin) == problem


@pytest.mark.parametrize(
    "body",
    [b"OK|2|AB\xff12|tamam", b"OK|2|AB12|\xc4\x9f\xc4|x", b"\xef\xbb\xbfOK|2|AB\xed\xa0\x8012|x", b"OK|2|AB12|\xe7ok"],
    ids=["pin-byte", "truncated-char", "encoded-surrogate", "latin-1-description"],
)
def test_znet_reply_that_is_not_utf8_is_a_failed_query(server, znet, body):
    server.body = body
    with pytest.raises(ProviderResponseError) as info:
        znet.fetch_status("R-1")
    # The message names the problem, never the body (which may hold a PIN).
    assert str(info.value) == "znet: reply is not valid utf-8 text"


@pytest.mark.parametrize(
    "pin_bytes",
    [b"AB\x0012", b"AB\r\n12", b"AB\t12", "AB\u200b12".encode(), "AB\ufffd12".encode(), "AB\x8512".encode()],
    ids=["nul", "crlf", "tab", "zero-width", "replacement-char", "nel"],
)
def test_znet_pin_with_unprintable_characters_is_a_query_error(server, znet, pin_bytes):
    server.body = b"OK|2|" + pin_bytes + b"|tamamlandi"
    result = znet.fetch_status("R-2")
    assert (result.outcome, result.pin, result.message) == (Outcome.QUERY_ERROR, None, f"znet: {NOT_PRINTABLE}")
    assert result.raw == "OK|2|***|tamamlandi"


def test_znet_pin_with_bom_and_spaces_is_kept_exactly(server, znet):
    server.body = "\ufeff OK|2|  İğ 12-ÄÖ  |tamam\r\n".encode()
    result = znet.fetch_status("R-3")
    assert (result.outcome, result.pin) == (Outcome.COMPLETED, "İğ 12-ÄÖ")


@pytest.mark.parametrize(
    "pin", ["AB\u000012", "AB\r12", "AB\n12", "AB\t12", "AB\ud80012", "AB\ufffd12", "AB\u200d12"],
    ids=["nul", "cr", "lf", "tab", "lone-surrogate", "replacement-char", "zero-width-joiner"],
)
def test_batch_pin_with_unprintable_characters_is_a_query_error(server, batch, pin):
    server.body = batch_body(pin)
    result = batch.fetch_status("7001")
    assert (result.outcome, result.pin, result.message) == (Outcome.QUERY_ERROR, None, f"batchjson: {NOT_PRINTABLE}")


def test_batch_reply_that_is_not_utf8_is_a_failed_query(server, batch):
    server.body = batch_body("AB12").replace(b"AB12", b"AB\xff12")
    with pytest.raises(ProviderResponseError) as info:
        batch.fetch_status("7001")
    assert str(info.value) == "batchjson: reply is not valid utf-8 text"


def test_a_provider_that_speaks_another_encoding_can_say_so(server):
    provider = ZnetProvider(base_url=server.url, kod="k", sifre="s", encoding="cp1254")
    server.body = "OK|2|AB12|İşlem tamamlandı".encode("cp1254")
    result = provider.fetch_status("R-4")
    assert (result.outcome, result.pin, result.message) == (Outcome.COMPLETED, "AB12", "İşlem tamamlandı")
    assert ZnetProvider.check_options({"base_url": "http://x/", "kod": "k", "sifre": "s", "encoding": "klingon"}) == [
        "option 'encoding' must name a text encoding such as 'utf-8'"
    ]
