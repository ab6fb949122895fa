"""Tests of the fake znet provider: plans, protocol, faults, reports and the CLI (no Django needed)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from django_order_monitor.testing.fake_znet import (
    REFERENCE_MIX,
    FakeZnetServer,
    FaultConfig,
    FaultKind,
    MixEntry,
    PlanOutcome,
    draw_plan,
    make_plan,
    parse_mix,
)
from django_order_monitor.testing.fake_znet.faults import parse_latency, parse_rate

PIN_RE = re.compile(r"^[A-Z0-9]{4}(-[A-Z0-9]{4}){3}$")
AUTH_ERROR = "8|Bağlantı Hatası,Kullanıcı Api Yetki, Kısıtlı Ip yada Kullanıcı Bilgileri Hatalı"
REPO_ROOT = Path(__file__).resolve().parents[1]


class FakeClock:
    """A clock the test moves by hand (epoch seconds)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock):
    with FakeZnetServer(kod="dealer", sifre="pw-123456", seed=7, time_scale=60, clock=clock) as server:
        yield server


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def call(http: requests.Session, fake: FakeZnetServer, endpoint: str, timeout: float = 5, **params: str):
    query = {"kod": fake.kod, "sifre": fake.sifre, **params}
    return http.get(f"{fake.url}servis/{endpoint}.php", params=query, timeout=timeout)


def check(http: requests.Session, fake: FakeZnetServer, referans: str) -> str:
    return call(http, fake, "pin_kontrol", tahsilat_api_islem_id=referans).text


# -- plans -------------------------------------------------------------------------


def test_reference_mix_fractions_and_delays():
    plans = [draw_plan(1, f"R{i}") for i in range(2000)]
    kinds = Counter(plan.kind for plan in plans)
    for entry in REFERENCE_MIX:
        assert kinds[entry.name] / 2000 == pytest.approx(entry.weight, abs=0.03), entry.name
    for plan in plans:
        entry = next(e for e in REFERENCE_MIX if e.name == plan.kind)
        assert plan.outcome is entry.outcome
        if plan.outcome is PlanOutcome.NEVER:
            assert plan.delay is None and plan.pin is None
        else:
            assert entry.min_delay <= plan.delay <= entry.max_delay
        if plan.outcome is PlanOutcome.COMPLETED:
            assert PIN_RE.match(plan.pin)
        else:
            assert plan.pin is None
        assert plan.no_pin_field in (" - ", "", " ")
    # Some terminal descriptions contain "|" so parsers that split naively are caught.
    terminal = [p for p in plans if p.outcome is not PlanOutcome.NEVER]
    piped = sum("|" in p.description for p in terminal) / len(terminal)
    assert 0.15 < piped < 0.35
    assert {p.no_pin_field for p in plans} == {" - ", "", " "}


def test_plans_are_reproducible_whatever_the_order():
    refs = [f"R{i}" for i in range(50)]
    forward = {ref: draw_plan(3, ref) for ref in refs}
    backward = {ref: draw_plan(3, ref) for ref in reversed(refs)}
    assert forward == backward
    assert [draw_plan(4, ref) for ref in refs] != list(forward.values())


def test_parse_mix():
    assert parse_mix("reference") is REFERENCE_MIX
    mix = parse_mix("completed:5-30=0.5, failed:10=0.25, never=0.25")
    assert [(e.outcome, e.min_delay, e.max_delay, e.weight) for e in mix] == [
        (PlanOutcome.COMPLETED, 5.0, 30.0, 0.5),
        (PlanOutcome.FAILED, 10.0, 10.0, 0.25),
        (PlanOutcome.NEVER, 0.0, 0.0, 0.25),
    ]
    for bad in ("done:1-2=0.5", "completed:5-30", "completed:30-5=1", ","):
        with pytest.raises(ValueError):
            parse_mix(bad)


def test_custom_mix_and_make_plan():
    mix = (MixEntry("all-fail", 1.0, PlanOutcome.FAILED, 1, 2),)
    assert {draw_plan(0, f"R{i}", mix).outcome for i in range(20)} == {PlanOutcome.FAILED}
    plan = make_plan("completed", 12, referans="X", pin="PIN-1")
    assert (plan.outcome, plan.delay, plan.pin) == (PlanOutcome.COMPLETED, 12, "PIN-1")
    assert PIN_RE.match(make_plan("completed", 1, referans="X").pin)
    assert make_plan("never", 99).delay is None
    assert make_plan("failed", 3).pin is None
    with pytest.raises(ValueError):
        make_plan("failed", None)


