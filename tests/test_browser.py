"""The operators' pages in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Skipped when /usr/bin/chromium or playwright is missing, unless ORDER_MONITOR_TEST_BROWSER=1
(CI), which makes that a failure. Screenshots go to ORDER_MONITOR_SCREENSHOTS (a directory;
``docs/screenshots`` refreshes the documentation's) or to a temporary directory.
"""

import datetime as dt
import os
import re
import uuid
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from django_order_monitor.engine import transitions
from django_order_monitor.models import MonitoredOrder, StatusCheck
from django_order_monitor.providers.adapters.base import Outcome, StatusResult

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PIN = "7Q2M-XK4P-9RTA"

pytestmark = pytest.mark.django_db(transaction=True)


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    return None


@pytest.fixture(scope="module")
def browser():
    missing = _missing()
    if missing:
        if os.environ.get("ORDER_MONITOR_TEST_BROWSER") == "1":
            pytest.fail(f"ORDER_MONITOR_TEST_BROWSER=1 but {missing}", pytrace=False)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread while the browser
    # lives; the ORM calls the tests (and the database teardown) make around it are
    # ordinary synchronous code, which Django would otherwise refuse.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    target = os.environ.get("ORDER_MONITOR_SCREENSHOTS")
    path = Path(target) if target else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def open_as(browser, live_server):
    """``open_as(user)``: a page logged in as ``user``; fails the test on outside requests or JS errors."""
    contexts, outside, errors = [], [], []

    def open_as(user, color_scheme="light"):
        client = Client()
        client.force_login(user)
        context = browser.new_context(viewport={"width": 1600, "height": 900}, base_url=live_server.url, color_scheme=color_scheme)
        # The admin's navigation sidebar closed, as its toggle leaves it: more room for the tables.
        context.add_init_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
        page = context.new_page()
        page.on("request", lambda request: None if request.url.startswith(live_server.url) else outside.append(request.url))
        page.on("pageerror", lambda error: errors.append(str(error)))
        contexts.append(context)
        return page

    yield open_as
    for context in contexts:
        context.close()
    assert outside == [], "the pages must not load anything from another host"
    assert errors == []


def oid(n):
    """A stable order id that looks like a real one."""
    return uuid.uuid5(uuid.NAMESPACE_OID, f"order-{n}")


def staff(username, *codenames):
    user = User.objects.create_user(username, is_staff=True)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.fixture
def shop(make_order, queue):
    """A day of a small shop: completions, a failure, a timeout, waiting and overdue orders."""
    now = timezone.now()
    seconds = [12, 18, 25, 31, 44, 52, 65, 80, 95, 140, 200, 380, 610, 1500, 2400, 4200]
    for n, took in enumerate(seconds):
        dispatched = now - dt.timedelta(hours=22 - n * 1.3)
        order = make_order(id=oid(n + 1), referans=f"ZN{4711000 + n}", sent_at=dispatched)
        entry = MonitoredOrder.objects.get(order=order)
        MonitoredOrder.objects.filter(pk=entry.pk).update(dispatched_at=dispatched)
        for k in range(1 + n % 4):
            StatusCheck.objects.create(
                monitored_order=entry, checked_at=dispatched + dt.timedelta(seconds=took * k / 4), latency_ms=180 + 37 * k,
                result="processing" if k < n % 4 else "completed", provider_status="1",
            )
        result = StatusResult(Outcome.COMPLETED, pin=f"{PIN}-{n}", message="İşlem tamamlandı", provider_status="2")
        MonitoredOrder.objects.filter(pk=entry.pk).update(answered_checks=n % 4, last_provider_status="1")
        transitions.finish(entry, "completed", result=result, source="poll", now=dispatched + dt.timedelta(seconds=took))
        MonitoredOrder.objects.filter(pk=entry.pk).update(last_provider_status="2")
    failed = MonitoredOrder.objects.get(order=make_order(id=oid(100), referans="ZN4712001"))
    transitions.finish(failed, "failed", result=StatusResult(Outcome.FAILED, message="İptal edildi", provider_status="3"), source="poll")
    timed_out = MonitoredOrder.objects.get(order=make_order(id=oid(101), referans="ZN4712002"))
    transitions.finish(timed_out, "timed_out", source="deadline", message="no final answer by the deadline")
    for n in range(3):
        entry = MonitoredOrder.objects.get(order=make_order(id=oid(200 + n), referans=f"ZN47130{n:02d}"))
        StatusCheck.objects.create(monitored_order=entry, checked_at=now, latency_ms=20000, result="transport_error",
                                   message="ProviderTimeout: znet: read timeout after 20s")
    overdue = MonitoredOrder.objects.get(order_id=oid(202))
    MonitoredOrder.objects.filter(pk=overdue.pk).update(
        next_check_at=now - dt.timedelta(minutes=25), consecutive_failed_checks=3, failed_checks=3, last_error="ProviderTimeout: znet: read timeout after 20s"
    )
    queue.flush()  # the checks the hook enqueued are not this test's business
    return overdue


