"""The hand-written hot-path SQL reads and writes exactly what the ORM would (both passes)."""

import datetime as dt

import pytest
from django.db import connection

from django_order_monitor.engine import leases
from django_order_monitor.engine.pipeline import check_order
from django_order_monitor.models import MonitoredOrder, StatusCheck
from django_order_monitor.shop import orders
from tests.conftest import START
from tests.testapp.models import ProductOrder

pytestmark = pytest.mark.django_db(transaction=True)


def field_values(instance):
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


@pytest.fixture
def due_entry(clock, queue, make_order):
    order = make_order()
    entry = MonitoredOrder.objects.get(order=order)
    clock.move_to(entry.next_check_at)
    return entry


def test_claim_returns_the_row_as_the_orm_reads_it(due_entry):
    claimed = leases.claim(due_entry.pk)
    assert claimed is not None and len(claimed.lease_token) == 32
    # Every column, typed as the ORM types it (the order's UUID key, aware datetimes).
    assert field_values(claimed) == field_values(MonitoredOrder.objects.get(pk=due_entry.pk))
    assert claimed._state.adding is False and claimed._state.db == "default"


def test_claim_refuses_an_order_that_is_leased_not_due_or_ended(clock, due_entry):
    assert leases.claim(due_entry.pk) is not None
    assert leases.claim(due_entry.pk) is None  # leased
    MonitoredOrder.objects.filter(pk=due_entry.pk).update(lease_until=None, next_check_at=START + dt.timedelta(hours=1))
    assert leases.claim(due_entry.pk) is None  # not due
    assert leases.claim(due_entry.pk, force=True) is not None  # "check now" skips the due time, never the lease
    MonitoredOrder.objects.filter(pk=due_entry.pk).update(lease_until=None, state="completed")
    assert leases.claim(due_entry.pk, force=True) is None  # ended


def test_release_needs_the_lease_token_and_saves_the_changes(due_entry):
    claimed = leases.claim(due_entry.pk)
    assert leases.release(due_entry.pk, "0" * 32, answered_checks=9) is False
    assert leases.release(due_entry.pk, claimed.lease_token, answered_checks=9, last_error="x" * 10) is True
    entry = MonitoredOrder.objects.get(pk=due_entry.pk)
    assert (entry.answered_checks, entry.last_error, entry.lease_until, entry.lease_token) == (9, "x" * 10, None, "")


def test_old_sqlite_without_returning_claims_through_the_orm(due_entry, monkeypatch):
    if connection.vendor != "sqlite":
        pytest.skip("the fallback is chosen by the SQLite version")
    monkeypatch.setattr(connection.Database, "sqlite_version_info", (3, 31, 0))
    report = check_order(due_entry.pk)
    assert report.ran and report.result == "processing"
    assert StatusCheck.objects.filter(monitored_order=due_entry).count() == 1
    assert MonitoredOrder.objects.get(pk=due_entry.pk).lease_token == ""


def test_statuses_of_an_order_and_of_a_missing_one(make_order):
    order = make_order(external_status="sent", status="pending")
    assert orders.statuses(order.pk) == {"status": "pending", "external_status": "sent"}
    order_pk = order.pk
    order.delete()
    assert orders.statuses(order_pk) is None


@pytest.mark.parametrize(
    ("external_status", "written"),
    [("sent", True), ("SENT", True), ("Processing", True), ("completed", False), ("", False)],
)
def test_conditional_write_only_while_the_order_is_dispatched(make_order, external_status, written):
    order = make_order(external_status=external_status, referans=None)
    count = orders.write(order.pk, {"provider_message": "İşlem bekleniyor"}, only_if_external_in=["sent", "processing"])
    assert count == int(written)
    order.refresh_from_db()
    assert (order.provider_message == "İşlem bekleniyor") is written


def test_write_cuts_text_to_the_column_and_skips_unmapped_roles(make_order):
    order = make_order()
    limit = ProductOrder._meta.get_field("external_status").max_length
    assert orders.write(order.pk, {"external_status": "y" * (limit + 5), "no_such_role": 1}) == 1
    order.refresh_from_db()
    assert order.external_status == "y" * limit
