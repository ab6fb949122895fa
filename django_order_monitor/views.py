"""HTTP endpoints: the provider callback. Include ``django_order_monitor.urls`` to enable it."""

from __future__ import annotations

import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import push

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
