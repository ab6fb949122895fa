import datetime as dt
import os

import pytest
import time_machine
from django.utils import timezone

from django_order_monitor.providers import breaker
from django_order_monitor.testing import QueueRunner, memory

START = dt.datetime(2026, 11, 1, 12, 0, 0, tzinfo=dt.timezone.utc)

# The order model on a second database has a pass of its own in runtests.py.
collect_ignore = [] if os.environ.get("DJANGO_SETTINGS_MODULE") == "tests.settings_multidb" else ["multidb"]


@pytest.fixture(autouse=True)
def _reset_memory_provider():
    memory.reset()
    breaker.forget_all()
    yield
    memory.reset()
    breaker.forget_all()


@pytest.fixture(autouse=True)
def _fresh_call_budget():
    """Every test starts with no call budget spent: on Redis its state outlives a test."""
    from django_order_monitor.engine import budget

    budget.reset()


@pytest.fixture
def clock():
    """A frozen clock at START that tests (and the queue runner) move forward."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def queue(clock):
    """The test HUEY (MemoryHuey, not immediate), emptied, driven by the clock."""
    runner = QueueRunner(move_to=clock.move_to)
    runner.flush()
    yield runner
    runner.flush()


@pytest.fixture
def make_order(db):
    """Create a legacy order row; dispatched with a reference unless told otherwise."""
    from tests.testapp.models import ProductOrder

    counter = iter(range(1, 10**9))

    def make(*, external_status="sent", referans="auto", sent_at=None, **fields):
        if referans == "auto":
            referans = f"REF{next(counter):06d}"
        return ProductOrder.objects.create(
            external_status=external_status,
            provider_referans=referans,
            sent_at=sent_at or timezone.now(),
            **fields,
        )

    yield make
    # The legacy table is unmanaged: Django's flush between transactional tests skips it.
    ProductOrder.objects.all().delete()


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith(("postgresql", "mysql")):
        return
    skip = pytest.mark.skip(reason="needs a database server + Redis: runs in the later passes of runtests.py")
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)
