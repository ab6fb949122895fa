"""Provider etiquette: at most N calls in flight and a minimum gap between calls, per provider.

The limits are shared by every consumer through Redis (atomic Lua scripts on
Redis' own clock); without Redis they hold per process. A check that cannot
start its call within ``max_wait`` is deferred, not failed.

Contract: a slot is taken at the moment the call starts (turn and slot in one
atomic step), never while waiting; each slot expires on its own after the
provider's call deadline plus ``CALL_SLOT_GRACE``, so a SIGKILLed worker's
slots come back within that bound.

Dispatch calls (``place_order`` through an adapter from
:func:`~django_order_monitor.providers.get_provider`) share the same limits and
go first: while one waits for its turn, no status check takes one. Each is
counted, so the call budget (:mod:`~django_order_monitor.engine.budget`),
whose state is kept here beside the limits (``backend().budget_state``), leaves
the checks only the calls dispatch did not take.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from django.utils.module_loading import import_string

from ..conf import app_settings, finite_number
from ..exceptions import OrderMonitorError
from . import provider_config

logger = logging.getLogger(__name__)

#: Slot tokens name their process, so an operator looking at Redis sees whose slots they are.
_TOKEN_PREFIX = f"{socket.gethostname()}:{os.getpid()}:"


class RateLimited(OrderMonitorError):
    """No call slot within max_wait: nothing was sent. A check is deferred (not a
    failure); a dispatch may be sent again later."""


Result = TypeVar("Result")
#: A change of a shared state: (its values, dispatch calls counted so far) -> (new values, result).
Change = Callable[[dict[str, float], int], "tuple[dict[str, float], Result]"]


class SharedState(Protocol):
    """A provider's budget state, changed atomically, beside the count of its dispatch calls."""

    def update(self, change: Change[Result]) -> Result:
        """Apply ``change`` atomically; returns its result. ``change`` may run more than once."""

    def count_dispatch(self) -> None:
        """Count one dispatch call."""

    def clear(self) -> None:
        """Forget the values (tests; the count of dispatch calls stays)."""


class LocalState:
    """A :class:`SharedState` kept in this process (no Redis; a simulation)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: dict[str, float] = {}
        self.dispatched = 0

    def update(self, change: Change[Result]) -> Result:
        with self.lock:
            self.values, result = change(dict(self.values), self.dispatched)
            return result

    def count_dispatch(self) -> None:
        with self.lock:
            self.dispatched += 1

    def clear(self) -> None:
        with self.lock:
            self.values = {}


class _RedisState:
    """A :class:`SharedState` in a Redis hash, changed under WATCH (optimistic, retried on a race
    with another process; the threads of one process take turns, so they never race each other)."""

    def __init__(self, client: Any, key: str, counter_key: str) -> None:
        self.client, self.key, self.counter_key = client, key, counter_key
        self.turns = threading.Lock()

    def update(self, change: Change[Result]) -> Result:
        import redis

        with self.turns, self.client.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(self.key)
                    values = {k.decode(): float(v) for k, v in pipe.hgetall(self.key).items()}
                    changed, result = change(values, int(pipe.get(self.counter_key) or 0))
                    pipe.multi()
                    if changed:
                        pipe.hset(self.key, mapping=changed)
                        pipe.expire(self.key, _STATE_SECONDS)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue

    def count_dispatch(self) -> None:
        self.client.incr(self.counter_key)

    def clear(self) -> None:
        self.client.delete(self.key)


#: A budget state unused this long is forgotten (it rebuilds from nothing at once).
_STATE_SECONDS = 86400


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


def slot_seconds(provider: str) -> float:
    """How long a call slot of ``provider`` lives at most: its call deadline + CALL_SLOT_GRACE.

    An adapter that cannot bound its calls (no ``call_deadline``) gets LEASE_SECONDS,
    the bound of any check. A live call never outlasts its slot; a dead worker's
    slot is free again this long after its call started.
    """
    grace = float(app_settings.CALL_SLOT_GRACE)
    try:
        config = provider_config(provider) or {}
        deadline = finite_number(import_string(config["ADAPTER"]).call_deadline(config.get("OPTIONS", {})))
    # A provider the checks refused (no adapter, bad options) still gets a bounded slot.
    except Exception:
        deadline = None
    if deadline is None:
        return float(app_settings.LEASE_SECONDS)
    return deadline + grace


# Turn and slot in one step, on Redis' clock, in microseconds (milliseconds would let a 20 ms
# gap shrink to 19: 11 calls where 10 are allowed). KEYS[1] = in-flight zset (token -> expiry),
# KEYS[2] = next-free-moment key, KEYS[3] = waiting dispatch calls (token -> expiry),
# KEYS[4] = count of dispatch calls; ARGV = slot ttl, max (0: no limit), interval, token,
# 1 for a dispatch call (else 0), how long a waiting dispatch call holds the others back at most.
# Returns 0 when the call may start now (slot taken, turn used), else microseconds to wait.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ttl, limit, interval = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local dispatch = ARGV[5] == '1'
local function ms(us)
  return math.ceil(us / 1000)
end
local function wait(us)
  if dispatch then
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[6]), ARGV[4])
    redis.call('PEXPIRE', KEYS[3], ms(tonumber(ARGV[6])))
  end
  return us
end
if not dispatch then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if redis.call('ZCARD', KEYS[3]) > 0 then
    return math.max(1000, interval)
  end
end
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
if nxt > now then
  return wait(nxt - now)
end
if limit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  if redis.call('ZCARD', KEYS[1]) >= limit then
    local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return wait(math.max(1000, math.min(100000, tonumber(first[2]) - now)))
  end
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ms(ttl))
end
if interval > 0 then
  redis.call('SET', KEYS[2], now + interval, 'PX', ms(interval) + 1000)
end
if dispatch then
  redis.call('ZREM', KEYS[3], ARGV[4])
  redis.call('INCR', KEYS[4])
end
return 0
"""


