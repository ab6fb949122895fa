"""Command line for the fake znet server: ``python -m django_order_monitor.testing.fake_znet``.

Prints the base URL on the first line of stdout, then serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from .faults import (
    ENDPOINTS,
    FaultConfig,
    FaultKind,
    parse_latency,
    parse_rate,
)
from .plans import parse_mix
from .server import FakeZnetServer

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m django_order_monitor.testing.fake_znet",
        description="Serve a fake znet provider (pin_ekle, pin_kontrol, bakiye_kontrol) for demos and tests.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0 picks a free one)")
    parser.add_argument("--kod", default="demo", help="dealer code clients must send (default: demo)")
    parser.add_argument("--sifre", default="demo-secret", help="password clients must send")
    parser.add_argument("--seed", default="0", help="seed of order plans and faults (default: 0)")
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="compress time: 60 makes a 30 min delay last 30 s (default: 1)")
    parser.add_argument("--mix", default="reference",
                        help='order mix, "reference" or e.g. "completed:5-30=0.7,failed:10-120=0.3"')
    parser.add_argument("--fault-rate", action="append", default=[], metavar="KIND=RATE",
                        help="inject a fault at a rate; repeatable or comma separated "
                             f"(kinds: {', '.join(k.value for k in FaultKind)}, bom)")
    parser.add_argument("--fault-endpoints", default="pin_kontrol",
                        help="comma separated endpoints faults apply to "
                             f"(default: pin_kontrol; any of {', '.join(ENDPOINTS)})")
    parser.add_argument("--slow-seconds", type=float, default=30.0, help="delay of a slow reply (default: 30)")
    parser.add_argument("--latency-ms", default=None, help='base latency, "50" or "20-200" milliseconds')
    parser.add_argument("--outage", choices=[k.value for k in FaultKind], default=None,
                        help="start in an outage: every request fails this way")
    parser.add_argument("--auto-register", action="store_true",
                        help="treat an unknown reference as a new order on its first status check")
    parser.add_argument("--balance", type=float, default=100_000.0, help="starting balance")
    parser.add_argument("--log-level", default="WARNING", help="logging level (default: WARNING)")
    return parser


def _fault_config(args: argparse.Namespace) -> FaultConfig:
    rates: dict[str, float] = {}
    for item in args.fault_rate:
        for part in item.split(","):
            if part.strip():
                name, rate = parse_rate(part)
                rates[name] = rate
    endpoints = frozenset(e.strip() for e in args.fault_endpoints.split(",") if e.strip())
    return FaultConfig(
        **rates,
        slow_seconds=args.slow_seconds,
        latency_ms=parse_latency(args.latency_ms),
        outage=FaultKind(args.outage) if args.outage else None,
        endpoints=endpoints,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server until SIGINT/SIGTERM; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        seed: int | str = int(args.seed)
    except ValueError:
        seed = args.seed
    try:
        server = FakeZnetServer(
            args.host, args.port, kod=args.kod, sifre=args.sifre, seed=seed,
            time_scale=args.time_scale, mix=parse_mix(args.mix), faults=_fault_config(args),
            auto_register=args.auto_register, balance=args.balance,
        )
    except ValueError as err:
        parser.error(str(err))
    if args.host not in _LOOPBACK:
        print(f"fake-znet: warning: binding {args.host}, not loopback; this fake has no real security",
              file=sys.stderr)

    done = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        done.set()

    # Signals only set a flag; the main thread stops the server. Calling shutdown()
    # from a handler running on the serving thread would deadlock.
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        server.start()
    except OSError as err:
        print(f"fake-znet: cannot listen on {args.host}:{args.port}: {err.strerror or err}", file=sys.stderr)
        return 1
    # The password is not printed: it is a credential, even for a fake.
    print(f"fake-znet listening on {server.url} (kod={args.kod}, seed={seed}, time_scale={args.time_scale:g})",
          flush=True)
    try:
        while not done.wait(0.5):  # a timed wait keeps Ctrl-C responsive on Windows
            pass
    finally:
        server.stop()
    print("fake-znet stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
