"""Benchmarks of django-order-monitor: throughput, hook overhead, sweep at scale, detection
delay against provider load (real stack and simulation), batch status, memory, and detection
under a provider call budget shared with dispatch (a simulation: ``--only budget``).

Run everything (about 20 minutes on 2 cores; needs PostgreSQL and Redis, see
``benchmarks/settings.py`` for the environment)::

    python -m benchmarks            # full run
    python -m benchmarks --quick    # smaller sizes, about 5 minutes
    python -m benchmarks --only sim,detection

Each section prints a table; all figures are medians over repeated runs where
repeated. Results also go to ``benchmarks/results/`` (latest.json, latest.txt).
The published figures and their conditions are in ``docs/benchmarks.rst``.
"""
