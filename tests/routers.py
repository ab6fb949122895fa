"""A database router for the multi-database tests: ``SHOP_ROUTES`` maps an app label to its database."""

from django.conf import settings


class ShopRouter:
    def _route(self, model):
        return getattr(settings, "SHOP_ROUTES", {}).get(model._meta.app_label)

    def db_for_read(self, model, **hints):
        return self._route(model)

    def db_for_write(self, model, **hints):
        return self._route(model)

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, **hints):
        routed = getattr(settings, "SHOP_ROUTES", {}).get(app_label)
        return db == (routed or "default")
