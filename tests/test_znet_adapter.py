"""Tests of the znet adapter against the real fake server over loopback (no mocks, no Django DB)."""

from __future__ import annotations

import logging
import threading
import traceback
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

import django_order_monitor
from django_order_monitor.exceptions import (
    NotMonitorable,
    ProviderConnectionError,
    ProviderError,
    ProviderRejected,
    ProviderResponseError,
    ProviderTimeout,
)
from django_order_monitor.providers.adapters.base import Outcome
from django_order_monitor.providers.adapters.http import RequestsProvider, redact_query
from django_order_monitor.providers.adapters.znet import (
    DUPLICATE_CODE,
    Balance,
    PlacedOrder,
    ZnetProvider,
    parse_status_reply,
)
from django_order_monitor.testing.fake_znet import FakeZnetServer, FaultConfig

KOD = "5551234567"
SIFRE = "Sup3r-S3cret!&="  # characters that get percent-encoded in the query
PIN = "AB12-CD34-EF56-GH78"


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock):
    with FakeZnetServer(kod=KOD, sifre=SIFRE, seed=3, time_scale=60, clock=clock) as server:
        yield server


@pytest.fixture
def znet(fake):
    provider = ZnetProvider(base_url=fake.url, kod=KOD, sifre=SIFRE, read_timeout=0.5)
    yield provider
    provider.close()


# -- parsing -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "outcome", "pin", "message", "status", "raw"),
    [
        ("OK|1| - |İşlem bekleniyor", Outcome.PROCESSING, None, "İşlem bekleniyor", "1",
         "OK|1| - |İşlem bekleniyor"),
        ("OK|1||Sırada|kuyruk 2", Outcome.PROCESSING, None, "Sırada|kuyruk 2", "1", "OK|1||Sırada|kuyruk 2"),
        ("OK|1| |x", Outcome.PROCESSING, None, "x", "1", "OK|1| |x"),
        (f"OK|2|{PIN}|İşlem tamamlandı|kanal 2", Outcome.COMPLETED, PIN, "İşlem tamamlandı|kanal 2", "2",
         "OK|2|***|İşlem tamamlandı|kanal 2"),
        (f"\ufeff  OK|2| {PIN} |Onay {PIN}\r\n", Outcome.COMPLETED, PIN, "Onay ***", "2", "OK|2|***|Onay ***"),
        (f"OK|2|{PIN}", Outcome.COMPLETED, PIN, "", "2", "OK|2|***"),
        ("OK|3| |İptal edildi|stok yok", Outcome.FAILED, None, "İptal edildi|stok yok", "3",
         "OK|3| |İptal edildi|stok yok"),
        ("OK|3| - |", Outcome.FAILED, None, "cancelled by the provider", "3", "OK|3| - |"),
    ],
)
def test_parse_ok_replies(reply, outcome, pin, message, status, raw):
    result = parse_status_reply(reply)
    assert (result.outcome, result.pin, result.message, result.provider_status, result.raw) == (
        outcome, pin, message, status, raw,
    )
    assert PIN not in repr(result)


@pytest.mark.parametrize(
    ("reply", "fragment"),
    [
        ("OK|2| - |İşlem tamamlandı", "completed without a PIN"),
        ("OK|2||x", "completed without a PIN"),
        ("OK|7|X|y", "unknown durum"),
        ("OK|3", "truncated"),
        ("3|Sipariş bulunamadı", "query failed: 3|Sipariş bulunamadı"),
        ("8|Bağlantı Hatası,Kullanıcı Api Yetki", "IP whitelist"),
        ("3|Sistem meşgul", "Sistem meşgul"),
        ("", "empty reply"),
        ("  \ufeff ", "empty reply"),
        ("<html><body>502 Bad Gateway</body></html>", "unrecognised reply"),
        ("\ufffd\x00<junk", "unrecognised reply"),
    ],
)
def test_parse_failed_queries(reply, fragment):
    result = parse_status_reply(reply)
    assert result.outcome is Outcome.QUERY_ERROR
    assert fragment in result.message
    assert result.pin is None
    # A query error's own code is not a durum: "3|..." must never read as cancelled.
    assert result.provider_status in ("", "2")


# -- status over HTTP ---------------------------------------------------------------


