"""Run the benchmark sections, each in its own process, and print every table.

    python -m benchmarks [--quick] [--only sim,detection,...]

Sections: throughput, hook, sweep, detection (real stack + simulation), batch, memory.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time

from benchmarks import stack

SECTIONS = {
    "hook": "benchmarks.hook",
    "sweep": "benchmarks.sweep_scale",
    "throughput": "benchmarks.throughput",
    "batch": "benchmarks.batch",
    "detection": "benchmarks.detection",
    "memory": "benchmarks.memory",
}


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    memory = next((int(line.split()[1]) // 1024 // 1024 for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0)
    return f"{os.cpu_count()} cores ({cpu}), {memory} GB RAM, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about 5 minutes)")
    parser.add_argument("--only", default="", help="comma-separated sections: " + ", ".join(SECTIONS))
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()] or list(SECTIONS)
    env = stack.consumer_env()
    header = f"django-order-monitor benchmarks ({'quick' if args.quick else 'full'}) on {machine()}"
    print(header, flush=True)
    texts, failed = [header], []
    for name in chosen:
        started = time.monotonic()
        print(f"\n== {name} ==", flush=True)
        code = subprocess.call([sys.executable, "-m", SECTIONS[name], *(["--quick"] if args.quick else [])], cwd=stack.ROOT, env=env)
        took = time.monotonic() - started
        print(f"({name}: {took:.0f} s, exit {code})", flush=True)
        if code:
            failed.append(name)
        result = stack.RESULTS / f"{name if name != 'sweep' else 'sweep_scale'}.txt"
        texts.append(f"\n== {name} ({took:.0f} s) ==\n" + (result.read_text() if result.exists() and not code else f"FAILED (exit {code})"))
    (stack.RESULTS / "latest.txt").write_text("\n".join(texts) + "\n")
    if failed:
        print("failed sections:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
