#!/usr/bin/env python3
"""django-order-monitor in one command: a shop, a fake znet provider and a real Huey consumer.

    python example_project/demo.py              # SQLite + SqliteHuey, about two minutes
    python example_project/demo.py --postgres   # PostgreSQL + Redis (PG*, SHOP_REDIS_URL)
    python example_project/demo.py --help

It dispatches a few hundred orders through the example shop's dispatch service to a
fake znet server whose orders follow the reference mix (70 % done in 5-30 s, 20 % in
2-30 min, 7 % cancelled in 10-120 s, 3 % never), with time compressed (x30 by default)
and a few status queries answered with faults. A ``manage.py run_huey`` consumer
follows them; the demo shows the progress, then checks every order against what the
provider decided and prints a summary. It exits 1 if any order ended differently.
Where prometheus-client is installed (the ``[metrics]`` extra), the consumer serves its
Prometheus metrics on a port of its own and a ``runserver`` serves the shop's metrics URL;
the demo prints both addresses and, at the end, what the consumer counted.

On a machine with only Python 3.10+, the first run creates ``example_project/var/venv``,
installs the repository into it (``pip install -e .``) and runs itself there.
Ctrl-C (or SIGTERM) stops everything it started.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib.util
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENV = HERE / "var" / "venv"
WINDOWS = os.name == "nt"
DEFAULT_FAULTS = "http_500=0.02,garbage=0.01,empty=0.01,query_error=0.02"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="demo.py",
        description="Run the example shop against a fake znet provider with a real Huey consumer.",
    )
    parser.add_argument("--orders", type=int, default=300, help="orders to dispatch (default: 300)")
    parser.add_argument(
        "--time-scale", type=float, default=30.0, help="compress time: 30 makes a 30 min delay last 1 min (default: 30)"
    )
    parser.add_argument(
        "--deadline-minutes",
        type=float,
        default=45.0,
        help="monitoring deadline in provider minutes (default: 45; the library's default is 24 h, which at x30 "
        "would take 48 minutes to reach)",
    )
    parser.add_argument(
        "--dispatch-seconds", type=float, default=10.0, help="wall seconds over which the orders arrive (default: 10)"
    )
    parser.add_argument("--workers", type=int, default=8, help="run_huey thread workers (default: 8)")
    parser.add_argument(
        "--faults",
        default=DEFAULT_FAULTS,
        help=f'fault rates of the fake\'s status replies, or "none" (default: {DEFAULT_FAULTS})',
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the customers and of the fake provider")
    parser.add_argument("--policy", default=None, help="dotted path of an ORDER_MONITOR_POLICY class to try")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL + Redis instead of SQLite + SqliteHuey")
    parser.add_argument(
        "--pg-database", default="shop_demo", help="database the --postgres run drops and creates (default: shop_demo)"
    )
    parser.add_argument(
        "--huey-name", default="shop-demo", help="Huey queue the demo uses and empties first (default: shop-demo)"
    )
    parser.add_argument(
        "--var-dir", type=Path, default=HERE / "var" / "demo", help="where the demo's files go (default: var/demo)"
    )
    args = parser.parse_args(argv)
    if args.orders < 1 or args.time_scale <= 0 or args.workers < 1 or args.deadline_minutes <= 0:
        parser.error("--orders, --workers, --time-scale and --deadline-minutes must be positive")
    args.var_dir = args.var_dir.resolve()
    return args


# -- bootstrap: make sure Django, Huey & co. are importable --------------------------------------


def missing_modules(postgres: bool) -> list[str]:
    names = ["django", "huey", "requests"] + (["psycopg", "redis"] if postgres else [])
    missing = [name for name in names if importlib.util.find_spec(name) is None]
    if "django" not in missing:
        import django

        if django.VERSION < (5, 2):
            missing.append(f"django>=5.2 (found {django.get_version()})")
    return missing


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if WINDOWS else "bin/python")


def run_step(description: str, command: list[str]) -> None:
    print(description, flush=True)
    if subprocess.call(command) != 0:
        sys.exit(f"demo: failed: {' '.join(command)}")


def bootstrap(argv: list[str], postgres: bool) -> None:
    """Re-run this script in example_project/var/venv when packages are missing."""
    missing = missing_modules(postgres)
    if not missing:
        return
    target = ".[postgres,redis]" if postgres else "."
    in_venv = Path(sys.prefix).resolve() == VENV.resolve()
    if in_venv:
        if os.environ.get("ORDER_MONITOR_DEMO_INSTALLED"):
            sys.exit(f"demo: still missing after installing: {', '.join(missing)}")
    else:
        if not venv_python().exists():
            run_step(
                f"Missing {', '.join(missing)}: creating a virtualenv in {VENV.relative_to(REPO)} (first run only)",
                [sys.executable, "-m", "venv", str(VENV)],
            )
        if (
            subprocess.call([str(venv_python()), __file__, "--check-imports", *(["--postgres"] if postgres else [])])
            == 0
        ):
            _reexec(argv)
    run_step(
        f"Installing the repository and its dependencies into {VENV.relative_to(REPO)} (pip install -e {target})",
        [str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", target],
    )
    os.environ["ORDER_MONITOR_DEMO_INSTALLED"] = "1"
    _reexec(argv)


def _reexec(argv: list[str]) -> None:
    command = [str(venv_python()), str(Path(__file__).resolve()), *argv]
    sys.stdout.flush()
    if WINDOWS:  # no exec on Windows: run it as a child and pass its status on
        # Ctrl-C reaches both of us; the child cleans up, so we must not kill it first.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        sys.exit(subprocess.call(command))
    os.execv(command[0], command)


# -- child processes ---------------------------------------------------------------------------


class Child:
    """A process in its own process group (so Ctrl-C reaches us, and we stop it in order)."""

    def __init__(self, name: str, command: list[str], *, env: dict[str, str], cwd: Path, log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "wb")
        extra: dict = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP} if WINDOWS else {"start_new_session": True}
        self.process = subprocess.Popen(
            command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, **extra
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def _signal(self, sig: int | None) -> None:
        """Send ``sig`` to the child's whole process group; ``None`` kills it outright."""
        try:
            if WINDOWS:
                if sig is None:
                    self.process.kill()
                else:
                    self.process.send_signal(signal.CTRL_BREAK_EVENT)
            else:
                os.killpg(self.process.pid, signal.SIGKILL if sig is None else sig)
        except OSError:
            pass  # already gone

    def stop(self, sig: int = signal.SIGINT, timeout: float = 15.0) -> int | None:
        """Ask it to stop (SIGINT: Huey lets running checks finish), then kill what is left."""
        if self.alive():
            self._signal(sig)
            try:
                self.process.wait(timeout)
            except (subprocess.TimeoutExpired, KeyboardInterrupt):
                pass
        # Kill whatever is left in its group, even if the leader already exited.
        self._signal(None)
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()
        return self.process.returncode

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_for_output(self, needle: str, timeout: float) -> str | None:
        """The first log line containing ``needle``, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
                    if needle in line:
                        return line
            except OSError:
                pass
            if not self.alive():
                return None
            time.sleep(0.1)
        return None


class DemoError(Exception):
    pass


# -- the demo ----------------------------------------------------------------------------------


class Demo:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.var = args.var_dir
        self.children: list[Child] = []
        self.tty = sys.stdout.isatty()
        self.drawn = False  # the two progress lines are on the screen
        if self.tty and WINDOWS:
            os.system("")  # turns on ANSI escape handling in the Windows console
        self.seed = args.seed if args.seed is not None else random.randrange(10**6)
        self.scale = args.time_scale
        self.deadline_wall = args.deadline_minutes * 60 / self.scale
        self.backend = "PostgreSQL + RedisHuey" if args.postgres else "SQLite + SqliteHuey"
        self.fake_url = ""
        # Metrics when prometheus-client is there (the [metrics] extra): the consumer's port,
        # the web process's port and the scrape token.
        self.metrics = importlib.util.find_spec("prometheus_client") is not None
        self.metrics_port = free_port() if self.metrics else 0
        self.web_port = free_port() if self.metrics else 0
        self.metrics_token = secrets.token_urlsafe(12)

    # -- setup ---------------------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        env = {
            "DJANGO_SETTINGS_MODULE": "shop_project.settings",
            "SHOP_VAR_DIR": str(self.var),
            "SHOP_TIME_SCALE": f"{self.scale:g}",
            "SHOP_DEADLINE": f"{self.args.deadline_minutes * 60:g}",
            "SHOP_HUEY_NAME": self.args.huey_name,
            "SHOP_DEBUG": "0",
            "PYTHONUNBUFFERED": "1",
        }
        if self.args.policy:
            env["SHOP_MONITOR_POLICY"] = self.args.policy
        if self.metrics:
            env.update(SHOP_METRICS_PORT=str(self.metrics_port), SHOP_METRICS_TOKEN=self.metrics_token)
        if self.args.postgres:
            env.update(SHOP_DB="postgres", PGDATABASE=self.args.pg_database)
            env["SHOP_REDIS_URL"] = os.environ.get("SHOP_REDIS_URL", "redis://127.0.0.1:6379/0")
        else:
            for name in ("SHOP_DB", "SHOP_DATABASE_URL", "SHOP_REDIS_URL"):
                env[name] = ""
        return env

    def prepare(self) -> None:
        self.var.mkdir(parents=True, exist_ok=True)
        for pattern in ("shop.sqlite3*", "huey.sqlite3*", "*.log"):
            for path in self.var.glob(pattern):
                path.unlink()
        os.environ.update(self.environment())
        # The library comes from the installed package, or from this checkout.
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
        if self.args.postgres:
            self.check_services()
            self.recreate_database()

    def check_services(self) -> None:
        pg = (os.environ.get("PGHOST", "127.0.0.1"), int(os.environ.get("PGPORT", "5432")))
        redis_url = urlsplit(os.environ["SHOP_REDIS_URL"])
        redis = (redis_url.hostname or "127.0.0.1", redis_url.port or 6379)
        for name, address in (("PostgreSQL", pg), ("Redis", redis)):
            try:
                socket.create_connection(address, timeout=3).close()
            except OSError as err:
                raise DemoError(
                    f"{name} is not reachable at {address[0]}:{address[1]} ({err.strerror or err}); "
                    "start it, or set PGHOST/PGPORT/PGUSER/PGPASSWORD and SHOP_REDIS_URL"
                ) from err

    def recreate_database(self) -> None:
        import psycopg
        from psycopg import sql

        name = self.args.pg_database
        params = {
            k: os.environ[v]
            for k, v in (("host", "PGHOST"), ("port", "PGPORT"), ("user", "PGUSER"), ("password", "PGPASSWORD"))
            if os.environ.get(v)
        }
        params.setdefault("host", "127.0.0.1")
        params.setdefault("user", "postgres")
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def setup_django(self) -> None:
        # The demo's own log (dispatch lines, refunds) goes to a file, not over the progress bar.
        os.environ["SHOP_LOG_FILE"] = str(self.var / "shop.log")
        sys.path.insert(0, str(HERE))
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        if self.args.postgres:
            from huey.contrib.djhuey import HUEY

            HUEY.flush()  # nothing left over from an earlier run in this Redis queue

    def start_fake(self) -> None:
        command = [
            sys.executable,
            "-m",
            "django_order_monitor.testing.fake_znet",
            "--port",
            "0",
            "--time-scale",
            f"{self.scale:g}",
            "--seed",
            str(self.seed),
        ]
        if self.args.faults.strip().lower() not in ("", "none", "0"):
            command += ["--fault-rate", self.args.faults]
        fake = self.spawn("fake znet", command, "fake-znet.log")
        line = fake.wait_for_output("listening on", timeout=15)
        if line is None:
            raise DemoError(f"the fake znet server did not start:\n{fake.tail()}")
        self.fake_url = line.split("listening on", 1)[1].split()[0]

    def start_consumer(self) -> Child:
        env_overrides = {"SHOP_ZNET_URL": self.fake_url}
        command = [
            sys.executable,
            "manage.py",
            "run_huey",
            "--workers",
            str(self.args.workers),
            "--worker-type",
            "thread",
            # Poll an empty SqliteHuey queue at least every 0.2 s (the default backs off to 10 s).
            "--delay",
            "0.05",
            "--max-delay",
            "0.2",
        ]
        consumer = self.spawn("run_huey", command, "consumer.log", env_overrides)
        if consumer.wait_for_output("consumer started", timeout=30) is None:
            raise DemoError(f"the Huey consumer did not start:\n{consumer.tail()}")
        return consumer

    def start_web(self) -> Child:
        """``manage.py runserver``, so the shop's metrics URL can be scraped while the demo runs."""
        command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{self.web_port}"]
        web = self.spawn("runserver", command, "web.log", {"SHOP_ZNET_URL": self.fake_url})
        # Wait for the port, not for runserver's banner: its wording changes between Django
        # versions ("Starting development server", 6.1's "Starting WSGI development server").
        deadline = time.monotonic() + 30
        while web.alive() and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.web_port), timeout=1).close()
                return web
            except OSError:
                time.sleep(0.2)
        raise DemoError(f"the web server did not start:\n{web.tail()}")

    def print_metrics_addresses(self, web: Child) -> None:
        header = f"-H 'Authorization: Bearer {self.metrics_token}'"
        print(f"  metrics (the consumer: checks, latency, time to PIN): curl {header} http://127.0.0.1:{self.metrics_port}/metrics")
        print(
            f"  metrics (the web process, pid {web.pid}: gauges from the database): "
            f"curl {header} http://127.0.0.1:{self.web_port}/order-monitor/metrics"
        )

    def consumer_counts(self) -> str:
        """One line of what the consumer's metrics counted (read the way Prometheus reads them)."""
        import urllib.request

        from prometheus_client.parser import text_string_to_metric_families

        request = urllib.request.Request(
            f"http://127.0.0.1:{self.metrics_port}/metrics", headers={"Authorization": f"Bearer {self.metrics_token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            families = {family.name: family for family in text_string_to_metric_families(response.read().decode())}
        checks = sum(s.value for s in families["order_monitor_checks"].samples if s.name.endswith("_total"))
        ended = {}
        for sample in families["order_monitor_transitions"].samples:
            if sample.name.endswith("_total"):
                ended[sample.labels["outcome"]] = ended.get(sample.labels["outcome"], 0) + sample.value
        return f"metrics (the consumer's port): {checks:.0f} checks; transitions " + ", ".join(
            f"{outcome} {count:.0f}" for outcome, count in sorted(ended.items())
        )

    def spawn(self, name: str, command: list[str], log_name: str, env_overrides: dict[str, str] | None = None) -> Child:
        env = dict(os.environ)
        env.pop("SHOP_LOG_FILE", None)  # children log to their own files (stdout/stderr)
        env.update(env_overrides or {})
        child = Child(name, command, env=env, cwd=HERE, log_path=self.var / log_name)
        self.children.append(child)
        return child

    def check_children(self) -> None:
        for child in self.children:
            if not child.alive():
                self.end_line()
                raise DemoError(
                    f"{child.name} exited unexpectedly (code {child.process.returncode}; log: {child.log_path}):\n"
                    f"{child.tail()}"
                )

    def cleanup(self) -> None:
        """Stop every child (consumer first, so no check runs against a stopped provider)."""
        while self.children:
            child = self.children.pop()
            child.stop(signal.SIGINT if child.name == "run_huey" else signal.SIGTERM)

    # -- run -----------------------------------------------------------------------------------

    def run(self) -> int:
        started = time.monotonic()
        self.prepare()
        self.start_fake()
        os.environ["SHOP_ZNET_URL"] = self.fake_url
        self.setup_django()
        self.print_intro()
        consumer = self.start_consumer()
        print(
            f"  consumer: manage.py run_huey, {self.args.workers} thread workers (pid {consumer.pid}); fake znet pid {self.children[0].pid}"
        )
        if self.metrics:
            self.print_metrics_addresses(self.start_web())
        else:
            print("  metrics: pip install 'django-order-monitor[metrics]' to see them while the demo runs")
        print()

        from orders import reporting, simulation

        dispatch_started = time.monotonic()
        last_draw = [0.0]

        def on_each(number: int, result) -> None:
            if time.monotonic() - last_draw[0] >= (0.25 if self.tty else 5):
                last_draw[0] = time.monotonic()
                self.draw(reporting.progress_counts(), started, dispatched=number)
            self.check_children()

        outcomes = simulation.place_orders(
            self.args.orders, rng=random.Random(self.seed), spread=self.args.dispatch_seconds, on_each=on_each
        )
        dispatch_seconds = time.monotonic() - dispatch_started
        hard_limit = time.monotonic() + self.deadline_wall + 30
        while reporting.open_orders():
            self.check_children()
            if time.monotonic() > hard_limit:
                self.end_line()
                print("Giving up waiting: some orders are still open 30 s past their deadline.")
                break
            if time.monotonic() - last_draw[0] >= (0.5 if self.tty else 10):
                last_draw[0] = time.monotonic()
                self.draw(reporting.progress_counts(), started, dispatched=self.args.orders)
            time.sleep(0.2)
        self.draw(reporting.progress_counts(), started, dispatched=self.args.orders)
        self.end_line()

        try:
            stats = reporting.fetch_fake_stats(self.fake_url)
        except OSError as err:
            raise DemoError(f"cannot read the fake provider's stats: {err}") from err
        try:
            counted = self.consumer_counts() if self.metrics else ""
        except OSError as err:
            counted = f"metrics: the consumer's port did not answer ({err})"
        self.cleanup()
        report = reporting.build_report(stats, time_scale=self.scale)
        self.print_summary(report, outcomes, time.monotonic() - started, dispatch_seconds, counted)
        return 1 if report.mismatches else 0

    # -- output --------------------------------------------------------------------------------

    def print_intro(self) -> None:
        from django.conf import settings

        s = self.scale
        faults = "none" if self.args.faults.strip().lower() in ("", "none", "0") else self.args.faults
        print(f"django-order-monitor demo: {self.args.orders} orders, {self.backend}, time x{s:g} (seed {self.seed})")
        print(f"  fake znet at {self.fake_url}: reference mix (70% done in 5-30 s, 20% in 2-30 min,")
        print(f"    7% cancelled in 10-120 s, 3% never); status-query faults: {faults}")
        print(
            f"  policy, the seed's numbers /{s:g}: first check 60 s -> {settings.ORDER_MONITOR_FIRST_CHECK_DELAY:g} s, "
            f"backoff 30 s x2 up to 600 s -> {settings.ORDER_MONITOR_BACKOFF_BASE:g}-{settings.ORDER_MONITOR_BACKOFF_MAX:g} s,"
        )
        print(
            f"    deadline {self.args.deadline_minutes:g} min -> {self.deadline_wall:g} s "
            "(not 24 h: so the never-ending orders time out while you watch)"
        )
        if self.args.postgres:
            print(
                f"  PostgreSQL database {self.args.pg_database} (dropped and created anew);"
                f" Redis {os.environ['SHOP_REDIS_URL']}, Huey queue {self.args.huey_name}"
            )
        if self.args.deadline_minutes <= 30:
            print(
                "  WARNING: the deadline is not longer than the slowest planned orders (30 min): some will time out"
                " before the provider delivers them, and count as mismatches."
            )
        print(f"  logs: {self.var}")

    def draw(self, counts, started: float, *, dispatched: int) -> None:
        """Two lines, redrawn in place on a terminal; one plain line per call otherwise."""
        total = self.args.orders
        ended = counts["ended"]
        filled = int(24 * ended / total)
        first = f"[{'#' * filled}{'-' * (24 - filled)}] {ended:>{len(str(total))}}/{total} ended   {time.monotonic() - started:3.0f} s"
        if dispatched < total:
            first += f"   (dispatching: {dispatched}/{total})"
        second = (
            f"watching {counts['watching']}   completed {counts['completed']}   failed {counts['failed']}"
            f"   timed out {counts['timed out']}   refused at dispatch {counts['refused at dispatch']}"
        )
        if not self.tty:
            print(f"{first} | {second}", flush=True)
            return
        columns = shutil.get_terminal_size((100, 20)).columns - 1
        up = "\x1b[1A\r" if self.drawn else ""
        sys.stdout.write(f"{up}{first[:columns]}\x1b[K\n{second[:columns]}\x1b[K")
        sys.stdout.flush()
        self.drawn = True

    def end_line(self) -> None:
        if self.tty and self.drawn:
            self.drawn = False
            sys.stdout.write("\n")
            sys.stdout.flush()

    def print_summary(self, report, outcomes, wall: float, dispatch_seconds: float, counted: str = "") -> None:
        from orders import reporting

        print()
        print(f"Summary: {report.orders} orders, {self.backend}, time x{self.scale:g}")
        print()
        print(reporting.render(report))
        print(
            f"dispatch: {outcomes['sent']} accepted by znet, {outcomes['rejected']} refused (rejected and refunded"
            f" at once, never monitored), {outcomes['unknown']} unknown, in {dispatch_seconds:.1f} s"
        )
        print(
            f"note: Huey's scheduler wakes once a second, so a check can start up to 1 s late;\n"
            f"  at x{self.scale:g} that alone can add {self.scale:g} provider-seconds to a detection delay."
        )
        print(f"wall time: {wall:.0f} s")
        if counted:
            print(counted)
        print()
        if report.mismatches:
            print(f"MISMATCHES: {len(report.mismatches)} order(s) did not end as the provider decided:")
            for verdict in report.mismatches[:20]:
                print(
                    f"  order {verdict.order} ({reporting.KIND_NAMES.get(verdict.kind, verdict.kind)}): {'; '.join(verdict.problems)}"
                )
        else:
            print("mismatches: 0 -- every order ended as the provider decided (status, PIN, refund).")
        if not self.args.postgres:
            python = Path(sys.executable)
            with contextlib.suppress(ValueError):
                python = python.relative_to(HERE)
            print()
            print(f"The orders stay in {self.var}; to browse them in the admin:")
            print(f"  cd {HERE}")
            print(f"  SHOP_VAR_DIR={self.var} {python} manage.py createsuperuser")
            print(f"  SHOP_VAR_DIR={self.var} {python} manage.py runserver")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def check_imports(argv: list[str]) -> int:
    """``demo.py --check-imports``: exit 0 if this interpreter has what the demo needs."""
    return 1 if missing_modules("--postgres" in argv) else 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    if argv[:1] == ["--check-imports"]:
        return check_imports(argv[1:])
    args = parse_args(argv)
    bootstrap(argv, args.postgres)
    demo = Demo(args)
    atexit.register(demo.cleanup)
    signal.signal(signal.SIGTERM, _interrupt)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, _interrupt)
    try:
        return demo.run()
    except KeyboardInterrupt:
        print("\nInterrupted: stopping the consumer and the fake provider...", flush=True)
        demo.cleanup()
        print("Stopped; nothing left running.")
        return 130
    except DemoError as err:
        print(f"\ndemo: {err}", file=sys.stderr)
        return 1
    finally:
        demo.cleanup()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
