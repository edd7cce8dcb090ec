"""A small JSON cache in Redis. Best effort: when Redis fails, callers carry on without it."""

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError


class Cache:
    """JSON documents under `prefix + key`, each with a time to live."""

    def __init__(self, redis: Redis, *, prefix: str, ttl_seconds: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl = ttl_seconds

    async def get(self, key: str) -> bytes | None:
        """The cached JSON document, or None when absent or when Redis is unavailable."""
        try:
            value = await self._redis.get(self._prefix + key)
        except RedisError as exc:
            structlog.get_logger().warning("cache_unavailable", operation="get", error=str(exc))
            return None
        # Bytes, unless the client was built with decode_responses=True.
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, document: str | bytes, ttl_seconds: int | None = None) -> None:
        try:
            await self._redis.set(self._prefix + key, document, ex=ttl_seconds or self._ttl)
        except RedisError as exc:
            structlog.get_logger().warning("cache_unavailable", operation="set", error=str(exc))

    async def delete(self, key: str) -> None:
        try:
            await self._redis.delete(self._prefix + key)
        except RedisError as exc:
            # A stale entry would outlive the change, so this one is worth an error.
            structlog.get_logger().error("cache_unavailable", operation="delete", error=str(exc))
