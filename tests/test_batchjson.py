"""BatchJsonProvider against the real fake batch server over loopback."""

import logging

import pytest

from django_order_monitor.exceptions import ProviderResponseError
from django_order_monitor.providers.adapters.base import Outcome
from django_order_monitor.providers.adapters.batchjson import BatchJsonProvider, parse_entry
from django_order_monitor.testing.fake_batchjson import FakeBatchJsonServer

TOKEN = "s3cret-token-value"


@pytest.fixture
def fake():
    with FakeBatchJsonServer(seed=7, api_token=TOKEN) as server:
        yield server


def provider(fake, **options):
    return BatchJsonProvider(base_url=fake.url, api_token=TOKEN, **options)


def test_one_call_answers_many_orders(fake):
    fake.add_order("1001", outcome="completed", delay=0, pin="AAAA-1111")
    fake.add_order("1002", outcome="failed", delay=0, description="stok yok")
    fake.add_order("1003", outcome="never")
    results = provider(fake).fetch_statuses(["1001", "1002", "1003", "9999"])
    assert fake.http_calls == 1
    assert results["1001"].outcome is Outcome.COMPLETED and results["1001"].pin == "AAAA-1111"
    assert "AAAA-1111" not in results["1001"].raw
    assert results["1002"].outcome is Outcome.FAILED and results["1002"].message == "stok yok"
    assert results["1003"].outcome is Outcome.PROCESSING
    assert results["9999"].outcome is Outcome.QUERY_ERROR  # missing entry: the query failed, not the order


def test_batches_are_split_by_batch_size(fake):
    refs = [str(2000 + n) for n in range(7)]
    for ref in refs:
        fake.add_order(ref, outcome="never")
    results = provider(fake, batch_size=3).fetch_statuses(refs)
    assert len(results) == 7 and fake.http_calls == 3
    assert provider(fake).fetch_status(refs[0]).outcome is Outcome.PROCESSING


@pytest.mark.parametrize(
    ("word", "outcome"),
    [("SUCCESS", "completed"), ("accept", "completed"), ("Canceled", "failed"), ("error", "failed"),
     ("inprogress", "processing"), ("queue", "processing")],
)
def test_status_words(word, outcome):
    assert parse_entry({"order_id": "1", "status": word, "pin": "P-1"}).outcome.value == outcome


def test_unknown_word_is_a_query_error_with_a_warning(fake, caplog):
    fake.add_order("3001", outcome="never")
    fake.set_word("3001", "mystery")
    with caplog.at_level(logging.WARNING):
        result = provider(fake).fetch_status("3001")
    assert result.outcome is Outcome.QUERY_ERROR
    assert "mystery" in caplog.text and TOKEN not in caplog.text


def test_bad_token_is_a_query_error_and_never_leaks(fake, caplog):
    fake.add_order("4001", outcome="never")
    bad = BatchJsonProvider(base_url=fake.url, api_token="wrong-token-123")
    with caplog.at_level(logging.DEBUG), pytest.raises(ProviderResponseError) as info:
        bad.fetch_status("4001")
    assert "401" in str(info.value)
    assert "wrong-token-123" not in str(info.value) and "wrong-token-123" not in caplog.text
    assert "wrong-token-123" not in repr(bad)


def test_options_are_checked():
    assert BatchJsonProvider.check_options({"base_url": "http://x/"}) == ["option 'api_token' is required"]
    assert "batch_size" in BatchJsonProvider.check_options({"base_url": "http://x/", "api_token": "t", "batch_size": 0})[0]


# -- a completion needs a PIN that is text (issue 10, defect 2) -------------------------


@pytest.mark.parametrize(
    ("pin", "message"),
    [
        (None, "batchjson: completed without a PIN"),
        ("", "batchjson: completed without a PIN"),
        ("-", "batchjson: completed without a PIN"),
        (" - ", "batchjson: completed without a PIN"),
        ("   ", "batchjson: completed without a PIN"),
        (False, "batchjson: PIN is not text"),
        (True, "batchjson: PIN is not text"),
        ([], "batchjson: PIN is not text"),
        (["AAAA-1111"], "batchjson: PIN is not text"),
        (0, "batchjson: PIN is not text"),
        (123456, "batchjson: PIN is not text"),
        (1.5, "batchjson: PIN is not text"),
        ({}, "batchjson: PIN is not text"),
    ],
    ids=repr,
)
def test_success_without_a_text_pin_is_a_query_error_not_a_completion(fake, pin, message):
    fake.add_order("5001", outcome="completed", delay=0, pin="AAAA-1111")
    fake.set_fields("5001", pin=pin)
    result = provider(fake).fetch_status("5001")
    assert (result.outcome, result.pin, result.message) == (Outcome.QUERY_ERROR, None, message)
    assert result.provider_status in {"success", "done", "completed", "accept"}
    if not isinstance(pin, str) and pin is not None:
        assert '"pin": "***"' in result.raw  # whatever it was, it is not stored


def test_success_with_a_pin_keeps_it_exactly_stripped(fake):
    fake.add_order("5002", outcome="completed", delay=0)
    fake.set_fields("5002", pin="  İğ 0042-ÄÖÜ  ", note="PIN İğ 0042-ÄÖÜ teslim")
    result = provider(fake).fetch_status("5002")
    assert (result.outcome, result.pin) == (Outcome.COMPLETED, "İğ 0042-ÄÖÜ")
    assert result.message == "PIN *** teslim" and "0042" not in result.raw
