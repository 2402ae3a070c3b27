"""A halyard worker thread stopped at a function, the others running on.

gdb, attached in non-stop mode, stops only the thread that hits the
breakpoint: a session on that worker waits, its client may already hold
an answer, and sessions on the other workers go on. A test reads, from
one of those, what halyard shows between two steps of a worker that
happen one right after the other, a window that a loaded host opens by
chance (a worker preempted for a few milliseconds) and no test could
otherwise aim at. halyard's build keeps its symbols (-g, Makefile's
CFLAGS)."""
import queue
import re
import subprocess
import threading
import time


class WorkerPause:
    """with WorkerPause(pid, "command_done", "s->query.cmd == 2") as p:
    ...; p.wait_hit() once the worker got there; the thread goes on when
    the block ends (gdb detaches)."""

    def __init__(self, pid, where, cond=None):
        self.pid, self.where, self.cond = pid, where, cond
        self.lines = queue.Queue()
        self.seen = []

    def _read(self):
        for line in self.gdb.stdout:
            self.lines.put(line)

    def _send(self, cmd):
        self.gdb.stdin.write(cmd + "\n")
        self.gdb.stdin.flush()

    def _until(self, pattern, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"gdb: no {what} in {timeout} s: {''.join(self.seen[-20:])}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(line)
            if pattern in line:
                return line

    def __enter__(self):
        self.gdb = subprocess.Popen(
            ["gdb", "-q", "-nx", "-ex", "set non-stop on", "-ex", "set pagination off",
             "-ex", "set confirm off", "-ex", f"attach {self.pid}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        # attach stops every thread; the breakpoint is set, then all go on
        self._send("echo hy-gdb-attached\\n")
        self._until("hy-gdb-attached", 60, "attach")
        bp = f"break {self.where}" + (f" if {self.cond}" if self.cond else "")
        self._send(bp)
        self._send("echo hy-gdb-set\\n")
        self._until("hy-gdb-set", 30, "breakpoint")
        if any("No symbol" in x or "not defined" in x for x in self.seen):
            raise AssertionError(f"gdb: {bp}: {''.join(self.seen[-5:])}")
        # attach's stops arrive one by one: a thread that stops after a
        # continue stays stopped, so continue until none is
        for _ in range(100):
            self._send("continue -a &")
            self._send("info threads")
            self._send("echo hy-gdb-listed\\n")
            mark = len(self.seen)
            self._until("hy-gdb-listed", 30, "thread list")
            threads = [x for x in self.seen[mark:] if re.match(r"^[* ] +\d+ +Thread ", x)]
            if threads and all("(running)" in x for x in threads):
                return self
            time.sleep(0.1)
        raise AssertionError(f"gdb: threads still stopped: {''.join(self.seen[-20:])}")

    def wait_hit(self, timeout=10):
        """The worker stopped at the breakpoint."""
        self._until("hit Breakpoint", timeout, "breakpoint hit")

    def __exit__(self, *exc):
        try:
            self._send("delete")
            self._send("detach")
            self._send("quit")
            self.gdb.wait(30)
        finally:
            if self.gdb.poll() is None:
                self.gdb.kill()
        return False