def test_dashboard(open_as, shop, shots):
    page = open_as(staff("operator", "view_monitoredorder"))
    page.goto("/admin/order_monitor/monitoredorder/dashboard/")
    assert page.title().startswith("Order monitoring dashboard")
    assert page.inner_text("#om-overdue") == "1\noverdue checks"
    # (The admin's CSS shows table headings in capitals.)
    assert page.inner_text("#om-states") == (
        "Orders by state (all time)\nWATCHING\tCOMPLETED\tFAILED\tTIMED OUT\tSTOPPED\n3\t16\t1\t1\t0"
    )
    # Both charts are drawn, visible, with bars in them.
    charts = page.locator("svg.om-chart")
    assert charts.count() == 2
    for index in range(2):
        box = charts.nth(index).bounding_box()
        assert box["width"] > 600 and box["height"] > 200
        assert charts.nth(index).locator("rect[fill='#2e7d32'], rect[fill='#1565c0']").count() > 3
    assert "Time to PIN (16 completed orders)" in page.inner_text("#om-time-to-pin")
    page.screenshot(path=shots / "dashboard.png", full_page=True)


def luminance(css_colour):
    """Relative luminance (0 black .. 1 white) of a computed ``rgb(...)`` colour."""
    red, green, blue = (int(part) / 255 for part in css_colour[css_colour.index("(") + 1 : css_colour.index(")")].split(",")[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_dashboard_in_the_admins_dark_mode(open_as, shop, shots):
    page = open_as(staff("operator", "view_monitoredorder"), color_scheme="dark")
    page.goto("/admin/order_monitor/monitoredorder/dashboard/")
    body = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert luminance(body) < 0.2  # the admin itself is dark
    charts = page.locator("svg.om-chart")
    assert charts.count() == 2
    for index in range(2):
        chart = charts.nth(index)
        # No white panel: the chart takes the page's background, its texts a light colour.
        assert chart.evaluate("svg => getComputedStyle(svg).backgroundColor") == body
        label = chart.locator("text.om-label").first
        assert luminance(label.evaluate("text => getComputedStyle(text).fill")) > 0.6
    cards = page.locator(".om-card")
    assert luminance(cards.first.evaluate("card => getComputedStyle(card).backgroundColor")) < 0.2
    page.screenshot(path=shots / "dashboard-dark.png", full_page=True)


def test_ledger_list_mark_failed_with_confirmation(open_as, shop, shots):
    page = open_as(staff("operator", "view_monitoredorder", "change_monitoredorder"))
    page.goto("/admin/order_monitor/monitoredorder/")
    assert PIN not in page.content()
    assert "••••••••" in page.inner_text("#result_list")
    page.screenshot(path=shots / "ledger.png")
    page.click("text=Dashboard")
    assert "/dashboard/" in page.url
    page.go_back()

    with page.expect_navigation():
        page.locator("#changelist-filter").get_by_role("link", name="overdue", exact=True).click()
    assert page.locator("#result_list tbody tr").count() == 1
    page.check("#result_list tbody input.action-select")
    page.select_option("select[name=action]", "monitor_mark_failed")
    page.click("button[name=index]")
    assert "Mark orders failed" in page.inner_text("h1")
    page.fill("#id_reason", "provider confirmed it will never deliver")
    page.screenshot(path=shots / "confirm-mark-failed.png")
    page.click("input[type=submit]")
    assert "Marked 1 order failed." in page.inner_text(".messagelist")
    shop.refresh_from_db()
    assert (shop.state, shop.last_message) == ("failed", "provider confirmed it will never deliver")


def test_pin_only_in_full_on_the_detail_page_with_the_permission(open_as, shop, shots):
    completed = MonitoredOrder.objects.get(order_id=oid(16))
    url = f"/admin/order_monitor/monitoredorder/{completed.pk}/change/"
    page = open_as(staff("operator", "view_monitoredorder"))
    page.goto(url)
    assert PIN not in page.content()
    support = open_as(staff("support", "view_monitoredorder", "view_pin"))
    support.goto(url)
    assert f"{PIN}-15" in support.inner_text("fieldset")
    assert support.locator("#checks-group tbody tr.has_original").count() == 4
    support.screenshot(path=shots / "ledger-detail.png", full_page=True)


def test_shop_order_list_with_the_mixin(open_as, shop, shots):
    page = open_as(staff("operator", "view_productorder", "change_productorder"))
    page.goto("/admin/testapp/productorder/")
    assert PIN not in page.content()
    assert page.locator("span.om-state-watching").count() == 3
    page.screenshot(path=shots / "orders.png")


# -- Arabic: the admin right to left -----------------------------------------------------------


@pytest.fixture
def arabic(settings):
    """The shop's LANGUAGE_CODE is Arabic (the live server's thread reads it: no LocaleMiddleware here)."""
    settings.LANGUAGE_CODE = "ar"


def test_dashboard_in_arabic_right_to_left(arabic, open_as, shop, shots):
    page = open_as(staff("operator", "view_monitoredorder"))
    page.goto("/admin/order_monitor/monitoredorder/dashboard/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.title().startswith("لوحة معلومات مراقبة الطلبات")
    assert page.inner_text("#om-overdue") == "1\nفحوص متأخرة"
    # An ISO date after Arabic words stays in its order (isolated left to right), not "01-11-2026".
    note = page.locator(".om-note bdi")
    assert note.evaluate("element => getComputedStyle(element).direction") == "ltr"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", note.inner_text())
    # Mirrored: the first card is the rightmost one, numbers sit at the cells' end (their left).
    cards = page.locator("#om-now .om-card")
    assert cards.nth(0).bounding_box()["x"] > cards.nth(1).bounding_box()["x"]
    states = page.locator("#om-states td.num")
    assert states.nth(0).evaluate("cell => getComputedStyle(cell).textAlign") == "end"
    assert states.nth(0).bounding_box()["x"] > states.nth(1).bounding_box()["x"]
    assert page.inner_text("#om-states").split("\n")[-1] == "3\t16\t1\t1\t0"
    # The charts too: the count axis on the right, the newest hour on the left.
    chart = page.locator("svg.om-chart").first
    box = chart.bounding_box()
    zero = chart.locator("text", has_text="0").first.bounding_box()
    assert zero["x"] > box["x"] + box["width"] * 0.9
    assert "الوقت حتى رمز PIN (16 طلبًا مكتملًا)" in page.inner_text("#om-time-to-pin")
    page.screenshot(path=shots / "dashboard-ar.png", full_page=True)


def test_ledger_in_arabic_right_to_left(arabic, open_as, shop, shots):
    page = open_as(staff("operator", "view_monitoredorder", "change_monitoredorder"))
    page.goto("/admin/order_monitor/monitoredorder/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert PIN not in page.content()
    header = page.inner_text("#result_list thead")
    for heading in ("مرجع المزوّد", "الحالة", "الفحوص المُجابة", "الفحص التالي", "رمز PIN"):
        assert heading in header
    assert page.locator("#result_list span.om-state-watching").first.inner_text() == "قيد المتابعة"
    # The filters sidebar on the left, the list on the right.
    assert page.locator("#changelist-filter").bounding_box()["x"] < page.locator("#result_list").bounding_box()["x"]
    page.screenshot(path=shots / "ledger-ar.png")
    with page.expect_navigation():
        page.locator("#changelist-filter").get_by_role("link", name="متأخر", exact=True).click()
    page.check("#result_list tbody input.action-select")
    page.select_option("select[name=action]", "monitor_mark_failed")
    page.click("button[name=index]")
    assert "تعليم الطلبات كفاشلة" in page.inner_text("h1")
    page.click("input[type=submit]")
    assert "عُلِّم طلب واحد كفاشل." in page.inner_text(".messagelist")