def test_fault_config_validation_and_parsers():
    with pytest.raises(ValueError, match="more than 1"):
        FaultConfig(http_500=0.6, drop=0.5)
    with pytest.raises(ValueError):
        FaultConfig(garbage=1.5)
    with pytest.raises(ValueError):
        FaultConfig(endpoints={"nope"})
    with pytest.raises(ValueError):
        FaultConfig(slow_seconds=10_000)
    assert FaultConfig(outage="drop").outage is FaultKind.DROP
    assert parse_latency(None) == (0, 0)
    assert parse_latency(50) == (50, 50)
    assert parse_latency("20-200") == (20, 200)
    assert parse_latency((5, 10)) == (5, 10)
    with pytest.raises(ValueError):
        parse_latency("9-1")
    assert parse_rate("http_500=0.05") == ("http_500", 0.05)
    with pytest.raises(ValueError):
        parse_rate("teapot=1")


# -- protocol ----------------------------------------------------------------------


def test_pin_ekle(fake, http):
    reply = call(http, fake, "pin_ekle", oyun="12", kupur="100", referans="A1", musteri_tel="", oyuncu_bilgi="p1")
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert re.fullmatch(r"OK\|\d+\.\d\d\|\d+\.\d\d", reply.text)
    _, cost, balance = reply.text.split("|")
    assert float(cost) + float(balance) == pytest.approx(100_000)
    again = call(http, fake, "pin_ekle", oyun="12", kupur="100", referans="A1")
    assert again.content.decode("utf-8") == "4|Daha Önce Gönderilmiş"
    missing = call(http, fake, "pin_ekle", oyun="12", referans="A2").text
    assert missing.startswith("3|") and "kupur" in missing
    wrong = http.get(f"{fake.url}servis/pin_ekle.php",
                     params={"kod": fake.kod, "sifre": "nope", "oyun": "1", "kupur": "1", "referans": "A3"})
    assert wrong.text == AUTH_ERROR
    order = fake.order("A1")
    assert order["source"] == "pin_ekle"
    assert order["params"] == {"oyun": "12", "kupur": "100", "referans": "A1", "musteri_tel": "", "oyuncu_bilgi": "p1"}
    assert fake.order("A3") is None


def test_order_lifecycle_follows_the_scaled_delay(fake, http, clock):
    # time_scale=60: a 120 s provider delay takes 2 wall seconds.
    added = fake.add_order("L1", outcome="completed", delay=120, pin="AB12-CD34-EF56-GH78",
                           description="İşlem tamamlandı|kanal 2")
    assert added["terminal_at"] == pytest.approx(added["dispatched_at"] + 2.0)
    waiting = check(http, fake, "L1")
    assert re.fullmatch(r"OK\|1\|( - | |)\|.+", waiting)
    clock.advance(1.99)
    assert check(http, fake, "L1").startswith("OK|1|")
    clock.advance(0.01)
    assert check(http, fake, "L1") == "OK|2|AB12-CD34-EF56-GH78|İşlem tamamlandı|kanal 2"

    fake.add_order("F1", outcome="failed", delay=60)
    clock.advance(1)
    assert re.fullmatch(r"OK\|3\|( - | |)\|İptal edildi", check(http, fake, "F1"))

    fake.add_order("N1", outcome="never")
    clock.advance(10 * 86400)
    assert check(http, fake, "N1").startswith("OK|1|")

    order = fake.order("L1")
    assert order["polls"] == 3
    assert order["terminal_reported_poll"] == 3
    assert order["terminal_reported_at"] == pytest.approx(order["terminal_at"])
    assert order["durum_now"] == 2


def test_drawn_orders_cover_every_reply_shape(clock):
    mix = parse_mix("completed:0-0=0.5,failed:0-0=0.5")
    with FakeZnetServer(seed=5, mix=mix, clock=clock) as fake, requests.Session() as http:
        replies = []
        for i in range(40):
            call(http, fake, "pin_ekle", oyun="1", kupur="5", referans=f"D{i}")
            replies.append(check(http, fake, f"D{i}"))
    durums = Counter(reply.split("|")[1] for reply in replies)
    assert set(durums) == {"2", "3"}
    assert any(len(reply.split("|")) > 4 for reply in replies)  # a "|" inside a description


def test_unknown_reference_and_auto_register(fake, http, clock):
    assert check(http, fake, "nobody") == "3|Sipariş bulunamadı"
    assert fake.order("nobody") is None
    with FakeZnetServer(kod="dealer", sifre="pw-123456", seed=7, auto_register=True, clock=clock) as auto:
        first = check(http, auto, "shop-42")
        assert first.startswith("OK|")
        order = auto.order("shop-42")
        assert order["source"] == "auto_register" and order["polls"] == 1
        assert order["dispatched_at"] == clock.now
        assert order["plan"] == draw_plan(7, "shop-42").as_dict()


