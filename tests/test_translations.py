"""The Arabic and Turkish admin, dashboard and commands, and the catalogs behind them.

The pages are requested inside ``translation.override``: the test settings have no
LocaleMiddleware, so the language stays the one the test activated (a shop sets
``LANGUAGE_CODE`` or adds LocaleMiddleware; docs/operators.rst, "Languages").
"""

import ast
import datetime as dt
import gettext
import io
import re
import uuid
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.test import Client
from django.utils import translation

import django_order_monitor
from django_order_monitor.models import MonitoredOrder, StatusCheck
from tests.conftest import START

LEDGER = "/admin/order_monitor/monitoredorder/"
DASHBOARD = f"{LEDGER}dashboard/"
LOCALE = Path(django_order_monitor.__file__).parent / "locale"
LANGUAGES = ("ar", "tr")


def staff(*codenames):
    user = User.objects.create_user(f"op{len(codenames)}", is_staff=True)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def ledger(clock, make_order, queue, settings):
    """One followed order with a failed query behind it, one completed 90 s after dispatch."""
    settings.ORDER_MONITOR_BACKOFF_JITTER = 0
    watching = MonitoredOrder.objects.get(order=make_order(id=uuid.UUID(int=1), referans="ZN-1"))
    StatusCheck.objects.create(monitored_order=watching, checked_at=START, latency_ms=20000, result="transport_error")
    done = MonitoredOrder.objects.get(order=make_order(id=uuid.UUID(int=2), referans="ZN-2"))
    MonitoredOrder.objects.filter(pk=done.pk).update(
        state="completed", dispatched_at=START - dt.timedelta(seconds=90), finished_at=START
    )
    StatusCheck.objects.create(monitored_order=done, checked_at=START, latency_ms=300, result="completed")
    queue.flush()
    return watching


