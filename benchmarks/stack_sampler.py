"""Where a Python process's threads spend their time: every thread's stack, sampled.

py-spy is not available here and cProfile sees only the thread it runs in, while the proxy does
its cache work in a pool of threads. This runs a module (``-m``) with a daemon thread that
records every other thread's Python stack every ``--interval`` seconds and, on exit (SIGINT or
SIGTERM), writes the share of busy samples per function: inclusive, as the innermost Python
frame ("leaf": a C call such as a lock wait, a SQLite step or an ONNX run shows as the Python
function that made it), and the most common stacks. Threads waiting in ``threading``,
``queue``, ``selectors`` or an idle pool worker count as idle. Sampling costs a few percent of
one core.

    python benchmarks/stack_sampler.py OUT.txt -m cacheback.proxy --workers 1 --db X.db ...

then load it (e.g. wrk with ``proxy_bench.ISSUE_MIX_SCRIPT``) and stop it with Ctrl-C. Only the
process it starts is sampled: run the proxy with one worker.
"""

from __future__ import annotations

import argparse
import atexit
import collections
import os
import runpy
import signal
import sys
import threading
import time
from types import FrameType

_IDLE = ("threading.py:", "queue.py:", "selectors.py:", "thread.py:_worker",
         "base_events.py:_run_once")


class Sampler:
    """Counts of sampled stacks, by function."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.inclusive: collections.Counter[str] = collections.Counter()
        self.leaf: collections.Counter[str] = collections.Counter()
        self.stacks: collections.Counter[str] = collections.Counter()
        self.busy = self.idle = 0

    def run(self) -> None:
        me = threading.get_ident()
        while True:
            time.sleep(self.interval)
            for thread, frame in sys._current_frames().items():
                if thread != me:
                    self._record(frame)

    def _record(self, frame: FrameType | None) -> None:
        names = []
        while frame is not None:
            names.append(f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_code.co_name}")
            frame = frame.f_back
        if not names or names[0].startswith(_IDLE):
            self.idle += 1
            return
        self.busy += 1
        self.leaf[names[0]] += 1
        self.inclusive.update(set(names))
        self.stacks[" <- ".join(names[:8])] += 1

    def report(self) -> str:
        busy = max(1, self.busy)
        lines = [f"samples: {self.busy} busy, {self.idle} idle (every {self.interval * 1e3:g} ms)",
                 "", "== inclusive (% of busy samples)"]
        lines += [f"{100 * n / busy:6.1f}% {name}" for name, n in self.inclusive.most_common(80)]
        lines += ["", "== innermost Python frame"]
        lines += [f"{100 * n / busy:6.1f}% {name}" for name, n in self.leaf.most_common(50)]
        lines += ["", "== stacks (innermost first)"]
        lines += [f"{100 * n / busy:6.1f}% {name}" for name, n in self.stacks.most_common(40)]
        return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("out", help="where to write the report")
    parser.add_argument("--interval", type=float, default=0.002)
    parser.add_argument("-m", dest="module", required=True, help="the module to run")
    args, rest = parser.parse_known_args()
    sampler = Sampler(args.interval)
    written = []

    def write() -> None:
        if not written:
            written.append(True)
            with open(args.out, "w") as out:
                out.write(sampler.report())

    atexit.register(write)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    threading.Thread(target=sampler.run, name="stack-sampler", daemon=True).start()
    sys.argv = [args.module, *rest]
    try:
        runpy.run_module(args.module, run_name="__main__", alter_sys=True)
    finally:
        write()


if __name__ == "__main__":
    main()
