"""The shop's orders (and so the monitor's tables) on a second database, ``shop``.

Users, sessions and the admin's log stay on ``default``; a router sends the order
model's app and ``order_monitor`` to ``shop``. Run by runtests.py as its own pass
(``tests/multidb/``).
"""

from tests.settings import *  # noqa: F401,F403

DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
    "shop": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
}
DATABASE_ROUTERS = ["tests.routers.ShopRouter"]
SHOP_ROUTES = {"testapp": "shop", "order_monitor": "shop"}
