"""The admin dashboard and the figures behind it (django_order_monitor.engine.stats)."""

import datetime as dt
import re
import uuid

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from django_order_monitor.engine import percentiles, stats
from django_order_monitor.models import MonitoredOrder, StatusCheck
from tests.conftest import START

pytestmark = pytest.mark.django_db

DASHBOARD = "/admin/order_monitor/monitoredorder/dashboard/"
MINUTE = dt.timedelta(minutes=1)


def ledger(n, *, state="watching", dispatched=START, **fields):
    fields.setdefault("deadline_at", dispatched + dt.timedelta(hours=24))
    return MonitoredOrder.objects.create(
        order_id=uuid.UUID(int=n), provider="memory", reference=f"R-{n}", state=state, dispatched_at=dispatched, **fields
    )


@pytest.fixture
def figures(clock):
    """Three completed orders (40 s, 90 s, 20 min to PIN), one timed out, one overdue, one stuck."""
    for n, seconds in enumerate((40, 90, 1200), start=1):
        entry = ledger(n, state="completed", dispatched=START - dt.timedelta(hours=2), finished_at=START
                       - dt.timedelta(hours=2) + dt.timedelta(seconds=seconds))
        StatusCheck.objects.create(monitored_order=entry, checked_at=START - 30 * MINUTE, latency_ms=100 * n, result="completed")
    ledger(4, state="timed_out", dispatched=START - dt.timedelta(hours=25), finished_at=START - 60 * MINUTE)
    ledger(5, next_check_at=START - 20 * MINUTE)
    stuck = ledger(6, next_check_at=START + MINUTE, consecutive_failed_checks=3)
    StatusCheck.objects.create(monitored_order=stuck, checked_at=START - 5 * MINUTE, latency_ms=20000, result="transport_error")


def staff_client(*codenames):
    user = User.objects.create_user(f"u{len(codenames)}", is_staff=True)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


def text_of(page, element_id):
    """The visible text of the element with ``element_id``, whitespace collapsed."""
    match = re.search(rf'id="{element_id}".*?</(?:table|a|div)>', page, re.S)
    assert match, element_id
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(0).split(">", 1)[1]).split())


def test_dashboard_shows_the_figures(figures):
    page = staff_client("view_monitoredorder").get(DASHBOARD).content.decode()
    assert 'Figures at <bdi dir="ltr">2026-11-01 12:00:00 UTC</bdi>.' in page
    assert text_of(page, "om-states") == (
        "Orders by state (all time) Watching Completed Failed Timed out Stopped 2 3 0 1 0"
    )
    assert text_of(page, "om-overdue") == "1 overdue checks"
    assert text_of(page, "om-time-to-pin") == (
        "Time to PIN (3 completed orders) p50 p90 p99 checks per order 1 min 30 s 16 min 18 s 19 min 38 s 0.8 (max 1)"
    )
    # Last hour: three answers and one timeout (25 %: an alarm row); the day has the same four.
    row = r'<tr class="om-alarm"><td>memory</td><td>{}</td><td class="num">4</td>\s*<td class="num">1</td><td class="num">25.0%</td>'
    assert re.search(row.format("last hour"), page) and re.search(row.format("last 24 hours"), page)
    # Explanations of every figure are on the page.
    for term in ("Overdue checks", "Past their quick attempts", "Stuck", "Time to PIN", "Checks per order", "Error rate"):
        assert f"<dt>{term}" in page


def test_dashboard_charts_are_inline_svg_without_outside_resources(figures):
    page = staff_client("view_monitoredorder").get(DASHBOARD).content.decode()
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="om-chart"') == 2
    assert "<title>Orders ended per hour, last 24 hours</title>" in page
    assert "<title>1–2 min — orders: 1</title>" in page  # the 90 s order in its histogram bucket
    # Nothing is loaded from another host: no CDN, no internet needed.
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_dashboard_needs_staff_with_the_view_permission(figures, client):
    assert client.get(DASHBOARD).status_code == 302  # to the admin login
    assert staff_client().get(DASHBOARD).status_code == 403
    assert staff_client("view_monitoredorder").get(DASHBOARD).status_code == 200