def test_each_outcome_over_http(fake, znet, clock):
    fake.add_order("C1", outcome="completed", delay=60, pin=PIN, description="İşlem tamamlandı|kanal 2")
    fake.add_order("F1", outcome="failed", delay=60)
    fake.add_order("N1", outcome="never")
    assert znet.fetch_status("C1").outcome is Outcome.PROCESSING
    clock.now += 1.0  # 60 provider seconds at time_scale=60
    done = znet.fetch_status("C1")
    assert (done.outcome, done.pin, done.message, done.raw) == (
        Outcome.COMPLETED, PIN, "İşlem tamamlandı|kanal 2", "OK|2|***|İşlem tamamlandı|kanal 2",
    )
    failed = znet.fetch_status("F1")
    assert (failed.outcome, failed.provider_status, failed.pin) == (Outcome.FAILED, "3", None)
    assert znet.fetch_status("N1").outcome is Outcome.PROCESSING


def test_no_pin_placeholders_over_http(fake, znet):
    # Drawn plans use " - ", "" and " " for "no PIN yet"; all read as PROCESSING.
    seen = set()
    for i in range(30):
        fake.add_order(f"W{i}", outcome="never")
        result = znet.fetch_status(f"W{i}")
        assert (result.outcome, result.pin) == (Outcome.PROCESSING, None)
        seen.add(result.raw.split("|")[2])
    assert seen == {" - ", "", " "}


def test_unknown_reference_is_a_query_error(znet):
    result = znet.fetch_status("nobody")
    assert result.outcome is Outcome.QUERY_ERROR
    assert "Sipariş bulunamadı" in result.message
    with pytest.raises(NotMonitorable):
        znet.fetch_status("  ")


def test_wrong_credentials(fake):
    wrong = ZnetProvider(base_url=fake.url, kod=KOD, sifre="not-the-password")
    fake.add_order("A1", outcome="completed")
    result = wrong.fetch_status("A1")
    assert result.outcome is Outcome.QUERY_ERROR and "IP whitelist" in result.message
    with pytest.raises(ProviderRejected, match="IP whitelist") as rejected:
        wrong.get_balance()
    assert rejected.value.code == ""
    with pytest.raises(ProviderRejected, match="IP whitelist") as refused:
        wrong.place_order("A2", oyun="1", kupur="10")
    assert refused.value.code == "8"


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("http_500", ProviderResponseError),
        ("slow", ProviderTimeout),
        ("drop", ProviderConnectionError),
        ("garbage", Outcome.QUERY_ERROR),
        ("empty", Outcome.QUERY_ERROR),
        ("query_error", Outcome.QUERY_ERROR),
    ],
)
def test_faults_map_to_failed_queries(fake, znet, fault, expected):
    fake.add_order("X1", outcome="completed", pin=PIN)
    fake.set_faults(FaultConfig(**{fault: 1.0}, slow_seconds=2.0))
    if isinstance(expected, Outcome):
        assert znet.fetch_status("X1").outcome is expected
    else:
        with pytest.raises(expected) as info:
            znet.fetch_status("X1")
        assert info.value.provider == "znet"
        assert "servis/pin_kontrol.php" in str(info.value)
        if fault == "http_500":
            assert info.value.status_code == 500
        if fault == "slow":
            assert str(info.value) == "znet: read timeout after 0.5s on servis/pin_kontrol.php"
    # Every garbage variant must be a failed query, never an order outcome: HTML is a
    # query error, bytes that are not UTF-8 a ProviderResponseError.
    if fault == "garbage":
        for i in range(12):
            fake.add_order(f"G{i}", outcome="failed")
            try:
                outcome = znet.fetch_status(f"G{i}").outcome
            except ProviderResponseError as err:
                assert str(err) == "znet: reply is not valid utf-8 text"
            else:
                assert outcome is Outcome.QUERY_ERROR
    fake.set_faults()
    assert znet.fetch_status("X1").pin == PIN


def test_connection_refused(fake):
    url = fake.url
    fake.stop()
    with pytest.raises(ProviderConnectionError, match=r"\(ConnectionRefusedError\)"):
        ZnetProvider(base_url=url, kod=KOD, sifre=SIFRE).fetch_status("A1")


