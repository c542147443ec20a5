"""Anonymous writes (sign-ups, confirmations, unsubscribes) limited per client address: a token
bucket per address, kept in this process's memory (each API process counts on its own)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

# Addresses remembered at most; past this the fullest buckets (idle clients) are forgotten.
_MOST_CLIENTS = 100_000


def client_address(scope: Scope, trust_proxy: bool) -> str:
    """The client's address: the peer, or, behind a proxy the operator trusts, the address that
    proxy appended last to X-Forwarded-For (earlier entries are the client's own say-so)."""
    if trust_proxy:
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                last = value.decode("latin-1").rsplit(",", 1)[-1].strip()
                if last:
                    return last
    client = scope.get("client")
    return str(client[0]) if client else ""


class RateLimit:
    """429 with Retry-After once a client has used its burst and the refill has not caught up."""

    def __init__(
        self,
        app: ASGIApp,
        counts: Callable[[Scope], bool],
        burst: int,
        per_minute: float,
        trust_proxy: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.counts = counts
        self.burst = float(burst)
        self.per_second = per_minute / 60
        self.trust_proxy = trust_proxy
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # address: (tokens, when)

    def _take(self, address: str) -> float:
        """0 when the request may go, else the seconds until it may."""
        now = self.clock()
        tokens, when = self._buckets.get(address, (self.burst, now))
        tokens = min(self.burst, tokens + (now - when) * self.per_second)
        if tokens < 1:
            self._buckets[address] = (tokens, now)
            return (1 - tokens) / self.per_second if self.per_second > 0 else 3600.0
        if len(self._buckets) >= _MOST_CLIENTS and address not in self._buckets:
            self._forget_idle(now)
        self._buckets[address] = (tokens - 1, now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        full = [
            a
            for a, (t, w) in self._buckets.items()
            if t + (now - w) * self.per_second >= self.burst
        ]
        for address in full or list(self._buckets)[: _MOST_CLIENTS // 10]:
            del self._buckets[address]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.counts(scope):
            wait = self._take(client_address(scope, self.trust_proxy))
            if wait > 0:
                seconds = max(1, math.ceil(wait))
                answer = JSONResponse(
                    {"detail": f"too many requests from this address; try again in {seconds} s"},
                    429,
                    headers={"Retry-After": str(seconds)},
                )
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)
