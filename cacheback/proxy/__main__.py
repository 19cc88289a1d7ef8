"""``cacheback-proxy``: serve the caching proxy (``python -m cacheback.proxy`` works too)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from .._errors import ConfigurationError
from ._config import ENV_PREFIX, NAMESPACE_MODES, ProxyConfig
from ._serve import serve

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """Flags override ``CACHEBACK_PROXY_*`` environment variables, which override defaults."""
    defaults = ProxyConfig()
    parser = argparse.ArgumentParser(
        prog="cacheback-proxy",
        description="A caching proxy for the OpenAI and Anthropic APIs: point your SDK's base "
                    "URL at it. Every flag can also be set as "
                    f"{ENV_PREFIX}<FLAG> (e.g. {ENV_PREFIX}PORT).")
    parser.add_argument("--host", help=f"address to bind (default {defaults.host})")
    parser.add_argument("--port", type=int, help=f"port to bind (default {defaults.port})")
    parser.add_argument("--db", help="cache database file or postgresql:// URL (default: "
                        "$CACHEBACK_DATABASE_URL, else the per-user cache directory)")
    parser.add_argument("--upstream-openai",
                        help=f"OpenAI base URL to forward to (default {defaults.upstream_openai})")
    parser.add_argument("--upstream-anthropic",
                        help=f"Anthropic base URL to forward to (default {defaults.upstream_anthropic})")
    parser.add_argument("--namespace-by", choices=NAMESPACE_MODES,
                        help="api-key: every API key has its own entries (default); header: "
                             "X-Cacheback-Namespace may name a namespace shared across keys")
    parser.add_argument("--workers", type=int, help="worker processes (default 1)")
    parser.add_argument("--no-semantic", dest="semantic", action="store_const", const=False,
                        help="exact matches only: no embedding model is loaded")
    parser.add_argument("--embed-threads", type=int,
                        help="threads per embedding run (default 1: concurrent misses run side "
                             "by side instead; 0: onnxruntime's default, one per core)")
    parser.add_argument("--cache-threads", type=int,
                        help="threads per worker for the cache's work: lookups that embed, "
                             "stores (default: one more than the cores)")
    parser.add_argument("--pii", choices=("bypass", "redact", "off"),
                        help="requests with personal data: bypass the cache (default), key them "
                             "with placeholders (redact) or no scan (off); docs/pii.md")
    parser.add_argument("--no-conversation-aware", dest="conversation_aware", action="store_const",
                        const=False, help="put every earlier turn of a chat in the exact-match scope "
                        "instead of comparing the context a follow-up was asked in (docs/ceag.md)")
    parser.add_argument("--ttl", type=float, help="default entry lifetime in seconds (default: none)")
    parser.add_argument("--upstream-timeout", type=float,
                        help=f"seconds to wait for the upstream (default {defaults.upstream_timeout:g})")
    parser.add_argument("--max-body", type=int,
                        help="largest request body in bytes, 413 beyond it (default 32 MiB)")
    parser.add_argument("--max-connections", type=int,
                        help="concurrent connections and requests before 503 (default 1024)")
    parser.add_argument("--keep-alive", type=float,
                        help="seconds an idle keep-alive connection stays open (default 5)")
    parser.add_argument("--header-timeout", type=float,
                        help="seconds a client has to send a request's line and headers "
                             f"(default {defaults.header_timeout:g})")
    parser.add_argument("--body-idle-timeout", type=float,
                        help="seconds without a byte while a request body is read "
                             f"(default {defaults.body_idle_timeout:g})")
    parser.add_argument("--log-level", choices=("critical", "error", "warning", "info", "debug"),
                        help=f"log level (default {defaults.log_level})")
    parser.add_argument("--admin-token",
                        help="token (16+ characters) that unlocks /admin/* and the "
                             "upstream URLs in /stats (also CACHEBACK_ADMIN_TOKEN); without it the "
                             "admin routes are off")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and serve until interrupted; 2 means unusable settings."""
    args = build_parser().parse_args(argv)
    try:
        config = ProxyConfig.from_env(**vars(args))
    except ConfigurationError as exc:
        print(f"cacheback-proxy: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    serve(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