def text(page: str) -> str:
    """The page's visible text, tags removed and whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


# -- the pages, in Arabic and Turkish ----------------------------------------------------------


@pytest.mark.django_db
def test_the_ledger_in_arabic_is_right_to_left_and_translated(ledger):
    operator = staff("view_monitoredorder", "change_monitoredorder")
    with translation.override("ar"):
        page = operator.get(LEDGER).content.decode()
    assert '<html lang="ar" dir="rtl">' in page
    shown = text(page)
    # Columns, the state badge, the filters, the actions and the dashboard link.
    for words in ("مرجع المزوّد", "الفحوص المُجابة", "الفحص التالي", "رمز PIN", "قيد المتابعة", "عالق",
                  "تجاوز المهلة النهائية", "فحص الحالة الآن", "تعليم كفاشل (يشغّل معالجة الفشل في المتجر)",
                  "لوحة المعلومات"):
        assert words in shown, words
    assert '<span class="om-state om-state-watching">قيد المتابعة</span>' in page
    assert "12:01:00 (بعد 1 د)" in shown  # the next check, its duration unit translated
    assert "Provider reference" not in shown and "Check status now" not in shown


@pytest.mark.django_db
def test_the_ledger_in_turkish(ledger):
    operator = staff("view_monitoredorder", "change_monitoredorder")
    with translation.override("tr"):
        page = operator.get(LEDGER).content.decode()
    assert '<html lang="tr" dir="ltr">' in page
    shown = text(page)
    for words in ("Sağlayıcı referansı", "Yanıtlanan kontroller", "izleniyor", "Durumu şimdi kontrol et",
                  "Gösterge paneli", "12:01:00 (1 dk sonra)"):
        assert words in shown, words


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "confirmation", "done"),
    [
        ("ar", "تعليم الطلبات كفاشلة", "عُلِّم طلب واحد كفاشل."),
        ("tr", "Siparişleri başarısız olarak işaretle", "1 sipariş başarısız olarak işaretlendi."),
    ],
)
def test_an_action_confirms_and_reports_in_the_operators_language(ledger, language, confirmation, done):
    operator = staff("view_monitoredorder", "change_monitoredorder")
    selection = {"action": "monitor_mark_failed", "_selected_action": [str(ledger.pk)]}
    with translation.override(language):
        asked = operator.post(LEDGER, {**selection, "index": 0}).content.decode()
        answered = operator.post(LEDGER, {**selection, "post": "yes", "reason": ""}, follow=True)
    assert confirmation in text(asked)
    assert [str(message) for message in get_messages(answered.wsgi_request)] == [done]
    ledger.refresh_from_db()
    assert ledger.state == "failed"


@pytest.mark.django_db
def test_order_ids_in_an_arabic_message_stay_left_to_right(ledger):
    """Unicode isolates around each id: otherwise "00000000-0000-..." shows its groups in reverse."""
    operator = staff("view_monitoredorder", "change_monitoredorder")
    data = {"action": "monitor_extend_deadline", "_selected_action": [str(ledger.pk + 1)], "index": 0}
    with translation.override("ar"):
        response = operator.post(LEDGER, data, follow=True)
        page = response.content.decode()
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        "تُخطّي طلب واحد، غير متابَع: \u206600000000-0000-0000-0000-000000000002\u2069."
    ]
    # The ledger's order column isolates its (shortened) ids too.
    assert '<bdi dir="ltr">00000000…</bdi>' in page


@pytest.mark.django_db
def test_plural_forms_follow_each_language(clock, make_order, queue):
    """Arabic has six forms (here: two, few, many), Turkish one form for every count."""
    operator = staff("view_monitoredorder", "change_monitoredorder")
    entries = [MonitoredOrder.objects.get(order=make_order()).pk for _ in range(11)]

    def extend(language, count):
        data = {"action": "monitor_extend_deadline", "_selected_action": [str(pk) for pk in entries[:count]], "index": 0}
        with translation.override(language):
            response = operator.post(LEDGER, data, follow=True)
        return [str(message) for message in get_messages(response.wsgi_request)]

    assert extend("ar", 2) == ["مُدِّدت المهلة النهائية لطلبين 24 ساعة."]
    assert extend("ar", 3) == ["مُدِّدت المهلة النهائية لـ 3 طلبات 24 ساعة."]
    assert extend("ar", 11) == ["مُدِّدت المهلة النهائية لـ 11 طلبًا 24 ساعة."]
    assert extend("tr", 3) == ["3 siparişin son süresi 24 saat uzatıldı."]


@pytest.mark.django_db
def test_the_dashboard_in_arabic(ledger):
    viewer = staff("view_monitoredorder")
    with translation.override("ar"):
        page = viewer.get(DASHBOARD).content.decode()
    assert '<html lang="ar" dir="rtl">' in page
    shown = text(page)
    for words in ("لوحة معلومات مراقبة الطلبات", "متابَعة الآن", "فحوص متأخرة", "الطلبات حسب الحالة (منذ البداية)",
                  "الوقت حتى رمز PIN (طلب مكتمل واحد)", "1 د 30 ث", "آخر ساعة", "نسبة الأخطاء", "معنى الأرقام"):
        assert words in shown, words
    # The charts: translated titles, and mirrored: laid out right to left, the count axis on the right
    # (its labels' end, their left side in RTL, 6 px right of the axis at 676).
    assert "<title>الوقت حتى رمز PIN للطلبات المكتملة في آخر 24 ساعة</title>" in page
    assert "<title>1–2 د — الطلبات: 1</title>" in page
    assert page.count('direction="rtl"') == 2
    assert '<text x="682.0" y="200.0" text-anchor="end" class="om-tick" fill="#555">0</text>' in page


@pytest.mark.django_db
def test_the_dashboard_in_turkish(ledger):
    viewer = staff("view_monitoredorder")
    with translation.override("tr"):
        page = viewer.get(DASHBOARD).content.decode()
    assert '<html lang="tr" dir="ltr">' in page
    shown = text(page)
    for words in ("Sipariş izleme gösterge paneli", "şu anda izlenen", "gecikmiş kontroller",
                  "PIN'e kadar geçen süre (1 tamamlanan sipariş)", "1 dk 30 sn", "son saat", "Rakamların anlamı"):
        assert words in shown, words
    # Left to right: the count axis on the left, as in English.
    assert '<text x="38.0" y="200.0" text-anchor="end" class="om-tick" fill="#555">0</text>' in page


@pytest.mark.django_db
def test_the_commands_speak_the_active_language(ledger):
    out = io.StringIO()
    with translation.override("ar"):
        call_command("order_monitor_explain", str(ledger.order_id), stdout=out)
        call_command("order_monitor_status", stdout=out)
    shown = out.getvalue()
    assert "الطلب 00000000-0000-0000-0000-000000000001" in shown
    assert "متابَع: قيد المتابعة." in shown
    assert "الفحص التالي في 2026-11-01 12:01:00 UTC (بعد 1 د) عبر مهمة متسلسلة" in shown
    assert "الوقت حتى رمز PIN، آخر 24 ساعة (طلب واحد): p50 1 د 30 ث" in shown
    assert "آخر مسح: بدأ –، انتهى –؛ متأخر" in shown


@pytest.mark.django_db
def test_a_reason_is_translated_for_operators_and_english_in_logs(make_order):
    from django_order_monitor.engine import following

    reason = following.why_not_monitorable(make_order(referans=None))
    with translation.override("tr"):
        assert str(reason) == "no provider reference"
        assert reason.translated() == "sağlayıcı referansı yok"


# -- the catalogs ------------------------------------------------------------------------------


def read_po(path: Path) -> list[dict]:
    """The entries of a .po file: msgid, msgid_plural, msgstr (a list: one per plural form), flags, obsolete."""
    entries, entry, field = [], None, None

    def start():
        return {"msgctxt": None, "msgid": "", "msgid_plural": None, "msgstr": {}, "flags": set(), "obsolete": False}

    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if not line:
            if entry is not None:
                entries.append(entry)
            entry, field = None, None
            continue
        entry = entry or start()
        if line.startswith("#~"):
            entry["obsolete"] = True
            continue
        if line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        if line.startswith('"'):
            value = ast.literal_eval(line)
        else:
            keyword, _, literal = line.partition(" ")
            value = ast.literal_eval(literal)
            field = keyword
            if keyword.startswith("msgstr"):
                index = int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0
                field = ("msgstr", index)
                entry["msgstr"][index] = ""
            else:
                entry[keyword] = ""
        if isinstance(field, tuple):
            entry["msgstr"][field[1]] += value
        else:
            entry[field] += value
    return entries


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\((\w+)\)", text))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_and_none_is_fuzzy(language):
    header, *entries = read_po(LOCALE / language / "LC_MESSAGES" / "django.po")
    assert header["msgid"] == "" and "fuzzy" not in header["flags"]
    forms = int(re.search(r"nplurals=(\d+)", header["msgstr"][0]).group(1))
    assert forms == {"ar": 6, "tr": 2}[language]
    assert len(entries) > 200
    for entry in entries:
        assert not entry["obsolete"], entry["msgid"]
        assert "fuzzy" not in entry["flags"], entry["msgid"]
        expected = forms if entry["msgid_plural"] is not None else 1
        assert sorted(entry["msgstr"]) == list(range(expected)), entry["msgid"]
        for index, translated in entry["msgstr"].items():
            assert translated.strip(), (entry["msgid"], index)
            # A translation uses no placeholder the English does not give it (a KeyError at run time).
            assert placeholders(translated) <= placeholders(entry["msgid"]), (entry["msgid"], index)
        if entry["msgid_plural"] is None:
            # One form for every count: it needs every value the English shows.
            assert placeholders(entry["msgstr"][0]) == placeholders(entry["msgid"]), entry["msgid"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalog_is_the_po_file(language):
    """django.mo says exactly what django.po says: run compilemessages after editing a .po file."""
    directory = LOCALE / language / "LC_MESSAGES"
    header, *entries = read_po(directory / "django.po")
    expected = {}
    for entry in entries:
        if entry["msgid_plural"] is None:
            expected[entry["msgid"]] = entry["msgstr"][0]
        else:
            expected.update({(entry["msgid"], i): text for i, text in entry["msgstr"].items()})
    with open(directory / "django.mo", "rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)._catalog
    catalog = {key: value for key, value in catalog.items() if key != ""}
    assert catalog == expected