def test_wrong_credentials(fake, http):
    base = f"{fake.url}servis/"
    wrong = {"kod": "x", "sifre": "y", "tahsilat_api_islem_id": "A"}
    assert http.get(base + "pin_kontrol.php", params=wrong).text == AUTH_ERROR
    empty = http.get(base + "bakiye_kontrol.php", params={"kod": fake.kod, "sifre": "wrong"})
    assert (empty.status_code, empty.content) == (200, b"")
    assert call(http, fake, "bakiye_kontrol").text == "OK|100000.00|0.00"
    assert call(http, fake, "pin_kontrol").text.startswith("3|Eksik parametre")
    assert http.get(f"{fake.url}servis/other.php").status_code == 404


def test_max_orders_bounds_memory(clock):
    with FakeZnetServer(seed=1, max_orders=2, clock=clock) as fake, requests.Session() as http:
        replies = [call(http, fake, "pin_ekle", oyun="1", kupur="1", referans=f"M{i}").text for i in range(3)]
        assert [r[:3] for r in replies] == ["OK|", "OK|", "3|S"]
        with pytest.raises(ValueError):
            fake.add_order("M9")


# -- faults ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [k for k in FaultKind if k is not FaultKind.SLOW])
def test_each_fault_kind(fake, http, kind):
    fake.add_order("X1", outcome="completed")
    fake.set_faults(**{kind.value: 1.0})
    if kind is FaultKind.DROP:
        with pytest.raises(requests.ConnectionError):
            check(http, fake, "X1")
    else:
        reply = call(http, fake, "pin_kontrol", tahsilat_api_islem_id="X1")
        body = reply.content
        if kind is FaultKind.HTTP_500:
            assert reply.status_code == 500
        elif kind is FaultKind.GARBAGE:
            assert reply.status_code == 200 and body and not body.startswith(b"OK|")
        elif kind is FaultKind.EMPTY:
            assert (reply.status_code, body) == (200, b"")
        else:
            assert reply.text == "3|Sistem meşgul"
    assert fake.stats()["faults_injected"] == {kind.value: 1}
    fake.set_faults()
    assert check(http, fake, "X1").startswith("OK|2|")


def test_slow_reply_outlasts_a_short_read_timeout(fake, http):
    fake.add_order("S1", outcome="completed")
    fake.set_faults(slow=1.0, slow_seconds=1.0)
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        call(http, fake, "pin_kontrol", timeout=0.2, tahsilat_api_islem_id="S1")
    assert time.monotonic() - started < 0.9


def test_fault_rates_are_seeded_and_limited_to_their_endpoints(clock):
    def run() -> list[int]:
        config = FaultConfig(http_500=0.3)
        with FakeZnetServer(seed=11, faults=config, clock=clock) as fake, requests.Session() as http:
            codes = [call(http, fake, "pin_ekle", oyun="1", kupur="1", referans=f"P{i}").status_code
                     for i in range(5)]
            assert codes == [200] * 5  # pin_ekle is not in the default fault endpoints
            return [call(http, fake, "pin_kontrol", tahsilat_api_islem_id=f"P{i % 40}").status_code
                    for i in range(120)]

    first, second = run(), run()
    assert first == second
    assert first.count(500) / len(first) == pytest.approx(0.3, abs=0.1)


def test_outage_and_latency(fake, http):
    fake.set_outage("http_500")
    for endpoint in ("pin_ekle", "pin_kontrol", "bakiye_kontrol"):
        assert call(http, fake, endpoint).status_code == 500
    fake.set_outage(None)
    assert call(http, fake, "bakiye_kontrol").status_code == 200
    fake.set_latency(150)
    started = time.monotonic()
    call(http, fake, "bakiye_kontrol")
    assert time.monotonic() - started >= 0.14
    assert fake.faults.latency_ms == (150, 150)
    assert fake.update_faults(empty=0.5).latency_ms == (150, 150)  # update keeps other fields
    assert fake.set_faults(empty=0.5).latency_ms == (0, 0)  # set replaces the whole config


def test_bom_quirk(fake, http):
    fake.set_faults(bom=1.0)
    fake.add_order("B1", outcome="failed")
    assert call(http, fake, "pin_kontrol", tahsilat_api_islem_id="B1").content.startswith(b"\xef\xbb\xbfOK|3|")


