"""Run the benchmark sections, each in its own process, and print every table.

    python -m benchmarks [--quick] [--only sim,detection,...]

Sections: throughput, hook, sweep, detection (real stack + simulation), batch, memory,
budget (simulation: schedules under a provider call budget shared with dispatch),
admission (what one budget admission costs on Redis), and, only when named in ``--only``
(14 minutes, or 7 with ``--quick``), budget_stack (one mix and load of budget on the real
stack, against the simulation of the same run).
``benchmarks/results/latest.txt`` always holds the latest result of every
section, so re-running some sections (``--only``) updates just those.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
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
    "budget": "benchmarks.budget",
    "admission": "benchmarks.admission",
    "budget_stack": "benchmarks.budget_stack",
}
#: Run only when named in --only: they take long.
OPT_IN = {"budget_stack"}


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    memory = next((int(line.split()[1]) // 1024 // 1024 for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0)
    return f"{os.cpu_count()} cores ({cpu}), {memory} GB RAM, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def _previous_blocks(path) -> dict[str, str]:
    """The sections of an earlier latest.txt, by name (header line and body)."""
    blocks: dict[str, str] = {}
    if not path.exists():
        return blocks
    for block in re.split(r"\n(?=== )", path.read_text())[1:]:
        blocks[block[3:].split(" ", 1)[0]] = block
    return blocks


def _summary(timings: dict, previous: dict[str, str]) -> str:
    """Every section's latest result, with when, how and on what machine it ran.

    A section not run here (no timing, or no result file: a fresh checkout)
    keeps its block from the previous latest.txt.
    """
    texts = ["django-order-monitor benchmarks: the latest result of each section (python -m benchmarks)"]
    for name in SECTIONS:
        run = timings.get(name)
        result = stack.RESULTS / f"{name if name != 'sweep' else 'sweep_scale'}.txt"
        if run is None or (not result.exists() and not run["exit"]):
            if name in previous:
                texts.append("\n" + previous[name].rstrip("\n") + "\n")
            continue
        body = result.read_text() if result.exists() and not run["exit"] else f"FAILED (exit {run['exit']})\n"
        texts.append(f"\n== {name} ({run['mode']} run, {run['seconds']} s, {run['finished']}; {run['machine']}) ==\n{body}")
    return "\n".join(texts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about 5 minutes)")
    sections = ", ".join(f"{name} (opt-in)" if name in OPT_IN else name for name in SECTIONS)
    parser.add_argument("--only", default="", help="comma-separated sections: " + sections)
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()] or [s for s in SECTIONS if s not in OPT_IN]
    env = stack.consumer_env()
    header = f"django-order-monitor benchmarks ({'quick' if args.quick else 'full'}) on {machine()}"
    print(header, flush=True)
    timings_path = stack.RESULTS / "timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    failed = []
    for name in chosen:
        started = time.monotonic()
        print(f"\n== {name} ==", flush=True)
        code = subprocess.call([sys.executable, "-m", SECTIONS[name], *(["--quick"] if args.quick else [])], cwd=stack.ROOT, env=env)
        took = time.monotonic() - started
        print(f"({name}: {took:.0f} s, exit {code})", flush=True)
        if code:
            failed.append(name)
        timings[name] = {"seconds": round(took), "exit": code, "mode": "quick" if args.quick else "full",
                         "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine()}
        timings_path.write_text(json.dumps(timings, indent=1))
    latest = stack.RESULTS / "latest.txt"
    latest.write_text(_summary(timings, _previous_blocks(latest)))
    if failed:
        print("failed sections:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
