"""The README's quick start, followed literally in a fresh project, for both shapes of order model.

``startproject`` and ``startapp``, then the README's own snippets (the
``INSTALLED_APPS`` line and the settings block, read from README.rst) appended
to the new settings, then its steps: ``makemigrations`` for the shop's app,
``migrate``, ``check``. The shop's own code (its order model, its callbacks and,
for the legacy shape, its existing table) is written here: the README assumes
the shop has it.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.rst"

#: The shop's order model, legacy shape: the reference shop's unmanaged camelCase table.
LEGACY_MODEL = '''
import uuid

from django.db import models


class ProductOrder(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    status = models.CharField(max_length=50, default="pending")
    external_status = models.CharField(db_column="externalStatus", max_length=30, default="not_sent")
    provider_referans = models.CharField(max_length=255, null=True, blank=True)
    pin_code = models.CharField(db_column="pinCode", max_length=120, null=True, blank=True)
    sent_at = models.DateTimeField(db_column="sentAt", null=True, blank=True)

    class Meta:
        managed = False
        db_table = "product_orders"
'''

#: The legacy table as the shop's database already has it: no reference column yet.
LEGACY_TABLE = """
CREATE TABLE product_orders (
    id char(32) PRIMARY KEY,
    status varchar(50) NOT NULL DEFAULT 'pending',
    "externalStatus" varchar(30) NOT NULL DEFAULT 'not_sent',
    "pinCode" varchar(120) NULL,
    "sentAt" datetime NULL
)
"""

#: The shop's order model, managed shape, with the mixin step 4 names.
MANAGED_MODEL = """
from django.db import models

from django_order_monitor.models import ProviderReferansMixin


class ProductOrder(ProviderReferansMixin, models.Model):
    status = models.CharField(max_length=50, default="pending")
    external_status = models.CharField(max_length=30, default="not_sent")
    pin_code = models.CharField(max_length=120, null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
"""

#: The callbacks the settings snippet names (the shop's own code).
MONITORING = """
def on_terminal(transition):
    pass


def on_late_pin(late_completion):
    pass
"""


def quick_start_snippets() -> list[str]:
    """Every literal block of the README's "Quick start for a shop" section, dedented."""
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^Quick start for a shop\n-+\n(.*?)^\S[^\n]*\n-+\n", text, re.S | re.M)
    assert section, "README.rst has no 'Quick start for a shop' section"
    lines = section.group(1).splitlines()
    blocks = []
    for number, line in enumerate(lines):
        if not line.rstrip().endswith("::"):
            continue
        intro_indent = len(line) - len(line.lstrip())
        block = []
        for following in lines[number + 1:]:
            if following.strip() and len(following) - len(following.lstrip()) <= intro_indent:
                break
            block.append(following)
        body = list(block)
        while body and not body[0].strip():
            body.pop(0)
        indent = min(len(row) - len(row.lstrip()) for row in body if row.strip())
        blocks.append("\n".join(row[indent:] for row in body).strip() + "\n")
    return blocks


def snippet(containing: str) -> str:
    [found] = [block for block in quick_start_snippets() if containing in block]
    return found


def run(directory: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "shop.settings",
        "PYTHONPATH": os.pathsep.join([str(directory), str(ROOT)]),
        # The credentials the settings snippet reads from the environment.
        "ZNET_KOD": "demo",
        "ZNET_SIFRE": "demo-secret",
    }
    done = subprocess.run(
        [sys.executable, "-m", "django", *args], env=env, cwd=directory, capture_output=True, text=True, timeout=180
    )
    return done


def fresh_project(tmp_path: Path, model: str) -> Path:
    """``startproject shop`` + ``startapp orders`` + the shop's code + the README's snippets."""
    directory = tmp_path / "project"
    directory.mkdir()
    assert run(directory, "startproject", "shop", ".").returncode == 0
    assert run(directory, "startapp", "orders").returncode == 0
    (directory / "orders" / "models.py").write_text(model)
    (directory / "orders" / "monitoring.py").write_text(MONITORING)
    settings = directory / "shop" / "settings.py"
    text = settings.read_text()
    text += "\nimport os\n\n\ndef env(name):  # the shop's way of reading secrets (django-environ's env() reads alike)\n"
    text += "    return os.environ[name]\n\n\n"
    text += 'INSTALLED_APPS += ["orders"]  # the shop\'s own app\n'
    text += snippet("INSTALLED_APPS") + "\n" + snippet("ORDER_MONITOR_ORDER_MODEL = ")
    settings.write_text(text)
    return directory


def follow_steps(directory: Path) -> None:
    """Step 4 as the README says: makemigrations for the order model's app, then migrate; then check."""
    done = run(directory, "makemigrations", "orders")
    assert done.returncode == 0, done.stderr
    done = run(directory, "migrate")
    assert done.returncode == 0, done.stderr
    assert "Applying order_monitor.0002_add_provider_referans... OK" in done.stdout
    done = run(directory, "check")
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout


def test_the_readme_snippets_are_found():
    assert "django_order_monitor" in snippet("INSTALLED_APPS")
    assert "ORDER_MONITOR_PROVIDERS" in snippet("ORDER_MONITOR_ORDER_MODEL = ")


def test_quick_start_on_a_legacy_unmanaged_table(tmp_path):
    directory = fresh_project(tmp_path, LEGACY_MODEL)
    with closing(sqlite3.connect(directory / "db.sqlite3")) as database, database:
        database.execute(LEGACY_TABLE)
    follow_steps(directory)
    with closing(sqlite3.connect(directory / "db.sqlite3")) as database, database:
        columns = {row[1] for row in database.execute("PRAGMA table_info(product_orders)")}
        indexes = [row[1] for row in database.execute("PRAGMA index_list(product_orders)")]
        indexed = [
            [column[2] for column in database.execute(f'PRAGMA index_info("{name}")')] for name in indexes
        ]
    assert "provider_referans" in columns
    assert ["provider_referans"] in indexed


def test_quick_start_on_a_managed_model(tmp_path):
    directory = fresh_project(tmp_path, MANAGED_MODEL)
    follow_steps(directory)
    with closing(sqlite3.connect(directory / "db.sqlite3")) as database, database:
        columns = {row[1] for row in database.execute("PRAGMA table_info(orders_productorder)")}
    assert {"provider_referans", "external_status", "pin_code"} <= columns
