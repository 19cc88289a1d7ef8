"""The connection to the providers: which upstream a request goes to, and which headers cross.

Headers are copied as they are except hop-by-hop ones, ``Host`` and the proxy's own
``X-Cacheback-*`` controls; bodies cross byte for byte, so ``Content-Length`` stays true.
The caller's API key crosses untouched and is never kept. The cached routes reach the upstream
through the lean HTTP/1.1 pool (``_http1``), pass-through requests through httpx.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Final, Literal
from urllib.parse import unquote_to_bytes

import httpx

from ._config import ProxyConfig
from ._http1 import ConnectionPool

__all__ = ["Api", "Upstream", "pick_api", "pool_headers", "request_headers", "response_headers",
           "unsafe_path"]

Api = Literal["openai", "anthropic"]

_HOP_BY_HOP: Final = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "trailers", "transfer-encoding", "upgrade", "host",
})
_DECODED_DROP: Final = frozenset({"content-encoding", "accept-encoding", "content-length"})
_POOL_DROP: Final = frozenset(k.encode() for k in _HOP_BY_HOP | {"accept-encoding", "content-length"})


def pick_api(headers: Mapping[str, str]) -> Api:
    """Anthropic when the request carries its headers, else OpenAI (for routes both could own)."""
    return "anthropic" if "x-api-key" in headers or "anthropic-version" in headers else "openai"


def request_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Caller headers to pass through to the upstream as they are."""
    return [(k, v) for k, v in headers
            if k.lower() not in _HOP_BY_HOP and not k.lower().startswith("x-cacheback-")]


def pool_headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Caller headers (as the ASGI scope holds them: lower-case names) for the HTTP/1.1 pool,
    which writes ``Host``, ``Content-Length`` and ``Accept-Encoding`` itself."""
    return [(k, v) for k, v in raw if k not in _POOL_DROP and not k.startswith(b"x-cacheback-")]


#: Headers the proxy's own server writes (once): relaying the upstream's copies would repeat them.
_OWN = frozenset({"date", "server"})


def response_headers(headers: Iterable[tuple[str, str]], *, decoded: bool = False
                     ) -> dict[str, str]:
    """Upstream response headers to return, repeated ones joined with commas as httpx joins
    them; ``decoded`` when the body was decompressed."""
    drop = (_HOP_BY_HOP | _DECODED_DROP if decoded else _HOP_BY_HOP) | _OWN
    out: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        if key not in drop:
            out[key] = f"{out[key]}, {value}" if key in out else value
    return out


class Upstream:
    """The pooled HTTP clients for both providers, and the URL of a proxied path on each."""

    def __init__(self, config: ProxyConfig, transport: httpx.AsyncBaseTransport | None = None
                 ) -> None:
        self._bases: dict[Api, str] = {"openai": config.upstream_openai,
                                       "anthropic": config.upstream_anthropic}
        connect = min(10.0, config.upstream_timeout)
        limits = httpx.Limits(max_connections=512, max_keepalive_connections=128)
        self.http = httpx.AsyncClient(
            transport=transport, limits=limits, follow_redirects=False, trust_env=False,
            timeout=httpx.Timeout(config.upstream_timeout, connect=connect))
        self.pool = ConnectionPool(connect_timeout=connect, read_timeout=config.upstream_timeout,
                                   max_connections=512, max_idle=128)

    def url(self, api: Api, path: str, query: str = "") -> str:
        """Where ``/v1/...`` goes: after the OpenAI base (which ends in ``/v1``), or the
        Anthropic base (to which the API itself adds ``/v1``)."""
        base = self._bases[api]
        tail = path[len("/v1"):] if api == "openai" and path.startswith("/v1") else path
        return base + tail + (f"?{query}" if query else "")

    async def aclose(self) -> None:
        await self.pool.aclose()
        await self.http.aclose()


_ENCODED_SEPARATORS = (b"%2f", b"%5c", b"%2e", b"%25", b"%00")
_SEPARATORS = re.compile(r"[/\\]")


def unsafe_path(raw_path: bytes) -> str | None:
    """Why a pass-through path must not be forwarded, or None when it is safe.

    Refused: dot segments (``.``, ``..``: an upstream base path such as ``/api/openai/v1`` would
    be escaped once a client library resolves them), encoded separators and dots (``%2F``,
    ``%5C``, ``%2E``), double encoding (``%25``), NUL, backslashes and control characters; and
    what some servers read as those: a dot segment with path parameters (``..;``, Tomcat),
    ``%u`` escapes (IIS), invalid UTF-8 (overlong ``%C0%AE``), and characters that Unicode
    compatibility folding turns into dots or slashes (fullwidth ``%EF%BC%8E``, ``%E2%80%A5``).
    """
    lowered = raw_path.lower()
    if any(token in lowered for token in _ENCODED_SEPARATORS):
        return "encoded separators, dots or percent signs in the path"
    if b"\\" in raw_path or any(byte < 0x20 or byte == 0x7F for byte in raw_path):
        return "backslashes or control characters in the path"
    path = raw_path.split(b"?", 1)[0]
    if any(segment in (b".", b"..") for segment in path.split(b"/")):
        return "dot segments in the path"
    if b"%u" in lowered:
        return "non-standard %u escapes in the path"
    try:
        decoded = unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        return "invalid UTF-8 in the path"
    folded = unicodedata.normalize("NFKC", decoded)
    if any(segment.split(";", 1)[0] in (".", "..") for segment in _SEPARATORS.split(folded)):
        return "dot segments in the path"
    if folded.count("/") != decoded.count("/"):
        return "characters that fold into separators in the path"
    return None

