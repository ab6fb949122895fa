"""Provider etiquette: at most N calls in flight and a minimum gap between calls, per provider.

The limits are shared by every consumer through Redis (atomic Lua scripts on
Redis' own clock); without Redis they hold per process. A check that cannot
get a slot within ``max_wait`` is deferred, not failed.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..conf import app_settings
from . import provider_config
from ..exceptions import OrderMonitorError

logger = logging.getLogger(__name__)

#: An in-flight slot of a killed worker frees itself after this long.
SLOT_TTL_SECONDS = 60


class RateLimited(OrderMonitorError):
    """No call slot within max_wait: the check is deferred (not a failure)."""


@dataclass(frozen=True)
class Limits:
    min_interval: float = 0.0
    max_concurrent: int = 0  # 0: no limit
    max_wait: float = 10.0

    @classmethod
    def for_provider(cls, provider: str) -> Limits | None:
        config = provider_config(provider) or {}
        raw = config["RATE_LIMIT"] if "RATE_LIMIT" in config else app_settings.RATE_LIMIT
        if not raw:
            return None
        return cls(
            min_interval=float(raw.get("min_interval", 0)),
            max_concurrent=int(raw.get("max_concurrent", 0)),
            max_wait=float(raw.get("max_wait", 10)),
        )


# KEYS[1] = in-flight zset (token -> expiry ms); ARGV = ttl_ms, max, token. Returns 1 if taken.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
  return 1
end
return 0
"""
# KEYS[1] = next-free-moment key, ARGV[1] = interval_ms. Returns ms to wait for our turn.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, nxt)
redis.call('SET', KEYS[1], slot + tonumber(ARGV[1]), 'PX', tonumber(ARGV[1]) + 60000)
return slot - now
"""


class _RedisBackend:
    """Limits shared by every process using the same Redis and the same ``scope``.

    The scope is the shop's Huey name: its consumers share one budget per
    provider, and two shops on one Redis database keep separate budgets.
    """

    def __init__(self, client: Any, scope: str) -> None:
        self.client = client
        self.prefix = f"order_monitor:{scope}:"
        self.acquire_script = client.register_script(_ACQUIRE)
        self.reserve_script = client.register_script(_RESERVE)

    def try_acquire(self, provider: str, limit: int, token: str) -> bool:
        key = f"{self.prefix}{provider}:inflight"
        return bool(self.acquire_script(keys=[key], args=[SLOT_TTL_SECONDS * 1000, limit, token]))

    def release(self, provider: str, token: str) -> None:
        self.client.zrem(f"{self.prefix}{provider}:inflight", token)

    def reserve(self, provider: str, interval: float) -> float:
        return int(self.reserve_script(keys=[f"{self.prefix}{provider}:next"], args=[int(interval * 1000)])) / 1000


class _LocalBackend:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.inflight: dict[str, set[str]] = {}
        self.next_free: dict[str, float] = {}

    def try_acquire(self, provider: str, limit: int, token: str) -> bool:
        with self.lock:
            tokens = self.inflight.setdefault(provider, set())
            if len(tokens) >= limit:
                return False
            tokens.add(token)
            return True

    def release(self, provider: str, token: str) -> None:
        with self.lock:
            self.inflight.get(provider, set()).discard(token)

    def reserve(self, provider: str, interval: float) -> float:
        with self.lock:
            now = time.monotonic()
            slot = max(now, self.next_free.get(provider, 0.0))
            self.next_free[provider] = slot + interval
            return slot - now


_backend_lock = threading.Lock()
_backend: _RedisBackend | _LocalBackend | None = None


def backend() -> _RedisBackend | _LocalBackend:
    global _backend
    with _backend_lock:
        if _backend is None:
            _backend = _make_backend()
        return _backend


def reset_backend() -> None:
    global _backend
    with _backend_lock:
        _backend = None


#: The task queue's name (scopes the Redis keys) and its Redis connection, if any:
#: given by ``tasks.py``, the one module that knows Huey.
_queue_name = "order-monitor"
_queue_redis: Any = None


def share_with_queue(name: str, redis_connection: Any = None) -> None:
    """Scope the limits by the queue's name and, without REDIS_URL, share the queue's Redis."""
    global _queue_name, _queue_redis
    _queue_name, _queue_redis = name, redis_connection
    reset_backend()


def _make_backend() -> _RedisBackend | _LocalBackend:
    url = app_settings.REDIS_URL
    if url:
        import redis

        return _RedisBackend(redis.Redis.from_url(url), _queue_name)
    if _queue_redis is not None and hasattr(_queue_redis, "register_script"):
        return _RedisBackend(_queue_redis, _queue_name)
    return _LocalBackend()


@contextlib.contextmanager
def call_slot(provider: str) -> Iterator[float]:
    """Hold a call slot for ``provider`` while the body runs; yields seconds waited.

    Raises :class:`RateLimited` when no slot frees up within ``max_wait``.
    """
    limits = Limits.for_provider(provider)
    if limits is None:
        yield 0.0
        return
    chosen = backend()
    token = uuid.uuid4().hex
    started = time.monotonic()
    deadline = started + limits.max_wait
    if limits.max_concurrent:
        pause = 0.005
        while not chosen.try_acquire(provider, limits.max_concurrent, token):
            if time.monotonic() >= deadline:
                raise RateLimited(f"{provider}: no free call slot within {limits.max_wait:g}s")
            time.sleep(pause)
            pause = min(pause * 2, 0.1)
    try:
        if limits.min_interval:
            wait = chosen.reserve(provider, limits.min_interval)
            if wait > 0:
                time.sleep(wait)
        yield time.monotonic() - started
    finally:
        if limits.max_concurrent:
            chosen.release(provider, token)
