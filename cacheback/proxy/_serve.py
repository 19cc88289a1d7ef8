"""Running uvicorn: in this process for one worker, under its multiprocess supervisor for more.

With several workers the listening socket is bound here rather than by uvicorn: a socket made
without ``IPPROTO_TCP`` (as uvicorn's ``bind_socket`` makes it) passes that on to every accepted
connection, asyncio then skips ``TCP_NODELAY``, and each keep-alive response waits ~40 ms for a
delayed ACK (uvicorn issue #3149).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import tempfile
from typing import Any

from ._config import ProxyConfig
from ._guard import guarded_http
from ._share import reset_directory

__all__ = ["serve", "served_config", "tcp_listener"]


def tcp_listener(host: str, port: int) -> socket.socket:
    """A bound TCP socket whose accepted connections get ``TCP_NODELAY`` from asyncio."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def _limits(config: ProxyConfig) -> dict[str, Any]:
    """uvicorn's own bounds: concurrent connections (503 beyond, per worker) and how long an
    idle keep-alive connection is held."""
    return {"limit_concurrency": config.max_connections, "timeout_keep_alive": config.keep_alive}


def served_config(config: ProxyConfig) -> ProxyConfig:
    """The settings as ``serve`` runs them: the process is the proxy's own, so its cache work
    gets a pool of one thread more than the cores unless ``cache_threads`` says otherwise."""
    if config.cache_threads:
        return config
    return dataclasses.replace(config, cache_threads=(os.cpu_count() or 1) + 1)


def serve(config: ProxyConfig) -> None:
    """Serve until interrupted. Workers are spawned processes that rebuild the settings from
    ``CACHEBACK_PROXY_*`` variables and sum their metrics through ``metrics_dir``."""
    import uvicorn

    config = served_config(config)

    if config.workers == 1:
        from ._app import create_app

        single = uvicorn.Config(create_app(config), host=config.host, port=config.port,
                                log_level=config.log_level, **_limits(config))
        guarded_http(single, config.header_timeout, config.body_idle_timeout)
        with contextlib.suppress(KeyboardInterrupt):  # as uvicorn.run: Ctrl-C is a clean stop
            uvicorn.Server(single).run()
        return
    from uvicorn.supervisors import Multiprocess

    metrics_dir = config.metrics_dir or tempfile.mkdtemp(prefix="cacheback-proxy-metrics-")
    reset_directory(metrics_dir)
    config = dataclasses.replace(config, metrics_dir=metrics_dir)
    os.environ.update(config.to_env())
    server_config = uvicorn.Config("cacheback.proxy._app:app_from_env", factory=True,
                                   host=config.host, port=config.port, workers=config.workers,
                                   log_level=config.log_level, **_limits(config))
    guarded_http(server_config, config.header_timeout, config.body_idle_timeout)
    with tcp_listener(config.host, config.port) as sock:
        Multiprocess(server_config, sockets=[sock]).run()