# -- reports and control endpoints -------------------------------------------------


def test_stats_and_control_endpoints(fake, http, clock):
    call(http, fake, "pin_ekle", oyun="1", kupur="1", referans="S1")
    for _ in range(3):
        check(http, fake, "S1")
    check(http, fake, "ghost")
    stats = http.get(f"{fake.url}_fake/stats").json()
    assert stats == json.loads(json.dumps(fake.stats()))
    assert stats["calls"] == {"pin_ekle": 1, "pin_kontrol": 4}
    assert stats["calls_per_referans"] == {"S1": 3, "ghost": 1}
    order = stats["orders"]["S1"]
    assert order["polls"] == 3 and order["plan"] == draw_plan(7, "S1").as_dict()
    assert order["pin"] == order["plan"]["pin"]
    if order["terminal_at"] is not None:
        assert order["terminal_at"] == pytest.approx(order["dispatched_at"] + order["plan"]["delay"] / 60)
    assert stats["config"]["seed"] == 7 and stats["config"]["time_scale"] == 60
    assert stats["summary"]["orders"] == 1

    assert http.get(f"{fake.url}_fake/orders/S1").json()["referans"] == "S1"
    assert http.get(f"{fake.url}_fake/orders/none").status_code == 404
    made = http.post(f"{fake.url}_fake/orders", json={"referans": "C1", "outcome": "completed", "delay": 0}).json()
    assert made["outcome"] == "completed"
    assert check(http, fake, "C1") == f"OK|2|{made['pin']}|İşlem tamamlandı"
    faults = http.post(f"{fake.url}_fake/faults", json={"empty": 0.5, "endpoints": ["pin_kontrol", "pin_ekle"]}).json()
    assert faults["empty"] == 0.5 and fake.faults.endpoints == {"pin_kontrol", "pin_ekle"}
    assert http.post(f"{fake.url}_fake/faults", json={"empty": 2}).status_code == 400
    assert http.post(f"{fake.url}_fake/faults", json={"replace": True}).json()["empty"] == 0
    assert http.post(f"{fake.url}_fake/reset").json() == {"ok": True}
    after = fake.stats()
    assert after["orders"] == {} and after["calls"] == {} and after["balance"] == 100_000


def test_call_log_keeps_the_last_requests_with_their_times(http, clock):
    with FakeZnetServer(seed=7, clock=clock, call_log=3) as fake:
        call(http, fake, "pin_ekle", oyun="1", kupur="1", referans="L1")
        for _ in range(3):
            clock.advance(0.25)
            check(http, fake, "L1")
        # Bounded: the oldest request fell out; a fault-free request is logged on arrival.
        assert fake.calls_logged() == [
            (clock.now - 0.5, "pin_kontrol"), (clock.now - 0.25, "pin_kontrol"), (clock.now, "pin_kontrol"),
        ]
        fake.reset()
        assert fake.calls_logged() == []
    with FakeZnetServer(seed=7, clock=clock) as fake:  # off by default
        check(http, fake, "L1")
        assert fake.calls_logged() == []
    with pytest.raises(ValueError):
        FakeZnetServer(call_log=-1)


def test_stop_ends_keep_alive_connections(clock):
    fake = FakeZnetServer(seed=1, clock=clock).start()
    url = f"{fake.url}servis/bakiye_kontrol.php"
    query = {"kod": fake.kod, "sifre": fake.sifre}
    with requests.Session() as http:
        assert http.get(url, params=query, timeout=5).status_code == 200
        fake.stop()
        fake.stop()  # idempotent
        assert not fake.running
        # The session's kept-alive connection must not be served by a leftover thread.
        with pytest.raises(requests.ConnectionError):
            http.get(url, params=query, timeout=2)


def test_cli_serves_until_sigterm():
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "django_order_monitor.testing.fake_znet", "--port", "0", "--seed", "1",
         "--time-scale", "60", "--kod", "cli", "--sifre", "cli-secret", "--fault-rate", "http_500=0,empty=0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert match, line + proc.stderr.read()
        assert "cli-secret" not in line
        url = match.group(1)
        assert requests.get(url + "servis/bakiye_kontrol.php", params={"kod": "cli", "sifre": "cli-secret"},
                            timeout=5).text == "OK|100000.00|0.00"
        assert requests.get(url + "_fake/stats", timeout=5).json()["config"]["time_scale"] == 60
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "stopped" in out


def test_cli_rejects_bad_options():
    from django_order_monitor.testing.fake_znet.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--fault-rate", "teapot=1"])
    assert exit_info.value.code == 2
