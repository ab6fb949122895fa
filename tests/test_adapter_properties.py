"""Properties of the adapters over any reply a provider can send (issue 10, "the gate's contract").

One local server on 127.0.0.1 serves, for each generated example, exactly the bytes
Hypothesis chose. Whatever they are, an adapter answers with a ProviderError, a
non-completion without a PIN, or a completion whose PIN is non-blank text that
pin_problem accepts and that the provider really sent.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from django_order_monitor.exceptions import ProviderError
from django_order_monitor.providers.adapters.base import Outcome, StatusResult, pin_problem
from django_order_monitor.providers.adapters.batchjson import BatchJsonProvider
from django_order_monitor.providers.adapters.znet import ZnetProvider
from tests.replyserver import ReplyServer

PROPERTY = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
REF = "7001"

#: Text a provider could send as a PIN: anything, including what must be refused.
any_text = st.text(max_size=12) | st.sampled_from(["", " ", "-", " - ", "AB\x00CD", "AB\r\nCD", "\ufffd", "\ud800"])
#: A PIN the monitor must take exactly (stripped): printable text with a letter or digit, no "|".
valid_pins = st.text(
    alphabet=st.characters(exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp"), exclude_characters="|\ufffd"),
    min_size=1,
    max_size=40,
).filter(lambda pin: pin.strip() not in ("", "-") and any(ch.isalnum() for ch in pin))


def as_bytes(text: str) -> bytes:
    # surrogatepass: a lone surrogate becomes bytes that are not valid UTF-8, as a broken host may send.
    return text.encode("utf-8", "surrogatepass")


znet_bodies = st.binary(max_size=200) | st.builds(
    lambda head, durum, pin, description: as_bytes(f"{head}|{durum}|{pin}|{description}"),
    st.sampled_from(["OK", "ok", " OK", "\ufeffOK", "3", "8", ""]),
    st.sampled_from(["1", "2", "3", "9", "", " 2 "]),
    any_text | valid_pins,
    any_text,
) | st.builds(lambda prefix, rest: prefix + rest, st.sampled_from([b"OK|2|", b"\xef\xbb\xbfOK|2|"]), st.binary(max_size=40))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=8,
)
status_words = st.sampled_from(["success", "OK", "done", "Completed", "failed", "pending", "unknown", "mystery"]) | json_values
entries = st.fixed_dictionaries(
    {"order_id": st.sampled_from([REF, 7001, "7002"]), "status": status_words, "pin": valid_pins | json_values},
    optional={"note": json_values},
)
batch_bodies = (
    st.builds(
        lambda top, data, ascii_only: as_bytes(json.dumps({"status": top, "data": data}, ensure_ascii=ascii_only)),
        st.sampled_from(["OK", "ok", "error", None]),
        st.lists(entries, max_size=3) | json_values,
        st.booleans(),
    )
    | st.binary(max_size=200)
    | json_values.map(lambda value: as_bytes(json.dumps(value)))
)


@pytest.fixture(scope="module")
def server():
    with ReplyServer() as reply:
        yield reply


@pytest.fixture(scope="module")
def znet(server):
    provider = ZnetProvider(base_url=server.url, kod="5551234567", sifre="s3cret-sifre", read_timeout=5)
    yield provider
    provider.close()


@pytest.fixture(scope="module")
def batch(server):
    provider = BatchJsonProvider(base_url=server.url, api_token="s3cret-token", read_timeout=5)
    yield provider
    provider.close()


def assert_contract(result: StatusResult) -> None:
    """Common to both adapters: a completion carries an acceptable PIN; nothing else carries one."""
    if result.outcome is Outcome.COMPLETED:
        assert isinstance(result.pin, str) and result.pin == result.pin.strip() and result.pin
        assert pin_problem(result.pin) is None
    else:
        assert result.outcome in (Outcome.QUERY_ERROR, Outcome.PROCESSING, Outcome.FAILED)
        assert result.pin is None


@PROPERTY
@given(body=znet_bodies)
@example(body=b"OK|2|AB\xff12|x")
@example(body=b"OK|2|AB\x0012|x")
def test_znet_any_reply_is_a_failed_query_or_a_faithful_answer(server, znet, body):
    server.body = body
    try:
        result = znet.fetch_status("R-1")
    except ProviderError:
        return
    assert_contract(result)
    if result.outcome is Outcome.COMPLETED:
        assert result.pin in body.decode("utf-8")  # strictly: had it not decoded, there would be no result


@PROPERTY
@given(body=batch_bodies)
@example(body=b'{"status": "OK", "data": [{"order_id": "7001", "status": "success", "pin": false}]}')
@example(body=b'{"status": "OK", "data": [{"order_id": "7001", "status": "done", "pin": "A\\u0000B"}]}')
def test_batch_any_reply_is_a_failed_query_or_a_faithful_answer(server, batch, body):
    server.body = body
    try:
        result = batch.fetch_statuses([REF])[REF]
    except ProviderError:
        return
    assert_contract(result)
    if result.outcome is Outcome.COMPLETED:
        data = json.loads(body.decode("utf-8"))["data"]
        sent = [entry["pin"] for entry in data if str(entry.get("order_id")).strip() == REF]
        assert isinstance(sent[-1], str) and sent[-1].strip() == result.pin


@PROPERTY
@given(pin=valid_pins)
def test_znet_a_valid_pin_comes_back_exactly(server, znet, pin):
    server.body = f"OK|2|{pin}|İşlem tamamlandı".encode()
    result = znet.fetch_status("R-2")
    assert (result.outcome, result.pin) == (Outcome.COMPLETED, pin.strip())


@PROPERTY
@given(pin=valid_pins, ascii_only=st.booleans())
def test_batch_a_valid_pin_comes_back_exactly(server, batch, pin, ascii_only):
    entry = {"order_id": REF, "status": "success", "pin": pin, "note": "tamam"}
    server.body = json.dumps({"status": "OK", "data": [entry]}, ensure_ascii=ascii_only).encode()
    result = batch.fetch_status(REF)
    assert (result.outcome, result.pin) == (Outcome.COMPLETED, pin.strip())
