"""The Starlette application: routes, and a lifespan that opens and closes the proxy's state."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import anyio
import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._clients._responses import OpenAIResponsesDialect
from ..cache import SemanticCache
from ._admin import admin_routes
from ._audio import audio_route
from ._cached import cached_route
from ._config import ProxyConfig
from ._dashboard import dashboard_routes
from ._embeddings import embeddings_route
from ._forward import forward
from ._limits import BodyLimit
from ._observe import healthz, metrics, stats
from ._state import ProxyState, use_cache_threads

__all__ = ["app_from_env", "create_app"]

_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
_PUBLISH_SECONDS = 1.0


async def _passthrough(request: Request) -> Response:
    state: ProxyState = request.app.state.proxy
    return await forward(request, state.upstream, state.metrics)


def create_app(config: ProxyConfig | None = None, *, cache: SemanticCache | None = None,
               transport: httpx.AsyncBaseTransport | None = None) -> Starlette:
    """The proxy as an ASGI app. ``cache`` replaces the one ``config.db`` would open (the app
    then leaves it open at shutdown); ``transport`` replaces the network under pass-through
    requests (httpx's); the cached routes always speak HTTP/1.1 to the upstream themselves."""
    config = config or ProxyConfig()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state = ProxyState.open(config, cache=cache, transport=transport)
        app.state.proxy = state
        use_cache_threads(config)
        async with anyio.create_task_group() as tasks:
            if config.metrics_dir:
                tasks.start_soon(_publish_forever, state)
            try:
                yield
            finally:
                tasks.cancel_scope.cancel()
                await state.aclose()

    routes = [
        Route("/v1/chat/completions", cached_route("openai"), methods=["POST"]),
        Route("/v1/responses", cached_route("openai", OpenAIResponsesDialect()), methods=["POST"]),
        Route("/v1/messages", cached_route("anthropic"), methods=["POST"]),
        Route("/v1/embeddings", embeddings_route, methods=["POST"]),
        Route("/v1/audio/transcriptions", audio_route("transcriptions"), methods=["POST"]),
        Route("/v1/audio/translations", audio_route("translations"), methods=["POST"]),
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/stats", stats, methods=["GET"]),
        *admin_routes(),
        *dashboard_routes(),
        Route("/v1/{path:path}", _passthrough, methods=_ALL_METHODS),
    ]
    return Starlette(routes=routes, lifespan=lifespan,
                     middleware=[Middleware(BodyLimit, max_body=config.max_body)])


async def _publish_forever(state: ProxyState) -> None:
    """Keep this worker's metrics file fresh for whichever worker answers a scrape."""
    while True:
        await anyio.sleep(_PUBLISH_SECONDS)
        await anyio.to_thread.run_sync(state.mirror_cache_faults)
        state.shared.publish()


def app_from_env() -> Starlette:
    """Factory for ``uvicorn --factory`` worker processes: settings come from the environment."""
    return create_app(ProxyConfig.from_env())
