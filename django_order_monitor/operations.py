"""Migration operation that adds ``provider_referans`` to a legacy order table.

The shop's table is not ours: on a legacy database it is unmanaged and often
owned by another database user. The operation therefore only adds what is
missing, never drops anything on reversal, and prints idempotent SQL under
``sqlmigrate`` so a DBA can run it by hand.
"""

from __future__ import annotations

import logging

from django.core.exceptions import FieldDoesNotExist
from django.db.migrations.operations.base import Operation

from .conf import DEFAULT_FIELDS, app_settings, get_order_model

logger = logging.getLogger(__name__)


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
        table, column, db_type = self._target(model, schema_editor.connection)
        quote = schema_editor.quote_name
        index_name = f"{table}_{column}_om_idx"[-63:]
        add_column = "ALTER TABLE {table} ADD COLUMN {if_not_exists}{column} {db_type} NULL"
        create_index = "CREATE INDEX IF NOT EXISTS {index} ON {table} ({column})"
        names = {"table": quote(table), "column": quote(column), "index": quote(index_name), "db_type": db_type}

        if schema_editor.collect_sql:
            # sqlmigrate: print SQL that is safe to run whatever the table holds.
            if_not_exists = "IF NOT EXISTS " if schema_editor.connection.vendor == "postgresql" else ""
            schema_editor.execute(add_column.format(if_not_exists=if_not_exists, **names))
            schema_editor.execute(create_index.format(**names))
            return

        connection = schema_editor.connection
        with connection.cursor() as cursor:
            if table not in connection.introspection.table_names(cursor):
                logger.warning(
                    "Table %s does not exist yet; %s was not added. Create the table, then run "
                    "`migrate order_monitor zero --fake` and `migrate order_monitor`.",
                    table,
                    column,
                )
                return
            columns = {c.name for c in connection.introspection.get_table_description(cursor, table)}
            constraints = connection.introspection.get_constraints(cursor, table)
        if column not in columns:
            schema_editor.execute(add_column.format(if_not_exists="", **names))
        if not any(info.get("columns") == [column] for info in constraints.values()):
            schema_editor.execute(create_index.format(**names))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        # Never drop the shop's data: the column stays when this app is unmigrated.
        pass

    def describe(self):
        return "Add the provider reference column and its index to the order table, if missing"

    @property
    def migration_name_fragment(self):
        return "add_provider_referans"

    @staticmethod
    def _target(model, connection) -> tuple[str, str, str]:
        attname = app_settings.fields.get("reference") or DEFAULT_FIELDS["reference"]
        try:
            field = model._meta.get_field(attname)
        except FieldDoesNotExist:
            return model._meta.db_table, attname, "varchar(255)"
        return model._meta.db_table, field.column, field.db_type(connection) or "varchar(255)"
