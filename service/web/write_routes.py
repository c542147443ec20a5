"""Which routes write, and which of those need an organizer token: read from the routes' own
dependencies, so that a new route is guarded (or rate limited) without a list to keep."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import compile_path
from starlette.types import Scope

from service.web.auth import require_organizer

READS = frozenset({"GET", "HEAD", "OPTIONS"})


def _needs_organizer(dependant: Dependant) -> bool:
    return any(
        sub.call is require_organizer or _needs_organizer(sub) for sub in dependant.dependencies
    )


@dataclass(frozen=True)
class _Write:
    pattern: re.Pattern[str]
    methods: frozenset[str]


class WriteRoutes:
    """The app's write routes (included routers too, with their prefixes), by who may call."""

    def __init__(self, api: FastAPI) -> None:
        self.organizer: list[_Write] = []
        self.anonymous: list[_Write] = []
        for context in iter_route_contexts(api.routes):
            route = context.original_route
            methods = frozenset(context.methods or ()) - READS
            if not isinstance(route, APIRoute) or not methods or context.path is None:
                continue
            write = _Write(compile_path(context.path)[0], methods)
            (self.organizer if _needs_organizer(route.dependant) else self.anonymous).append(write)

    @staticmethod
    def _matches(writes: list[_Write], scope: Scope) -> bool:
        method, path = scope["method"], scope["path"]
        return any(method in w.methods and w.pattern.match(path) for w in writes)

    def is_organizer_write(self, scope: Scope) -> bool:
        return scope["method"] not in READS and self._matches(self.organizer, scope)

    def is_anonymous_write(self, scope: Scope) -> bool:
        return scope["method"] not in READS and self._matches(self.anonymous, scope)
