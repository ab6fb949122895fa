"""Structured logs: every engine record names its order, provider and reference, never the PIN."""

import datetime as dt
import json
import logging
import re
from pathlib import Path

import pytest

from django_order_monitor.engine import transitions
from django_order_monitor.engine.following import stop_monitoring
from django_order_monitor.engine.logfields import FIELDS
from django_order_monitor.engine.sweep import run_sweep
from django_order_monitor.exceptions import ProviderTimeout
from django_order_monitor.models import MonitoredOrder
from django_order_monitor.providers.adapters.base import Outcome, StatusResult
from django_order_monitor.testing import memory
from tests.conftest import START

pytestmark = pytest.mark.django_db(transaction=True)

PIN = "LOGS-PIN-0000-1111"
OPERATORS_DOC = Path(__file__).resolve().parents[1] / "docs" / "operators.rst"


def engine_records(caplog):
    return [record for record in caplog.records if record.name.startswith("django_order_monitor.engine")]


def test_every_engine_record_carries_the_order_fields_and_never_the_pin(caplog, clock, queue, make_order, settings):
    caplog.set_level(logging.DEBUG, logger="django_order_monitor")
    settings.ORDER_MONITOR_BACKOFF_JITTER = 0
    order = make_order(referans="R-LOG")
    entry = MonitoredOrder.objects.get(order=order)
    memory.set_answer("R-LOG", ProviderTimeout("read timeout"))
    queue.run_until(START + dt.timedelta(seconds=90))  # a failed query
    memory.complete("R-LOG", pin=PIN)
    queue.run_until(START + dt.timedelta(minutes=10))  # the completion
    transitions.apply_result(entry, StatusResult(Outcome.COMPLETED, pin=PIN, provider_status="2"), source="callback")
    other = MonitoredOrder.objects.get(order=make_order(referans="R-STOP"))
    stop_monitoring(other, "an operator stopped it")
    make_order(referans="R-SWEPT")
    MonitoredOrder.objects.filter(reference="R-SWEPT").delete()  # unwatched: the sweep finds it
    run_sweep()

    records = engine_records(caplog)
    messages = "\n".join(record.getMessage() for record in records)
    for expected in ("Monitoring order", "Status query failed", "completed (provider=", "completed at the provider after",
                     "Stopped monitoring", "Sweep found", "Sweep: 1 discovered"):
        assert expected in messages
    for record in records:
        assert all(hasattr(record, field) for field in FIELDS), record.getMessage()
        if record.reference == "R-LOG":
            assert (record.monitored_order_id, record.order_id, record.provider) == (entry.pk, str(order.pk), "memory")
        # The PIN in no message and no field (the whole record, as a JSON formatter would see it).
        assert PIN not in record.getMessage()
        assert PIN not in repr(vars(record))
    about_r_log = [record for record in records if record.reference == "R-LOG"]
    assert {record.levelname for record in about_r_log} == {"INFO", "WARNING"}
    assert len(about_r_log) >= 4
    summaries = [record for record in records if record.getMessage().startswith("Sweep: ")]
    assert [(r.monitored_order_id, r.order_id, r.provider, r.reference) for r in summaries] == [(None, None, None, None)]


def documented_formatter():
    """The JSON formatter class docs/operators.rst shows (its "Structured logs" code block)."""
    text = OPERATORS_DOC.read_text()
    block = re.search(r"    import json\n    import logging\n(?:\n|    .*\n)+", text).group()
    namespace: dict = {}
    exec("\n".join(line[4:] for line in block.splitlines()), namespace)  # noqa: S102 -- our own docs
    return namespace["JsonFormatter"]


def test_the_documented_json_formatter_writes_the_fields_as_json(caplog, clock, queue, make_order):
    caplog.set_level(logging.INFO, logger="django_order_monitor")
    order = make_order(referans="R-JSON")
    memory.complete("R-JSON", pin=PIN)
    queue.run_until(START + dt.timedelta(minutes=2))

    formatter = documented_formatter()()
    lines = [json.loads(formatter.format(record)) for record in engine_records(caplog)]
    done = next(line for line in lines if line["message"].startswith(f"Order {order.pk} completed"))
    entry = MonitoredOrder.objects.get(order=order)
    assert {key: done[key] for key in FIELDS} == {
        "monitored_order_id": entry.pk, "order_id": str(order.pk), "provider": "memory", "reference": "R-JSON"
    }
    assert (done["level"], done["logger"]) == ("INFO", "django_order_monitor.engine.transitions")
    assert all(PIN not in json.dumps(line) for line in lines)
