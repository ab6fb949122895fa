"""The example project's tests (example_project/tests/), collected into runtests.py's two passes.

They drive the example shop in subprocesses, so each variant runs once: the embedded one
(SQLite + SqliteHuey, and the demo's interruption test) in the SQLite pass, the
PostgreSQL + Redis one (marked ``services``) in the second pass. Running a variant in
the pass of its own backend keeps each pass's extra time to about a minute and gives the
PostgreSQL variant the same skip-or-fail rule as the other integration tests.
"""

import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parents[1] / "example_project" / "tests" / "test_example_shop.py"
_spec = importlib.util.spec_from_file_location("example_project_tests", _PATH)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
_module.COLLECTED_BY_LIBRARY_SUITE = True  # run each variant in the pass of its backend

shop = _module.shop
test_shop_follows_every_order_to_the_end = _module.test_shop_follows_every_order_to_the_end
test_demo_runs_to_a_clean_summary = _module.test_demo_runs_to_a_clean_summary
test_demo_interrupted_leaves_nothing_running = _module.test_demo_interrupted_leaves_nothing_running
