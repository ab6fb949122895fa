"""HTTP endpoints: the provider callback and the metrics. Include ``django_order_monitor.urls`` to enable them."""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import metrics, push

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
