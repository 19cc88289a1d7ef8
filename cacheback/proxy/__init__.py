"""cacheback-proxy: an HTTP proxy that caches OpenAI Chat Completions and Anthropic Messages
calls for any client in any language; point the SDK's base URL at it. See docs/proxy.md."""

from ._app import create_app
from ._config import ProxyConfig

__all__ = ["ProxyConfig", "create_app"]
