"""HTTP endpoints: the provider callback, the metrics and the health view. Include ``django_order_monitor.urls``."""

from __future__ import annotations

import hmac
import logging

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from . import metrics, push
from .conf import app_settings
from .engine import health

logger = logging.getLogger(__name__)


@csrf_exempt  # authenticated by the HMAC signature, not a session
@require_POST
def provider_callback(request: HttpRequest, provider: str) -> JsonResponse:
    """Accept a provider's signed status push; answers JSON, never echoes the PIN."""
    try:
        outcome = push.handle(
            provider,
            request.headers.get(push.TIMESTAMP_HEADER, ""),
            request.headers.get(push.SIGNATURE_HEADER, ""),
            request.body,
        )
    except push.CallbackRejected as rejected:
        logger.warning("Callback from %s rejected: %s", provider, rejected.reason)
        return JsonResponse({"ok": False, "error": rejected.reason}, status=rejected.status)
    return JsonResponse({"ok": True, "applied": outcome.applied, "state": outcome.state})


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus scrape of this process, when ORDER_MONITOR_METRICS is set (404 otherwise).

    For a scraper with METRICS' TOKEN as a bearer token, or staff who may view the ledger.
    """
    if not metrics.enabled():
        raise Http404("ORDER_MONITOR_METRICS is not set")
    if not metrics.available():
        return HttpResponse("prometheus-client is not installed\n", status=503, content_type="text/plain")
    if not (metrics.token_matches(request.headers.get("Authorization", "")) or metrics.may_view(getattr(request, "user", None))):
        response = HttpResponse("a bearer token or a staff login is required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = "Bearer"
        return response
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)


@never_cache
@require_GET
def health_view(request: HttpRequest) -> JsonResponse:
    """The monitor's health as JSON: 200 when none of the problems asked about is present, else 503.

    ``?fail_on=overdue,stuck`` narrows the problems that make it 503 (default:
    all of ``health.PROBLEMS``). Open to staff logins and, when
    ``ORDER_MONITOR_HEALTH_TOKEN`` is set, to ``Authorization: Bearer <token>``
    (probes and load balancers); anyone else gets 401.
    """
    if not _may_see_health(request):
        response = JsonResponse({"ok": False, "error": "staff login or health token required"}, status=401)
        response["WWW-Authenticate"] = "Bearer"
        return response
    asked = [name.strip() for name in request.GET.get("fail_on", ",".join(health.PROBLEMS)).split(",") if name.strip()]
    unknown = [name for name in asked if name not in health.PROBLEMS]
    if unknown:
        return JsonResponse({"ok": False, "error": f"unknown problems {unknown}; known: {list(health.PROBLEMS)}"}, status=400)
    state = health.check()
    failing = [line.split(":", 1)[0] for line in state.problems(asked)]
    return JsonResponse({"ok": not failing, "failing": failing, **state.as_dict()}, status=503 if failing else 200)


def _may_see_health(request: HttpRequest) -> bool:
    """Staff who may view the ledger (as for the dashboard and the metrics), or HEALTH_TOKEN as a bearer token."""
    if metrics.may_view(getattr(request, "user", None)):
        return True
    token = app_settings.HEALTH_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(isinstance(token, str) and token and scheme.lower() == "bearer"
                and hmac.compare_digest(given.strip().encode(), token.encode()))
