"""The example shop's project package (settings, URLs, WSGI)."""

import sys
from pathlib import Path

# Run from a checkout without `pip install -e .`: the library then comes from
# the repository this example lives in. An installed copy always wins.
try:
    import django_order_monitor  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
