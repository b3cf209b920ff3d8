"""Per-driver rate limits: token buckets, in this process or shared through Redis.

``take(subject)`` answers 0 when the request may go on, else the seconds to wait
(``Retry-After``). One process keeps its own buckets (``LocalRateLimiter``). Replicas
behind a load balancer share theirs through Redis (``RedisRateLimiter``, set
``PROCTOR_RATE_LIMIT_REDIS_URL``): one Lua script refills and takes atomically on the
Redis server's clock, so replicas with skewed clocks agree. When Redis cannot be
reached the limiter lets the request through and logs a warning: a rate limit
protects capacity, and the matching pool's 503 shedding still bounds the load.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

log = logging.getLogger("proctor.api.ratelimit")


class RateLimiter(Protocol):
    async def take(self, subject: str) -> float: ...

    async def close(self) -> None: ...


class LocalRateLimiter:
    """Per-subject token buckets in this process (each replica keeps its own)."""

    def __init__(self, per_min: float, burst: int) -> None:
        self.rate = per_min / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    async def take(self, subject: str) -> float:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(subject, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[subject] = (tokens - 1.0, now)
                return 0.0
            self._buckets[subject] = (tokens, now)
            return (1.0 - tokens) / self.rate if self.rate > 0 else 60.0

    async def close(self) -> None:
        return None


# KEYS[1] = bucket; ARGV = rate per second, burst, key lifetime (s). Returns the wait (s).
_TAKE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(b[1]), tonumber(b[2])
if tokens == nil then tokens, at = burst, t end
tokens = math.min(burst, tokens + math.max(0, t - at) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
elseif rate > 0 then
  wait = (1 - tokens) / rate
else
  wait = 60
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(t))
redis.call('EXPIRE', KEYS[1], ARGV[3])
return tostring(wait)
"""


class RedisRateLimiter:
    """Token buckets shared by every replica that uses the same Redis and prefix."""

    def __init__(self, url: str, per_min: float, burst: int, prefix: str = "proctor:rl:") -> None:
        import redis.asyncio as aioredis

        self.rate = per_min / 60.0
        self.burst = burst
        self._prefix = prefix
        # a full bucket refills in burst / rate seconds; keep the key a little longer
        self._ttl = max(60, int(burst / self.rate) + 60) if self.rate > 0 else 3600
        self._redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=0.5, socket_timeout=0.5, decode_responses=True
        )
        self._script = self._redis.register_script(_TAKE)
        self._warned_at = 0.0

    async def take(self, subject: str) -> float:
        try:
            wait = await self._script(
                keys=[self._prefix + subject], args=[self.rate, self.burst, self._ttl]
            )
        except Exception as exc:  # Redis down or slow: let the request through
            now = time.monotonic()
            if now - self._warned_at > 30.0:  # at most one warning per 30 s
                self._warned_at = now
                log.warning("rate limit store unreachable, requests pass: %s", type(exc).__name__)
            return 0.0
        return float(wait)

    async def close(self) -> None:
        await self._redis.aclose()


def build_rate_limiter(
    per_min: float, burst: int, redis_url: str | None, prefix: str = "proctor:rl:"
) -> RateLimiter:
    if redis_url:
        return RedisRateLimiter(redis_url, per_min, burst, prefix)
    return LocalRateLimiter(per_min, burst)