def test_ledger_list_links_to_the_dashboard(admin_client):
    assert f'href="{DASHBOARD}"' in admin_client.get("/admin/order_monitor/monitoredorder/").content.decode()


def test_dashboard_query_count_does_not_grow_with_the_ledger(figures):
    client = staff_client("view_monitoredorder")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(DASHBOARD).status_code == 200
        return len(captured)

    before = queries()
    for n in range(100, 160):
        entry = ledger(n, state="completed", finished_at=START, dispatched=START - MINUTE)
        StatusCheck.objects.create(monitored_order=entry, checked_at=START, latency_ms=5, result="completed")
    # Session and user, then about twelve aggregates (on SQLite, two latency samples per provider;
    # on MariaDB one more: the newest orders' ids read before the IN that may not hold a LIMIT).
    assert queries() == before <= (21 if connection.vendor == "mysql" else 20)


def test_snapshot_on_an_empty_ledger(clock):
    snap = stats.snapshot()
    assert snap.by_state == {"watching": 0, "completed": 0, "failed": 0, "timed_out": 0, "stopped": 0}
    assert snap.time_to_pin == stats.Percentiles(0)
    assert snap.providers == []
    assert len(snap.ended_by_hour) == 24 and snap.ended_by_hour[-1]["hour"] == START


def test_overdue_means_later_than_the_sweep_promises(clock, settings):
    settings.ORDER_MONITOR_LOST_TASK_GRACE = 60
    settings.ORDER_MONITOR_SWEEP_INTERVAL = 300
    on_time = ledger(1, next_check_at=START - 6 * MINUTE)
    late = ledger(2, next_check_at=START - 6 * MINUTE - dt.timedelta(seconds=1))
    ledger(3, next_check_at=START - 60 * MINUTE, lease_until=START + MINUTE, lease_token="t")  # being checked
    ledger(4, state="stopped", next_check_at=START - 60 * MINUTE)
    assert list(MonitoredOrder.objects.filter(stats.overdue_q(START))) == [late]
    assert on_time not in MonitoredOrder.objects.filter(stats.overdue_q(START))


def test_stuck_kinds(clock):
    past = ledger(1, deadline_at=START - 10 * MINUTE)
    failing = ledger(2, consecutive_failed_checks=3)
    abandoned = ledger(3, lease_until=START - MINUTE, lease_token="t")
    ledger(4, consecutive_failed_checks=2, deadline_at=START - MINUTE)
    ledger(5, state="failed", consecutive_failed_checks=9)

    def pks(kind):
        return sorted(e.pk for e in MonitoredOrder.objects.filter(stats.stuck_q(kind, START)))

    assert pks("past_deadline") == [past.pk]
    assert pks("failing") == [failing.pk]
    assert pks("lease") == [abandoned.pk]
    assert pks("any") == sorted([past.pk, failing.pk, abandoned.pk])


def test_percentiles_interpolate_like_percentile_cont():
    assert percentiles.interpolate([], 0.5) is None
    assert percentiles.interpolate([7.0], 0.99) == 7.0
    assert percentiles.interpolate([10, 20, 30, 100], 0.5) == 25
    assert percentiles.interpolate([10, 20, 30, 100], 0.9) == pytest.approx(79)


def test_sampled_percentiles_say_they_are_sampled(clock, monkeypatch):
    monkeypatch.setattr(percentiles, "SAMPLE_SIZE", 2)
    entry = ledger(1)
    for n, latency in enumerate((1000, 10, 20)):
        StatusCheck.objects.create(monitored_order=entry, checked_at=START - n * MINUTE, latency_ms=latency)
    from django.db.models import F

    result = percentiles.sampled(StatusCheck.objects.all(), F("latency_ms"), "-checked_at", 3)
    # The two newest values only (1000 and 10), flagged.
    assert (result.n, result.p50, result.p90, result.p99, result.sampled) == (
        3, pytest.approx(505), pytest.approx(901), pytest.approx(990.1), True
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "–"), (0.4, "0 s"), (59, "59 s"), (60, "1 min"), (90, "1 min 30 s"), (3600, "1 h"), (3660, "1 h 1 min"),
     (86400, "1 d"), (90000, "1 d 1 h")],
)
def test_humanize_seconds(seconds, text):
    assert stats.humanize_seconds(seconds) == text


