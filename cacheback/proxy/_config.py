"""The proxy's settings: one frozen value built from command-line flags, then ``CACHEBACK_PROXY_*``
environment variables, then defaults. Workers are separate processes, so the settings travel to
them through the environment (``to_env`` / ``from_env``)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final

from .._errors import ConfigurationError

__all__ = ["ENV_PREFIX", "NAMESPACE_MODES", "ProxyConfig"]

ENV_PREFIX: Final = "CACHEBACK_PROXY_"
NAMESPACE_MODES: Final = ("api-key", "header")


@dataclass(frozen=True)
class ProxyConfig:
    """Where to listen, which database to use, where the providers are and how tenants are split.

    ``upstream_openai`` is an OpenAI ``base_url`` (ends in ``/v1``); ``upstream_anthropic`` an
    Anthropic one (the API adds ``/v1/...``), exactly as the official SDKs take them.

    ``cache_threads`` sizes the thread pool a worker's cache work (lookups that may embed,
    stores) runs in; 0 leaves the event loop's own pool as it is, which is what an app from
    ``create_app`` served by someone else gets, while ``cacheback-proxy`` uses one thread more
    than the machine has cores (see :func:`cacheback.proxy._serve.served_config`).
    """

    host: str = "127.0.0.1"
    port: int = 8990
    db: str = ""
    upstream_openai: str = "https://api.openai.com/v1"
    upstream_anthropic: str = "https://api.anthropic.com"
    namespace_by: str = "api-key"
    workers: int = 1
    semantic: bool = True
    embed_threads: int = 1
    cache_threads: int = 0
    ttl: float | None = None
    upstream_timeout: float = 600.0
    log_level: str = "info"
    metrics_dir: str = ""
    max_body: int = 32 * 1024 * 1024
    max_connections: int = 1024
    keep_alive: float = 5.0
    pii: str = "bypass"
    conversation_aware: bool = True
    header_timeout: float = 10.0
    body_idle_timeout: float = 30.0
    admin_token: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.namespace_by not in NAMESPACE_MODES:
            raise ConfigurationError(
                f"namespace_by must be one of {', '.join(NAMESPACE_MODES)}, not {self.namespace_by!r}")
        if not 0 <= self.port < 65536:
            raise ConfigurationError(f"port must be in 0..65535, not {self.port}")
        if self.pii not in ("bypass", "redact", "off"):
            raise ConfigurationError(f"pii must be one of bypass, redact, off, not {self.pii!r}")
        if self.workers < 1:
            raise ConfigurationError("workers must be >= 1")
        if self.embed_threads < 0:
            raise ConfigurationError("embed_threads must be >= 0 (0: one per core)")
        if self.cache_threads < 0:
            raise ConfigurationError("cache_threads must be >= 0 (0: the event loop's own pool)")
        for name in ("max_body", "max_connections"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"{name} must be >= 1")
        if not math.isfinite(self.keep_alive) or self.keep_alive <= 0:
            raise ConfigurationError("keep_alive must be a positive number of seconds")
        for name in ("ttl", "upstream_timeout", "header_timeout", "body_idle_timeout"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value <= 0):
                raise ConfigurationError(f"{name} must be a positive number of seconds")
        for name in ("upstream_openai", "upstream_anthropic"):
            url = getattr(self, name)
            if not url.startswith(("http://", "https://")):
                raise ConfigurationError(f"{name} must be an http(s) URL, not {url!r}")
            object.__setattr__(self, name, url.rstrip("/"))
        if self.admin_token and len(self.admin_token) < 16:
            raise ConfigurationError("admin_token must be at least 16 characters")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> ProxyConfig:
        """Settings from ``CACHEBACK_PROXY_<FIELD>`` variables; ``overrides`` (not None) win."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, raw)
        if "admin_token" not in values and env.get("CACHEBACK_ADMIN_TOKEN"):
            values["admin_token"] = env["CACHEBACK_ADMIN_TOKEN"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The environment variables that make ``from_env`` rebuild these settings."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, bool):
                value = "1" if value else "0"
            out[ENV_PREFIX + f.name.upper()] = str(value)
        return out


def _parse(name: str, raw: str) -> Any:
    kind = {f.name: f.type for f in fields(ProxyConfig)}[name]
    try:
        if kind == "int":
            return int(raw)
        if kind in ("float", "float | None"):
            return float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a number") from exc
    if kind == "bool":
        lowered = raw.strip().lower()
        if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise ConfigurationError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a boolean")
        return lowered in ("1", "true", "yes", "on")
    return raw