def test_http_error_on_a_wrong_path(fake):
    provider = ZnetProvider(base_url=fake.url, kod=KOD, sifre=SIFRE, status_path="/servis/yok.php")
    with pytest.raises(ProviderResponseError, match=r"HTTP 404 on servis/yok\.php") as info:
        provider.fetch_status("A1")
    assert info.value.status_code == 404


def test_bom_is_stripped(fake, znet):
    fake.set_faults(bom=1.0)
    fake.add_order("B1", outcome="completed", pin=PIN)
    assert znet.fetch_status("B1").pin == PIN
    assert znet.get_balance().balance == Decimal("100000.00")


# -- orders and balance ------------------------------------------------------------


def test_place_order(fake, znet):
    placed = znet.place_order("P1", oyun="12", kupur="100", musteri_tel="5550001122", oyuncu_bilgi="player#1")
    assert isinstance(placed, PlacedOrder)
    assert placed.reference == "P1"
    assert placed.cost + placed.balance == Decimal("100000.00")
    assert fake.order("P1")["params"]["oyuncu_bilgi"] == "player#1"
    with pytest.raises(ProviderRejected) as duplicate:
        znet.place_order("P1", oyun="12", kupur="100")
    assert duplicate.value.code == DUPLICATE_CODE
    with pytest.raises(ProviderRejected) as missing:
        znet.place_order("P2", oyun="", kupur="100")
    assert missing.value.code == "3" and "oyun" in str(missing.value)


def test_place_order_with_an_unreadable_reply(fake, znet):
    fake.set_faults(garbage=1.0, endpoints={"pin_ekle"})
    with pytest.raises(ProviderResponseError, match="check its status"):
        znet.place_order("P3", oyun="1", kupur="1")
    fake.set_faults(empty=1.0, endpoints={"pin_ekle"})
    with pytest.raises(ProviderResponseError):
        znet.place_order("P4", oyun="1", kupur="1")


def test_balance(fake, znet):
    assert znet.get_balance() == Balance(Decimal("100000.00"), Decimal("0.00"))
    fake.set_faults(query_error=1.0, endpoints={"bakiye_kontrol"})
    with pytest.raises(ProviderRejected) as busy:
        znet.get_balance()
    assert busy.value.code == "3"
    fake.set_faults(garbage=1.0, endpoints={"bakiye_kontrol"})
    with pytest.raises(ProviderResponseError):
        znet.get_balance()


# -- configuration and session -----------------------------------------------------


def test_options():
    provider = ZnetProvider(base_url="http://znet.example", kod="k", sifre="s")
    assert provider.timeout == (5.0, 20.0)
    assert provider.base_url == "http://znet.example/"
    assert provider.status_path == "servis/pin_kontrol.php"
    assert ZnetProvider(base_url="http://x/", kod="k", sifre="s", connect_timeout=2, read_timeout=9).timeout == (2, 9)
    assert ZnetProvider(base_url="http://x/", kod="k", sifre="s", timeout=(1, 3)).timeout == (1, 3)
    for bad in ({"kod": "k"}, {"sifre": "s"}, {"kod": "k", "sifre": "s", "base_url": "ftp://x"},
                {"kod": "k", "sifre": "s", "read_timeout": 0}, {"kod": "k", "sifre": "s", "connect_timeout": "x"}):
        options = {"base_url": "http://x/", **bad}
        with pytest.raises(ImproperlyConfigured):
            ZnetProvider(**options)
    assert "s3" not in repr(ZnetProvider(base_url="http://x/", kod="k", sifre="s3cr3t"))


def test_check_options_for_the_system_checks():
    good = {"base_url": "https://bayi.example.com", "kod": "k", "sifre": "s"}
    assert ZnetProvider.check_options(good) == []
    assert ZnetProvider.check_options({"read_timeout": -1, "status_path": ""}) == [
        "option 'base_url' must be an http(s) URL",
        "option 'read_timeout' must be a positive number of seconds",
        "option 'kod' is required",
        "option 'sifre' is required",
        "option 'status_path' must be a path such as 'servis/pin_kontrol.php'",
    ]
    with pytest.raises(ImproperlyConfigured, match="znet provider: option 'sifre' is required"):
        ZnetProvider(base_url="http://x/", kod="k")


