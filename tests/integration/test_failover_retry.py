"""Reads in flight when their server dies are run again elsewhere, and the
client never sees an error (retry_primary_reads, retry_buffer_size).

    a replica killed under a read load: no reader gets an error, every
    answer is whole and right, and halyard counts the reads it ran again
    a primary killed under a read load routed there: the reads wait for
    the new primary (or run on a replica) and no reader gets an error
"""

import threading
import time

import pymysql

from test_failover import failover_settings, kill_now
from test_ops import admin_json
from util import wait_until

# Each read is in flight for about 50 ms (so a kill finds some running)
# and answers 20 rows the reader checks. With `wide`, each row holds 2000
# more bytes: the server sends the first 16 KiB (its net_buffer_length)
# while it still computes the rest, so a kill often cuts an answer halfway,
# which only retry_buffer_size keeps from the client.
READ = "SELECT seq, SLEEP(0.0025) FROM fo.seq_1_to_20"
WIDE = "SELECT seq, SLEEP(0.0025), REPEAT('x', 2000) FROM fo.seq_1_to_20"


class Readers:
    """Threads running READ (with `prefix`) through halyard in a loop;
    every error or wrong answer is kept."""

    def __init__(self, h, n=4, prefix="", wide=False):
        self.h, self.sql = h, prefix + (WIDE if wide else READ)
        self.stop_ev = threading.Event()
        self.done, self.errors = 0, []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(n)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_ev.set()
        for t in self.threads:
            t.join(timeout=60)

    def run(self):
        conn = pymysql.connect(**self.h.conn_params(read_timeout=30))
        while not self.stop_ev.is_set():
            try:
                with conn.cursor() as cur:
                    cur.execute(self.sql)
                    rows = cur.fetchall()
                ok = [r[0] for r in rows] == list(range(1, 21)) and all(
                    len(r) == 2 or r[2] == "x" * 2000 for r in rows)
                with self.lock:
                    self.done += 1
                    if not ok:
                        self.errors.append(f"wrong answer: {rows!r}")
            except pymysql.MySQLError as e:
                with self.lock:
                    self.errors.append(str(e))
                conn.close()
                conn = pymysql.connect(**self.h.conn_params(read_timeout=30))
        conn.close()

    def count(self):
        with self.lock:
            return self.done


def retried(conf):
    return admin_json(conf["admin_socket"], "show stats")["statements_retried"]


def test_replica_killed_under_read_load(cluster, start_halyard, tmp_path):
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS fo")
    # answers of 40 KiB, held whole
    conf = failover_settings(tmp_path, failover="off", buffer_size=65536,
                             retry_buffer_size=65536)
    h = start_halyard(conf)
    with Readers(h, wide=True) as r:
        wait_until(lambda: r.count() >= 40 or r.errors, 10, what="the reads to get going")
        kill_now(cluster, 1)
        n = r.count()
        wait_until(lambda: r.count() >= n + 80, 15, what="reads to go on after the kill")
    assert r.errors == [], f"{len(r.errors)} reads failed: {r.errors[:5]}"
    assert retried(conf) >= 1


def test_primary_killed_under_read_load(cluster, start_halyard, tmp_path):
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS fo")
    conf = failover_settings(tmp_path, retry_primary_reads=True)
    h = start_halyard(conf)
    with Readers(h, prefix="/* halyard: primary */ ") as r:
        wait_until(lambda: r.count() >= 40 or r.errors, 10, what="the reads to get going")
        t = kill_now(cluster, 0)
        n = r.count()
        wait_until(lambda: r.count() >= n + 40, 20, what="reads to go on after the failover")
        elapsed = time.monotonic() - t
    assert r.errors == [], f"{len(r.errors)} reads failed: {r.errors[:5]}"
    assert retried(conf) >= 1
    print(f"\nreads on the primary went on {elapsed:.3f} s after its kill, no error")
