"""Admin routes behind ``--admin-token``, and the per-tenant counters they report.

``GET /admin/tenants`` lists per-namespace request and hit counts (namespaces are HMACs of API
keys, see ``_tenant``: the key itself is never stored or shown); ``POST /admin/namespace`` maps an
API key to its namespace (the key is hashed in memory and forgotten); ``DELETE
/admin/namespaces/{namespace}`` removes every entry of one namespace. Without a configured token
every admin route answers 404, so a proxy that was not set up for administration exposes none.
The token travels as ``Authorization: Bearer <token>`` or ``X-Cacheback-Admin-Token``.
"""

from __future__ import annotations

import hmac
import json
import threading
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._state import ProxyState, attached
from ._tenant import NamespaceError

__all__ = ["TenantCounters", "admin_routes", "count_tenant", "is_admin"]

_MAX_TENANTS = 10_000


class TenantCounters:
    """Requests and hits per namespace in this process (bounded: the oldest tenant beyond
    ``_MAX_TENANTS`` is forgotten)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = {}

    def count(self, namespace: str, hit: bool) -> None:
        with self._lock:
            row = self._counts.pop(namespace, None) or {"requests": 0, "hits": 0}
            row["requests"] += 1
            row["hits"] += int(hit)
            self._counts[namespace] = row
            if len(self._counts) > _MAX_TENANTS:
                del self._counts[next(iter(self._counts))]

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {ns: dict(row) for ns, row in self._counts.items()}


def _counters(state: ProxyState) -> TenantCounters:
    return attached(state, "tenant_counters", TenantCounters)


def count_tenant(state: ProxyState, namespace: str, hit: bool) -> None:
    """Record one cacheable request of ``namespace`` and whether the cache answered it."""
    _counters(state).count(namespace, hit)


def is_admin(request: Request) -> bool:
    """Whether the request carries the configured admin token (constant-time comparison)."""
    token = request.app.state.proxy.config.admin_token
    if not token:
        return False
    presented = request.headers.get("x-cacheback-admin-token")
    if presented is None:
        scheme, _, value = (request.headers.get("authorization") or "").partition(" ")
        presented = value.strip() if scheme.lower() == "bearer" else ""
    return hmac.compare_digest(presented.encode(), token.encode())


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "admin_error"}}, status_code=status)


def _guard(request: Request) -> JSONResponse | None:
    if not request.app.state.proxy.config.admin_token:
        return _error(404, "admin routes are off: start the proxy with --admin-token")
    if not is_admin(request):
        return _error(401, "a valid admin token is required")
    return None


async def _tenants(request: Request) -> Response:
    if (refused := _guard(request)) is not None:
        return refused
    rows = _counters(request.app.state.proxy).snapshot()
    tenants = [{"namespace": ns, **row, "hit_rate": row["hits"] / row["requests"] if row["requests"] else 0.0}
               for ns, row in sorted(rows.items(), key=lambda item: -item[1]["requests"])]
    return JSONResponse({"tenants": tenants})


async def _namespace(request: Request) -> Response:
    if (refused := _guard(request)) is not None:
        return refused
    try:
        body: Any = json.loads(await request.body())
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("api_key"), str) or not body["api_key"]:
        return _error(400, 'send {"api_key": "...", "namespace": optional sub-namespace}')
    requested = body.get("namespace")
    if requested is not None and not isinstance(requested, str):
        return _error(400, "namespace must be a string")
    try:
        namespace = request.app.state.proxy.tenants.namespace(body["api_key"], requested)
    except NamespaceError as exc:
        return _error(400, str(exc))
    return JSONResponse({"namespace": namespace})


async def _delete(request: Request) -> Response:
    if (refused := _guard(request)) is not None:
        return refused
    namespace = request.path_params["namespace"]
    if not namespace or len(namespace) > 300:
        return _error(400, "namespace must be 1-300 characters")
    state: ProxyState = request.app.state.proxy
    removed = await anyio.to_thread.run_sync(state.cache.clear, namespace)
    return JSONResponse({"namespace": namespace, "removed": removed})


def admin_routes() -> list[Route]:
    """The admin routes, to mount before the pass-through."""
    return [
        Route("/admin/tenants", _tenants, methods=["GET"]),
        Route("/admin/namespace", _namespace, methods=["POST"]),
        Route("/admin/namespaces/{namespace:path}", _delete, methods=["DELETE"]),
    ]
