"""The connection to the providers: which upstream a request goes to, and which headers cross.

Headers are copied as they are except hop-by-hop ones, ``Host`` and the proxy's own
``X-Cacheback-*`` controls; bodies cross byte for byte, so ``Content-Length`` stays true.
The caller's API key crosses untouched and is never kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final, Literal

import httpx

from ._config import ProxyConfig

__all__ = ["Api", "Upstream", "pick_api", "request_headers", "response_headers"]

Api = Literal["openai", "anthropic"]

_HOP_BY_HOP: Final = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "trailers", "transfer-encoding", "upgrade", "host",
})
_DECODED_DROP: Final = frozenset({"content-encoding", "accept-encoding", "content-length"})


def pick_api(headers: Mapping[str, str]) -> Api:
    """Anthropic when the request carries its headers, else OpenAI (for routes both could own)."""
    return "anthropic" if "x-api-key" in headers or "anthropic-version" in headers else "openai"


def request_headers(headers: Iterable[tuple[str, str]], *, decoded: bool = False
                    ) -> list[tuple[str, str]]:
    """Caller headers to send upstream; ``decoded`` lets httpx negotiate (and undo) compression."""
    drop = _HOP_BY_HOP | _DECODED_DROP if decoded else _HOP_BY_HOP
    return [(k, v) for k, v in headers
            if k.lower() not in drop and not k.lower().startswith("x-cacheback-")]


def response_headers(headers: httpx.Headers, *, decoded: bool = False) -> dict[str, str]:
    """Upstream response headers to return; ``decoded`` when the body was decompressed."""
    drop = _HOP_BY_HOP | _DECODED_DROP if decoded else _HOP_BY_HOP
    return {k: v for k, v in headers.items() if k.lower() not in drop}


class Upstream:
    """One pooled HTTP client for both providers, and the URL of a proxied path on each."""

    def __init__(self, config: ProxyConfig, transport: httpx.AsyncBaseTransport | None = None
                 ) -> None:
        self._bases: dict[Api, str] = {"openai": config.upstream_openai,
                                       "anthropic": config.upstream_anthropic}
        limits = httpx.Limits(max_connections=512, max_keepalive_connections=128)
        self.http = httpx.AsyncClient(
            transport=transport, limits=limits, follow_redirects=False, trust_env=False,
            timeout=httpx.Timeout(config.upstream_timeout, connect=min(10.0, config.upstream_timeout)))

    def url(self, api: Api, path: str, query: str = "") -> str:
        """Where ``/v1/...`` goes: after the OpenAI base (which ends in ``/v1``), or the
        Anthropic base (to which the API itself adds ``/v1``)."""
        base = self._bases[api]
        tail = path[len("/v1"):] if api == "openai" and path.startswith("/v1") else path
        return base + tail + (f"?{query}" if query else "")

    async def aclose(self) -> None:
        await self.http.aclose()
