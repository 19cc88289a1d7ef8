"""Real file-system faults: a small tmpfs that can be filled up or remounted read-only.

Needs root (the sessions and CI containers run as root); the fixture skips when mounting is refused.
"""

from __future__ import annotations

import errno
import subprocess
from pathlib import Path

__all__ = ["Tmpfs"]

_FILLER = ".filler"


class Tmpfs:
    """A tmpfs of ``size_kb`` KiB mounted on ``path``; :meth:`unmount` always runs at teardown."""

    def __init__(self, path: Path, size_kb: int = 1024) -> None:
        self.path = path
        self.size_kb = size_kb
        self.mounted = False

    def _mount(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)

    def mount(self) -> bool:
        """Mount it; ``False`` when the machine refuses (not root, no CAP_SYS_ADMIN)."""
        self.path.mkdir(parents=True, exist_ok=True)
        done = self._mount("-t", "tmpfs", "-o", f"size={self.size_kb}k,mode=0777", "tmpfs", str(self.path))
        self.mounted = done.returncode == 0
        return self.mounted

    def remount(self, *, read_only: bool) -> None:
        """Flip the whole file system read-only or back; Linux refuses while a file is open for writing."""
        done = self._mount("-o", f"remount,{'ro' if read_only else 'rw'}", str(self.path))
        if done.returncode != 0:
            raise OSError(f"remount of {self.path} failed: {done.stderr.strip()}")

    def fill(self) -> int:
        """Write a filler file until the file system is full; returns the bytes written."""
        written = 0
        block = b"\0" * 4096
        with open(self.path / _FILLER, "ab", buffering=0) as fh:
            while True:
                try:
                    written += fh.write(block)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
            for size in (1024, 256, 64, 16, 1):
                try:
                    while True:
                        written += fh.write(block[:size])
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
        return written

    def free(self) -> None:
        """Delete the filler file, giving the space back."""
        (self.path / _FILLER).unlink(missing_ok=True)

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True, check=False)
            self.mounted = False