def test_the_dashboard_shows_when_the_providers_call_budget_is_the_limit(clock, settings):
    """600 calls in the last 5 minutes against 2 calls/s allowed, and checks waiting: red."""
    settings.ORDER_MONITOR_RATE_LIMIT = {"min_interval": 0.5, "max_concurrent": 4, "max_wait": 10}
    busy = ledger(1, next_check_at=START - 90 * dt.timedelta(seconds=1))
    ledger(2, next_check_at=START - 30 * dt.timedelta(seconds=1))
    ledger(3, next_check_at=START + MINUTE)  # not due yet
    StatusCheck.objects.bulk_create(
        StatusCheck(monitored_order=busy, checked_at=START - dt.timedelta(seconds=n % 290), latency_ms=5, result="processing")
        for n in range(600)
    )
    StatusCheck.objects.create(monitored_order=busy, checked_at=START - 6 * MINUTE, latency_ms=5, result="processing")

    (load,) = stats.snapshot().loads
    assert (load.provider, load.limit_per_second, load.calls_per_second, load.due_now, load.oldest_due_seconds) == (
        "memory", 2.0, 2.0, 2, 90.0,
    )
    page = staff_client("view_monitoredorder").get(DASHBOARD).content.decode()
    row = (
        r'<tr class="om-alarm"><td>memory</td><td class="num">2</td><td class="num">2.00</td>\s*'
        r'<td class="num">0.00</td><td class="num">100%</td><td class="num">–</td><td class="num">2</td><td class="num">1 min 30 s</td></tr>'
    )
    assert re.search(row, page), page[page.index("om-budget") :][:800]


def test_the_dashboard_shows_the_dispatch_calls_and_the_chance_a_check_needs(clock, settings):
    """Dispatch through the adapter takes its calls first; over-demand raises the chance needed."""
    from django_order_monitor.engine import budget
    from django_order_monitor.providers import ratelimit

    settings.ORDER_MONITOR_RATE_LIMIT = {"min_interval": 0.01, "max_concurrent": 4, "max_wait": 10}
    settings.ORDER_MONITOR_BUDGET = {"BURST": 0.5}  # 50 calls saved up at most
    ratelimit.reset_backend()
    budget.reset()
    try:
        ledger(1, next_check_at=START - 30 * dt.timedelta(seconds=1))
        spending = budget.for_provider("memory")
        spending.admit(lambda moment: 0.5, START.timestamp() - 60, START.timestamp())
        for _ in range(60):  # what place_order does around each pin_ekle call
            with ratelimit.call_slot("memory", dispatch=True):
                pass
        for _ in range(40):  # dispatch took every call saved up: the due checks find none
            spending.admit(lambda moment: 0.5, START.timestamp() - 60, START.timestamp())

        (load,) = stats.snapshot().loads
        assert load.dispatch_per_second == pytest.approx(1.0)  # 60 calls, averaged over a minute
        assert load.chance_needed > 0
        page = staff_client("view_monitoredorder").get(DASHBOARD).content.decode()
        row = r'<td>memory</td><td class="num">100</td><td class="num">0.00</td>\s*<td class="num">1.00</td><td class="num">1%</td><td class="num">\d+%</td>'
        assert re.search(row, page), page[page.index("om-budget") :][:800]
    finally:
        budget.reset()
        ratelimit.reset_backend()


def test_time_to_pin_is_exact_for_long_waits_on_every_database(clock):
    """Hours and days to PIN (MariaDB's percentile_cont caps its result at 1e8: counted in microseconds, 100 s)."""
    waits = [40, 3 * 3600, 26 * 3600, 47 * 3600]
    for n, seconds in enumerate(waits, start=1):
        dispatched = START - dt.timedelta(hours=48)
        ledger(n, state="completed", dispatched=dispatched, finished_at=dispatched + dt.timedelta(seconds=seconds))
    result = stats.time_to_pin(START - dt.timedelta(hours=48))
    wanted = [percentiles.interpolate(waits, p / 100) for p in (50, 90, 99)]
    assert (result.n, result.sampled) == (4, False)
    assert [result.p50, result.p90, result.p99] == [pytest.approx(value) for value in wanted]
