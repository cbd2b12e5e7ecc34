"""Who may call the data endpoints, and how often: optional API keys (``TWAP_API_KEYS``) and
per-caller rate limits (``TWAP_RATE_LIMIT``) counted by the ``limits`` library, in memory or in
Redis when several API processes share them."""

from __future__ import annotations

import hashlib
import hmac
import math
import time

from fastapi import HTTPException, Request
from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

KEY_HEADER = "X-API-Key"


def _caller(request: Request, key: str | None) -> str:
    """Whom a limit counts: the API key (hashed: it may be stored in Redis), else the address."""
    if key is not None:
        return "key:" + hashlib.sha256(key.encode()).hexdigest()[:32]
    return "addr:" + (request.client.host if request.client else "-")


class AccessControl:
    def __init__(self, api_keys: list[str], rate_limit: str, storage_uri: str):
        self.api_keys = [key.encode() for key in api_keys]
        self.items: list[RateLimitItem] = parse_many(rate_limit) if rate_limit else []
        self.limiter: MovingWindowRateLimiter | None = None
        if self.items:
            uri = storage_uri if storage_uri.startswith("async+") else f"async+{storage_uri}"
            self.limiter = MovingWindowRateLimiter(storage_from_string(uri))

    @property
    def enabled(self) -> bool:
        return bool(self.api_keys or self.items)

    def _known(self, key: str) -> bool:
        given = key.encode()
        return any(hmac.compare_digest(given, known) for known in self.api_keys)

    async def admit(self, request: Request) -> None:
        """Raise 401 for a missing or unknown key (when keys are on), 429 past the limit."""
        key = request.headers.get(KEY_HEADER)
        if self.api_keys and (key is None or not self._known(key)):
            raise HTTPException(
                401,
                f"a valid API key is required in the {KEY_HEADER} header",
                headers={"WWW-Authenticate": KEY_HEADER},
            )
        if self.limiter is None:
            return
        caller = _caller(request, key if self.api_keys else None)
        for item in self.items:
            if not await self.limiter.hit(item, caller):
                stats = await self.limiter.get_window_stats(item, caller)
                retry_after = max(1, math.ceil(stats.reset_time - time.time()))
                raise HTTPException(
                    429,
                    f"rate limit of {item} exceeded: retry in {retry_after} s",
                    headers={"Retry-After": str(retry_after)},
                )
