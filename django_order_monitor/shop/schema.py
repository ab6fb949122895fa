"""Migration operation that adds ``provider_referans`` to a legacy order table.

The shop's table is not ours: on a legacy database it is unmanaged and often
owned by another database user. The operation therefore only adds what is
missing, never drops anything on reversal, and prints idempotent SQL under
``sqlmigrate`` so a DBA can run it by hand. A schema-qualified ``db_table`` on
PostgreSQL is found in its schema; a table that does not exist stops
``migrate`` with a message instead of a silent success.

Idempotent DDL by database: PostgreSQL and MariaDB take both ``ADD COLUMN IF
NOT EXISTS`` and ``CREATE INDEX IF NOT EXISTS``; SQLite only the second;
MySQL neither, so its ``sqlmigrate`` output says to skip what already exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist
from django.core.management.base import CommandError
from django.db import router
from django.db.migrations.operations.base import Operation

from ..conf import DEFAULT_FIELDS, app_settings, get_order_model


class OrderTableMissing(CommandError):
    """The shop's order table is not in the database: nothing to add the column to.

    A CommandError, so ``manage.py migrate`` prints the message (no traceback)
    and exits non-zero; the migration is not recorded as applied.
    """


@dataclass(frozen=True)
class Target:
    """Where the reference column goes: the table (and its schema, if named) and the column."""

    schema: str | None
    table: str
    column: str
    db_type: str

    def qualified(self, quote) -> str:
        return f"{quote(self.schema)}.{quote(self.table)}" if self.schema else quote(self.table)

    @property
    def index_name(self) -> str:
        return f"{self.table}_{self.column}_om_idx"[-63:]


def split_db_table(db_table: str) -> tuple[str | None, str]:
    """(schema, table) from a ``Meta.db_table``; schema None when the table is unqualified.

    Understands Django's idiom for a PostgreSQL schema, ``'shop"."orders'``, its
    fully quoted form ``'"shop"."orders"'``, and a plain ``'shop.orders'``.
    """
    text = db_table.strip()
    if len(text) > 1 and text.startswith('"') and text.endswith('"'):
        text = text[1:-1]
    if '"."' in text:
        schema, table = text.split('"."', 1)
        return schema, table
    if "." in text:
        schema, table = text.split(".", 1)
        return schema, table
    return None, text


def if_not_exists(connection) -> tuple[bool, bool]:
    """Whether the database takes (``ADD COLUMN IF NOT EXISTS``, ``CREATE INDEX IF NOT EXISTS``)."""
    if connection.vendor == "postgresql":
        return True, True
    if connection.vendor == "mysql":
        mariadb = connection.mysql_is_mariadb  # MariaDB 10.0.2+ / 10.1.4+; MySQL has neither
        return mariadb, mariadb
    return False, connection.vendor == "sqlite"


class AddReferenceColumn(Operation):
    """Add the reference column and an index on it to an unmanaged order table."""

    reduces_to_sql = True
    reversible = True

    def state_forwards(self, app_label, state):
        # The shop's model state belongs to the shop's app; nothing of ours changes.
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = get_order_model()
        if model._meta.managed:
            # A managed model gets the column from the shop's own makemigrations
            # (ProviderReferansMixin or a field of its own).
            return
        # The router, not Operation.allow_migrate_model: that one refuses every unmanaged model.
        if not router.allow_migrate_model(schema_editor.connection.alias, model):
            return  # the router keeps the order table in another database
        connection = schema_editor.connection

        target: Target | None
        if schema_editor.collect_sql:
            # sqlmigrate: print SQL that is safe to run whatever the table holds.
            target = self._target(model, connection)
            column_guard, index_guard = if_not_exists(connection)
            if not (column_guard and index_guard):
                schema_editor.collected_sql.append(
                    "-- This database has no IF NOT EXISTS for the statement(s) below: "
                    "skip any whose column or index the table already has."
                )
            self._add(schema_editor, target, if_not_exists=column_guard)
            self._index(schema_editor, target, if_not_exists=index_guard)
            return

        with connection.cursor() as cursor:
            target = self._locate(model, connection, cursor)
            if target is None:
                raise OrderTableMissing(
                    f"The order table {model._meta.db_table!r} of ORDER_MONITOR_ORDER_MODEL "
                    f"{model._meta.label!r} does not exist, so its reference column could not be added. "
                    "Create the table (or correct Meta.db_table; a PostgreSQL schema is written "
                    "'schema\".\"table'), then run migrate again."
                )
            has_column, has_index = self._existing(connection, cursor, target)
        if not has_column:
            self._add(schema_editor, target, if_not_exists=False)
        if not has_index:
            self._index(schema_editor, target, if_not_exists=False)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        # Never drop the shop's data: the column stays when this app is unmigrated.
        pass

    def describe(self):
        return "Add the provider reference column and its index to the order table, if missing"

    @property
    def migration_name_fragment(self):
        return "add_provider_referans"

    @staticmethod
    def _add(schema_editor, target: Target, *, if_not_exists: bool) -> None:
        quote = schema_editor.quote_name
        schema_editor.execute(
            f"ALTER TABLE {target.qualified(quote)} ADD COLUMN {'IF NOT EXISTS ' if if_not_exists else ''}"
            f"{quote(target.column)} {target.db_type} NULL"
        )

    @staticmethod
    def _index(schema_editor, target: Target, *, if_not_exists: bool) -> None:
        quote = schema_editor.quote_name
        # An index lives in its table's schema: its own name is never qualified.
        schema_editor.execute(
            f"CREATE INDEX {'IF NOT EXISTS ' if if_not_exists else ''}{quote(target.index_name)} "
            f"ON {target.qualified(quote)} ({quote(target.column)})"
        )

    @staticmethod
    def _target(model, connection, schema: str | None = None, table: str | None = None) -> Target:
        if table is None:
            schema, table = split_db_table(model._meta.db_table) if connection.vendor == "postgresql" else (None, model._meta.db_table)
        attname = app_settings.fields.get("reference") or DEFAULT_FIELDS["reference"]
        assert attname is not None, "the reference role is required and has a default"
        try:
            field = model._meta.get_field(attname)
        except FieldDoesNotExist:
            return Target(schema, table, attname, "varchar(255)")
        return Target(schema, table, field.column, field.db_type(connection) or "varchar(255)")

    @classmethod
    def _locate(cls, model, connection, cursor) -> Target | None:
        """The table as the database knows it, or None when it does not exist."""
        db_table = model._meta.db_table
        if connection.vendor != "postgresql":
            if db_table in connection.introspection.table_names(cursor):
                return cls._target(model, connection, None, db_table)
            return None
        quote = connection.ops.quote_name
        # A literal table name first (search_path), then the schema-qualified reading.
        candidates = [quote(db_table)]
        schema, table = split_db_table(db_table)
        if schema:
            candidates.append(f"{quote(schema)}.{quote(table)}")
        for candidate in candidates:
            cursor.execute(
                "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.oid = to_regclass(%s)",
                [candidate],
            )
            row = cursor.fetchone()
            if row:
                return cls._target(model, connection, row[0], row[1])
        return None

    @staticmethod
    def _existing(connection, cursor, target: Target) -> tuple[bool, bool]:
        """(the column exists, an index on exactly that column exists)."""
        if connection.vendor != "postgresql":
            columns = {c.name for c in connection.introspection.get_table_description(cursor, target.table)}
            constraints = connection.introspection.get_constraints(cursor, target.table)
            return target.column in columns, any(info.get("columns") == [target.column] for info in constraints.values())
        # Django's introspection sees only the search_path; ask the catalog with the schema.
        relation = target.qualified(connection.ops.quote_name)
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attname = %s "
            "AND attnum > 0 AND NOT attisdropped), "
            "EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
            "WHERE i.indrelid = to_regclass(%s) AND i.indnkeyatts = 1 AND a.attname = %s)",
            [relation, target.column, relation, target.column],
        )
        has_column, has_index = cursor.fetchone()
        return has_column, has_index