def test_one_lazy_session_per_instance():
    provider = ZnetProvider(base_url="http://x/", kod="k", sifre="s")
    assert provider._session is None
    sessions = []
    threads = [threading.Thread(target=lambda: sessions.append(provider.session)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(s) for s in sessions}) == 1
    assert sessions[0].headers["User-Agent"] == f"django-order-monitor/{django_order_monitor.__version__}"
    other = ZnetProvider(base_url="http://x/", kod="k", sifre="s")
    assert other.session is not provider.session
    provider.close()
    assert provider._session is None


def test_proxy_and_ca_bundle_from_the_environment_are_kept(monkeypatch, fake):
    # Read once when the session is made (not on every call), but still honoured.
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.shop.internal:3128")
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/shop/ca.pem")
    session = ZnetProvider(base_url="http://provider.example/", kod="k", sifre="s").session
    assert session.proxies["http"] == "http://proxy.shop.internal:3128"
    assert session.verify == "/etc/shop/ca.pem"
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    local = ZnetProvider(base_url=fake.url, kod="demo", sifre="demo-secret")
    assert local.session.proxies == {}
    assert local.fetch_status("REF-NOT-THERE").outcome is Outcome.QUERY_ERROR  # reached directly, no proxy


def test_redact_query():
    text = "GET /servis/pin_kontrol.php?kod=555&sifre=a%21b&tahsilat_api_islem_id=R1 (kod=9)"
    assert redact_query(text, {"kod", "sifre"}) == (
        "GET /servis/pin_kontrol.php?kod=***&sifre=***&tahsilat_api_islem_id=R1 (kod=***)"
    )
    assert redact_query("xkod=1", {"kod"}) == "xkod=1"
    assert issubclass(ZnetProvider, RequestsProvider)


# -- secrets -----------------------------------------------------------------------


def test_no_credential_or_pin_in_logs_or_exceptions(fake, znet, caplog, clock):
    """Drive every path with DEBUG logging on everywhere (urllib3 included)."""
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []

    def attempt(func, *args, **kwargs):
        try:
            result = func(*args, **kwargs)
        except ProviderError as err:
            # What a task boundary's logger.exception would print, chained cause included.
            texts.append("".join(traceback.format_exception(err)))
            texts.append(str(err))
            return None
        texts.append(repr(result))
        return result

    fake.add_order("S1", outcome="completed", pin=PIN, description=f"teslim {PIN}")
    attempt(znet.place_order, "S2", oyun="1", kupur="5")
    attempt(znet.fetch_status, "S1")
    attempt(znet.fetch_status, "S2")
    attempt(znet.get_balance)
    for fault in ("http_500", "garbage", "empty", "drop", "query_error"):
        fake.set_faults(FaultConfig(**{fault: 1.0}, endpoints={"pin_kontrol", "pin_ekle", "bakiye_kontrol"}))
        attempt(znet.fetch_status, "S1")
        attempt(znet.place_order, f"S-{fault}", oyun="1", kupur="5")
        attempt(znet.get_balance)
    fake.set_faults(FaultConfig(slow=1.0, slow_seconds=1.0))
    attempt(znet.fetch_status, "S1")
    fake.set_faults()
    wrong = ZnetProvider(base_url=fake.url, kod=KOD, sifre=SIFRE + "x")
    attempt(wrong.fetch_status, "S1")
    attempt(wrong.get_balance)
    attempt(wrong.place_order, "S3", oyun="1", kupur="5")
    url = fake.url
    fake.stop()
    attempt(znet.fetch_status, "S1")
    attempt(ZnetProvider(base_url=url, kod=KOD, sifre=SIFRE, connect_timeout=0.2).fetch_status, "S1")

    assert len(texts) > 20
    assert any("urllib3" in record.name for record in caplog.records)  # the risky logger did run
    logged = caplog.text + "\n".join(record.getMessage() for record in caplog.records)
    pins = {order["pin"] for order in fake.stats()["orders"].values() if order["pin"]} | {PIN}
    secrets = {SIFRE, "Sup3r-S3cret%21%26%3D", KOD} | pins
    for secret in secrets:
        assert secret not in logged, secret
        for text in texts:
            assert secret not in text, (secret, text)
