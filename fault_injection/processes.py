"""Run part of a scenario in a forked child (for example as another user) and collect its verdict."""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable

__all__ = ["ForkedScenario"]


class ForkedScenario:
    """Forks; the child runs ``body(step)``, where ``step()`` reports progress and waits for the
    parent's go-ahead. The parent calls :meth:`wait_step` / :meth:`go` / :meth:`finish`. An
    exception in the child is sent back as its traceback and raised in the parent."""

    def __init__(self, body: Callable[[Callable[[], None]], None], *, uid: int | None = None) -> None:
        to_parent_r, to_parent_w = os.pipe()
        to_child_r, to_child_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(to_parent_r)
            os.close(to_child_w)
            self._run_child(body, uid, to_parent_w, to_child_r)
        os.close(to_parent_w)
        os.close(to_child_r)
        self._reader = os.fdopen(to_parent_r, "r")
        self._writer = os.fdopen(to_child_w, "w")

    @staticmethod
    def _run_child(
        body: Callable[[Callable[[], None]], None], uid: int | None, out_fd: int, in_fd: int
    ) -> None:
        out = os.fdopen(out_fd, "w")
        inp = os.fdopen(in_fd, "r")
        code = 1
        try:
            if uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)

            def step() -> None:
                out.write("step\n")
                out.flush()
                if inp.readline().strip() != "go":
                    raise RuntimeError("the parent gave up")

            body(step)
            out.write("done\n")
            code = 0
        except BaseException:  # noqa: BLE001 - everything goes back to the parent
            out.write("error\n" + traceback.format_exc().replace("\n", "\n| ") + "\n")
        finally:
            out.flush()
            os._exit(code)

    def _expect(self, word: str) -> None:
        line = self._reader.readline().strip()
        if line != word:
            rest = self._reader.read()
            self.finish(check=False)
            raise AssertionError(f"child process failed ({line or 'no output'}):\n{rest}")

    def wait_step(self) -> None:
        """Block until the child calls ``step()``."""
        self._expect("step")

    def go(self) -> None:
        """Let the child continue past its ``step()``."""
        self._writer.write("go\n")
        self._writer.flush()

    def finish(self, check: bool = True) -> None:
        """Wait for the child to end; with ``check``, fail unless its body completed."""
        if check:
            self._expect("done")
        _, status = os.waitpid(self.pid, 0)
        self._reader.close()
        self._writer.close()
        if check:
            assert os.waitstatus_to_exitcode(status) == 0
