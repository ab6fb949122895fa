"""The provider_referans migration on a legacy, unmanaged table (SQLite, PostgreSQL, MariaDB)."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = "product_orders"
COLUMN = "provider_referans"


def columns():
    with connection.cursor() as cursor:
        return {c.name for c in connection.introspection.get_table_description(cursor, TABLE)}


def indexes_on_column():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    return [name for name, info in constraints.items() if info["columns"] == [COLUMN] and info["index"]]


def q(name):
    return connection.ops.quote_name(name)


def drop_column():
    with connection.cursor() as cursor:
        for name in indexes_on_column():
            # MariaDB/MySQL name the table an index belongs to.
            cursor.execute(f"DROP INDEX {q(name)}" + (f" ON {q(TABLE)}" if connection.vendor == "mysql" else ""))
        cursor.execute(f"ALTER TABLE {q(TABLE)} DROP COLUMN {q(COLUMN)}")


def test_migrate_added_the_column_and_one_index():
    assert COLUMN in columns()
    assert len(indexes_on_column()) == 1


def test_migrating_again_changes_nothing():
    call_command("migrate", "order_monitor", "0001", verbosity=0)
    call_command("migrate", "order_monitor", verbosity=0)
    assert COLUMN in columns()
    assert len(indexes_on_column()) == 1


def test_reversing_never_drops_the_shops_data(make_order):
    order = make_order(referans="KEEP-ME")
    call_command("migrate", "order_monitor", "0001", verbosity=0)
    assert COLUMN in columns()
    order.refresh_from_db()
    assert order.provider_referans == "KEEP-ME"
    call_command("migrate", "order_monitor", verbosity=0)


def test_missing_column_is_added_with_its_index():
    call_command("migrate", "order_monitor", "0001", verbosity=0)
    drop_column()
    assert COLUMN not in columns()
    call_command("migrate", "order_monitor", verbosity=0)
    assert COLUMN in columns()
    assert len(indexes_on_column()) == 1


def test_sqlmigrate_prints_sql_a_dba_can_run_by_hand():
    out = io.StringIO()
    call_command("sqlmigrate", "order_monitor", "0002", stdout=out)
    sql = out.getvalue()
    # PostgreSQL and MariaDB guard both statements; SQLite has no ADD COLUMN IF NOT EXISTS.
    guarded = "IF NOT EXISTS " if connection.vendor in ("postgresql", "mysql") else ""
    assert f"ALTER TABLE {q(TABLE)} ADD COLUMN {guarded}{q(COLUMN)} varchar(255) NULL;" in sql
    assert f"CREATE INDEX IF NOT EXISTS {q(TABLE + '_' + COLUMN + '_om_idx')} ON {q(TABLE)} ({q(COLUMN)});" in sql


def test_sqlmigrate_on_mysql_says_to_skip_what_exists(monkeypatch):
    """MySQL (unlike MariaDB) has no IF NOT EXISTS for either statement: the SQL says so."""
    if connection.vendor != "mysql":
        pytest.skip("MySQL's dialect")
    from django.db import connections

    monkeypatch.setitem(connections["default"].__dict__, "mysql_is_mariadb", False)
    out = io.StringIO()
    call_command("sqlmigrate", "order_monitor", "0002", stdout=out)
    sql = out.getvalue()
    assert "skip any whose column or index the table already has" in sql
    assert f"ALTER TABLE {q(TABLE)} ADD COLUMN {q(COLUMN)} varchar(255) NULL;" in sql
    assert f"CREATE INDEX {q(TABLE + '_' + COLUMN + '_om_idx')} ON {q(TABLE)} ({q(COLUMN)});" in sql


def test_dba_runs_the_sql_then_migrate_finds_nothing_to_do():
    call_command("migrate", "order_monitor", "0001", verbosity=0)
    drop_column()
    out = io.StringIO()
    call_command("sqlmigrate", "order_monitor", "0002", stdout=out)
    sql = "\n".join(line for line in out.getvalue().splitlines() if not line.startswith("--"))
    statements = [s.strip() for s in sql.split(";") if s.strip().upper().startswith(("ALTER", "CREATE"))]
    assert len(statements) == 2
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    call_command("migrate", "order_monitor", verbosity=0)
    assert COLUMN in columns()
    assert len(indexes_on_column()) == 1


def test_makemigrations_finds_no_changes():
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


# -- issue 10, defect 15: a schema-qualified table, a missing table ------------------------------

SCHEMA = "om_shop"


@pytest.fixture
def shop_schema(monkeypatch):
    """A copy of the legacy table, without the reference column, in a schema of its own."""
    from tests.testapp.models import ProductOrder

    if connection.vendor != "postgresql":
        pytest.skip("a schema inside a database is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
        cursor.execute(f'CREATE SCHEMA "{SCHEMA}"')
        cursor.execute(f'CREATE TABLE "{SCHEMA}"."{TABLE}" (LIKE public."{TABLE}")')
        cursor.execute(f'ALTER TABLE "{SCHEMA}"."{TABLE}" DROP COLUMN "{COLUMN}"')
    call_command("migrate", "order_monitor", "0001", verbosity=0)

    def point_model_at(db_table):
        monkeypatch.setattr(ProductOrder._meta, "db_table", db_table)

    yield point_model_at
    monkeypatch.undo()
    call_command("migrate", "order_monitor", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{SCHEMA}" CASCADE')


def schema_column_and_indexes():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = %s AND table_name = %s AND column_name = %s",
            [SCHEMA, TABLE, COLUMN],
        )
        [columns] = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = %s AND tablename = %s AND indexdef LIKE %s",
            [SCHEMA, TABLE, f"%({COLUMN})%"],
        )
        [indexes] = cursor.fetchone()
    return columns, indexes


@pytest.mark.services
@pytest.mark.parametrize(
    "db_table",
    [f'{SCHEMA}"."{TABLE}', f'"{SCHEMA}"."{TABLE}"', f"{SCHEMA}.{TABLE}"],
    ids=["django-idiom", "fully-quoted", "dotted"],
)
def test_migrate_adds_the_column_to_a_table_in_another_schema(shop_schema, db_table):
    shop_schema(db_table)
    call_command("migrate", "order_monitor", verbosity=0)
    assert schema_column_and_indexes() == (1, 1)
    # Again: it finds what it added and adds nothing.
    call_command("migrate", "order_monitor", "0001", verbosity=0)
    call_command("migrate", "order_monitor", verbosity=0)
    assert schema_column_and_indexes() == (1, 1)


@pytest.mark.services
def test_sqlmigrate_for_a_table_in_another_schema_prints_sql_postgresql_runs(shop_schema):
    shop_schema(f'{SCHEMA}"."{TABLE}')
    out = io.StringIO()
    call_command("sqlmigrate", "order_monitor", "0002", stdout=out)
    sql = "\n".join(line for line in out.getvalue().splitlines() if not line.startswith("--"))
    assert f'ALTER TABLE "{SCHEMA}"."{TABLE}" ADD COLUMN IF NOT EXISTS "{COLUMN}" varchar(255) NULL;' in sql
    assert f'CREATE INDEX IF NOT EXISTS "{TABLE}_{COLUMN}_om_idx" ON "{SCHEMA}"."{TABLE}" ("{COLUMN}");' in sql
    statements = [s.strip() for s in sql.split(";") if s.strip().upper().startswith(("ALTER", "CREATE"))]
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    assert schema_column_and_indexes() == (1, 1)


def test_migrate_fails_loudly_when_the_order_table_is_missing(monkeypatch):
    from django.db.migrations.recorder import MigrationRecorder

    from django_order_monitor.shop.schema import OrderTableMissing
    from tests.testapp.models import ProductOrder

    call_command("migrate", "order_monitor", "0001", verbosity=0)
    monkeypatch.setattr(ProductOrder._meta, "db_table", "no_such_orders")
    with pytest.raises(OrderTableMissing, match=r"'no_such_orders' .* does not exist.*Create the table .* then run migrate again"):
        call_command("migrate", "order_monitor", verbosity=0)
    applied = MigrationRecorder(connection).applied_migrations()
    assert ("order_monitor", "0002_add_provider_referans") not in applied
    monkeypatch.undo()
    call_command("migrate", "order_monitor", verbosity=0)
