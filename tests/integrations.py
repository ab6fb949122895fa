"""The shop's side of providers kept in its own rows: a resolver and a loader, shaped like Watan's."""

from tests.testapp.models import Integration

PREFIX = "integration-"
#: How often the loader read the shop's table (tests check the cache).
loads = []


def provider_for_order(order):
    """ORDER_MONITOR_PROVIDER_RESOLVER: the tenant's integration names the provider."""
    integration = Integration.objects.filter(tenant_id=order.tenant_id).order_by("pk").first()
    return f"{PREFIX}{integration.pk}" if integration else None


def load_provider(name):
    """ORDER_MONITOR_PROVIDER_LOADER: the integration's row as a provider configuration."""
    if not name.startswith(PREFIX):
        return None
    loads.append(name)
    row = Integration.objects.filter(pk=int(name[len(PREFIX):])).first()
    if row is None:
        return None
    return {
        "ADAPTER": "django_order_monitor.providers.adapters.znet.ZnetProvider",
        "OPTIONS": {"base_url": row.base_url, "kod": row.kod, "sifre": row.sifre, "read_timeout": 2, "connect_timeout": 1},
        "RATE_LIMIT": None,
    }


def load_broken(name):
    """A loader that forgot the ADAPTER key (its answer holds a credential)."""
    return {"OPTIONS": {"kod": "x", "sifre": "secret-broken"}}
