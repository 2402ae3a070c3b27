"""Client threads that start late, on purpose (HALYARD_LATE_THREADS).

A test that starts a thread to send a statement, then sleeps a fixed time
before its next step, assumes the thread's statement has reached halyard by
then. On a loaded host (make check's four tracks on two cores) a thread may
run its first line hundreds of milliseconds after start(): the next step
overtakes it and the test fails, or passes without testing what it says.
conftest.py calls install(); with HALYARD_LATE_THREADS=SECONDS set, every
thread whose target (or whose class, for a Thread subclass) is defined in a
module whose name begins with one of HALYARD_LATE_THREADS_FROM's
comma-separated prefixes ("test_" by default; add "util" for threads whose
target is util.q) runs its target SECONDS late, after start() has returned.
A test that waits for the state it needs passes so; one that sleeps a fixed
time instead fails (docs/testing.md). Unset, nothing changes.
"""

import os
import threading
import time


def _from_a_test(t, prefixes):
    target = getattr(t, "_target", None)
    mod = getattr(target, "__module__", None) if target is not None else type(t).__module__
    return any((mod or "").startswith(p) for p in prefixes)


def install():
    delay = float(os.environ.get("HALYARD_LATE_THREADS") or 0)
    if delay <= 0 or getattr(threading.Thread.start, "_late", False):
        return
    prefixes = [p for p in os.environ.get("HALYARD_LATE_THREADS_FROM", "test_").split(",") if p]
    start = threading.Thread.start

    def late_start(self):
        if _from_a_test(self, prefixes):
            run = self.run

            def late_run():
                time.sleep(delay)
                run()
            self.run = late_run
        start(self)
    late_start._late = True
    threading.Thread.start = late_start
