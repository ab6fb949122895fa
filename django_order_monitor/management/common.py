"""What the order_monitor_* commands share: finding an order from the command line, printing times."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..conf import get_order_model
from ..engine.stats import humanize_seconds
from ..shop import orders

#: How the commands name who brings the next check (MonitoredOrder.next_check_by).
DRIVERS = {"task": gettext_lazy("a chained task"), "sweep": gettext_lazy("the sweep")}

#: Exit statuses of every order_monitor_* command (docs/operators.rst, "Exit codes").
EXIT_OK = 0
EXIT_REFUSED = 1  # the arguments were understood, but the command could not do it (no such order, ...)
EXIT_USAGE = 2  # the arguments are wrong; argparse's own status for unknown or malformed options


class MonitorCommandError(CommandError):
    """A command's refusal with a stable, machine-readable ``code`` (the JSON error's ``code``)."""

    def __init__(self, message: str, *, code: str, returncode: int = EXIT_REFUSED, result_written: bool = False):
        super().__init__(message, returncode=returncode)
        self.code = code
        #: The command already printed its result (a status with problems): no JSON error after it.
        self.result_written = result_written


class MonitorCommand(BaseCommand):
    """What every order_monitor_* command does the same way: ``--json``, ``-v 0`` and errors.

    - ``--json`` prints one JSON document on stdout, the result or, when the command fails,
      ``{"error": "<message>", "code": "<code>", "exit_code": <n>}`` (nothing on stderr), so a
      script reads stdout either way and tells the two apart by the exit status.
    - ``-v 0`` prints nothing on success (text output only: ``--json`` output is data that was
      asked for). Errors are always reported.
    - Exit status: :data:`EXIT_OK`, :data:`EXIT_REFUSED` or :data:`EXIT_USAGE`.

    Subclasses write their text through :meth:`say`. Called through ``call_command`` a failure
    still raises ``CommandError`` (with ``code`` when it is a :class:`MonitorCommandError`), after
    the JSON error was written.
    """

    quiet = False
    #: ``--json`` on the command line, known before argparse runs (its errors are JSON too then).
    _json_requested = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the result, or the error, as JSON on stdout.")

    def say(self, text: str, style_func=None) -> None:
        if not self.quiet:
            self.stdout.write(text, style_func)

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        command = self
        plain_error = parser.error

        def error(message: str):
            # Django's parser raises CommandError itself when called through call_command; on the
            # command line argparse prints usage and exits 2, which under --json becomes the JSON error.
            if command._json_requested and getattr(command, "_called_from_command_line", False):
                command._write_error(f"Error: {message}", "usage", EXIT_USAGE)
                sys.exit(EXIT_USAGE)
            plain_error(message)

        parser.error = error  # type: ignore[method-assign]  # argparse has no hook for this but the method
        return parser

    def run_from_argv(self, argv: list[str]) -> None:
        self._json_requested = "--json" in argv[2:]
        super().run_from_argv(argv)

    def execute(self, *args: Any, **options: Any) -> Any:
        self.quiet = options.get("verbosity", 1) == 0 and not options.get("json")
        try:
            return super().execute(*args, **options)
        except CommandError as err:
            if not options.get("json"):
                if isinstance(err, MonitorCommandError) and getattr(self, "_called_from_command_line", False):
                    # Django prints the class name: operators read "CommandError: ...", as from any command.
                    raise CommandError(str(err), returncode=err.returncode) from err
                raise
            code = getattr(err, "code", "usage" if err.returncode == EXIT_USAGE else "error")
            if not getattr(err, "result_written", False):
                self._write_error(str(err), code, err.returncode)
            if getattr(self, "_called_from_command_line", False):
                # The JSON document is the report; Django would add "CommandError: ..." on stderr.
                sys.exit(err.returncode)
            raise

    def _write_error(self, message: str, code: str, returncode: int) -> None:
        self.stdout.write(to_json({"error": message, "code": code, "exit_code": returncode}))


def find_order(value: str):
    """The shop's order with primary key ``value``; CommandError when there is none."""
    model = get_order_model()
    try:
        pk = model._meta.pk.to_python(value)
    except ValidationError as err:
        raise MonitorCommandError(
            _("%(value)s is not an order id: %(model)s ids look like %(example)s.")
            % {"value": repr(value), "model": model._meta.label, "example": _example(model)},
            code="invalid_order_id",
            returncode=EXIT_USAGE,
        ) from err
    order = orders.base_queryset().filter(pk=pk).first()
    if order is None:
        raise MonitorCommandError(
            _("No order with id %(value)s in %(model)s.") % {"value": value, "model": model._meta.label},
            code="unknown_order",
        )
    return order


def _example(model) -> str:
    internal = model._meta.pk.get_internal_type()
    return "123e4567-e89b-12d3-a456-426614174000" if internal == "UUIDField" else "12345"


def stamp(value: dt.datetime | None) -> str:
    """``2026-11-01 12:05:00 UTC`` in the current time zone; ``–`` for none."""
    if value is None:
        return "–"
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z")


def relative(value: dt.datetime, now: dt.datetime) -> str:
    seconds = (value - now).total_seconds()
    if abs(seconds) < 1:
        return _("now")
    if seconds > 0:
        return _("in %(delta)s") % {"delta": humanize_seconds(seconds)}
    return _("%(delta)s ago") % {"delta": humanize_seconds(-seconds)}


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=_default)


def _default(value: Any):
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)