class _RedisBackend:
    """Limits shared by every process using the same Redis and the same ``scope``.

    The scope is the shop's Huey name: its consumers share one budget per
    provider, and two shops on one Redis database keep separate budgets.
    """

    def __init__(self, client: Any, scope: str) -> None:
        self.client = client
        self.prefix = f"order_monitor:{scope}:"
        self.take_script = client.register_script(_TAKE)
        self.states: dict[str, _RedisState] = {}
        self.states_lock = threading.Lock()

    def try_take(self, provider: str, limits: Limits, token: str, ttl: float, dispatch: bool = False) -> float:
        """0 when the call may start now (its slot is held under ``token``), else seconds to wait.

        A waiting ``dispatch`` call holds the status checks back until it has its turn.
        """
        keys = [f"{self.prefix}{provider}:{part}" for part in ("inflight", "next", "dispatch_waiting", "dispatched")]
        args = [
            int(ttl * 1e6), limits.max_concurrent, math.ceil(limits.min_interval * 1e6), token,
            int(dispatch), int((limits.max_wait + 1) * 1e6),
        ]
        return int(self.take_script(keys=keys, args=args)) / 1e6

    def budget_state(self, provider: str) -> SharedState:
        """The call budget's state of ``provider``, shared by every process of the shop."""
        with self.states_lock:
            if provider not in self.states:
                keys = f"{self.prefix}{provider}:budget", f"{self.prefix}{provider}:dispatched"
                self.states[provider] = _RedisState(self.client, *keys)
            return self.states[provider]

    def release(self, provider: str, token: str) -> None:
        self.client.zrem(f"{self.prefix}{provider}:inflight", token)

    def holders(self, provider: str) -> list[str]:
        """Tokens of the slots held now (``host:pid:...``), expired ones left out."""
        now_us = int(time.time() * 1e6)
        return [t.decode() for t in self.client.zrangebyscore(f"{self.prefix}{provider}:inflight", now_us, "+inf")]


class _LocalBackend:
    """The same limits within one process (no Redis): what a single consumer needs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.inflight: dict[str, dict[str, float]] = {}  # provider -> token -> expiry (monotonic)
        self.next_free: dict[str, float] = {}
        self.dispatch_waiting: dict[str, dict[str, float]] = {}  # provider -> token -> expiry (monotonic)
        self.states: dict[str, LocalState] = {}
        self.states_lock = threading.Lock()  # apart: try_take counts dispatch calls while holding self.lock

    def try_take(self, provider: str, limits: Limits, token: str, ttl: float, dispatch: bool = False) -> float:
        with self.lock:
            now = time.monotonic()
            waiting = {t: expiry for t, expiry in self.dispatch_waiting.get(provider, {}).items() if expiry > now}
            self.dispatch_waiting[provider] = waiting
            if not dispatch and waiting:
                return max(0.001, limits.min_interval)
            wait = self.next_free.get(provider, 0.0) - now
            if wait <= 0 and limits.max_concurrent:
                held = {t: expiry for t, expiry in self.inflight.get(provider, {}).items() if expiry > now}
                self.inflight[provider] = held
                if len(held) >= limits.max_concurrent:
                    wait = min(0.1, max(0.001, min(held.values()) - now))
            if wait > 0:
                if dispatch:
                    waiting[token] = now + limits.max_wait + 1
                return wait
            if limits.max_concurrent:
                self.inflight[provider][token] = now + ttl
            if limits.min_interval:
                self.next_free[provider] = now + limits.min_interval
            if dispatch:
                waiting.pop(token, None)
                self.budget_state(provider).count_dispatch()
            return 0.0

    def budget_state(self, provider: str) -> LocalState:
        """The call budget's state of ``provider`` in this process."""
        with self.states_lock:
            return self.states.setdefault(provider, LocalState())

    def release(self, provider: str, token: str) -> None:
        with self.lock:
            self.inflight.get(provider, {}).pop(token, None)

    def holders(self, provider: str) -> list[str]:
        with self.lock:
            now = time.monotonic()
            return [t for t, expiry in self.inflight.get(provider, {}).items() if expiry > now]


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
def call_slot(provider: str, *, dispatch: bool = False) -> Iterator[float]:
    """Hold a call slot for ``provider`` while the body (the call) runs; yields seconds waited.

    Waits for its turn and a free slot without holding one, and takes both at
    once. A ``dispatch`` call goes before any status check and is counted against
    the call budget. Raises :class:`RateLimited` when the call cannot start within
    ``max_wait``.
    """
    limits = Limits.for_provider(provider)
    if limits is None or not (limits.max_concurrent or limits.min_interval):
        yield 0.0
        return
    chosen = backend()
    token = _TOKEN_PREFIX + uuid.uuid4().hex
    ttl = slot_seconds(provider)
    started = time.monotonic()
    deadline = started + limits.max_wait
    while True:
        wait = chosen.try_take(provider, limits, token, ttl, dispatch)
        if wait <= 0:
            break
        if time.monotonic() + wait > deadline:
            raise RateLimited(f"{provider}: no free call slot within {limits.max_wait:g}s")
        time.sleep(wait)
    try:
        yield time.monotonic() - started
    finally:
        if limits.max_concurrent:
            chosen.release(provider, token)
