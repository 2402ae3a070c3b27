"""What another session sees of a session's command is in place before
that session's client has the answer, as on the server, which changes it
before it answers: a client told "done" that asks a second connection
sees it done. halyard's workers each run their own sessions, so the moment
between a worker sending an answer and its next step is one another
worker's session can read in; a loaded host stretches it (a worker
preempted for milliseconds). Here a worker is stopped there on purpose
(worker_pause.py) and a session on the other worker reads."""
import pytest

from rawmysql import CLIENT_MULTI_STATEMENTS, DEFAULT_CAPS, RawConn
from util import APP_PASSWORD, APP_USER, TEST_ADMIN_SOCKET, admin_json, schema_with_table
from worker_pause import WorkerPause


def login(port, db=None):
    c = RawConn("127.0.0.1", port, timeout=10)
    c.login(APP_USER, APP_PASSWORD, db=db, caps=DEFAULT_CAPS | CLIENT_MULTI_STATEMENTS)
    return c


def worker_of(port, session_id):
    rows = admin_json(TEST_ADMIN_SOCKET.format(port=port), "show sessions")["sessions"]
    return {int(r["id"]): r["worker"] for r in rows}[int(session_id)]


def reader_elsewhere(port, worker):
    """A session of halyard's on a worker other than `worker` (the kernel
    spreads connections over the workers' listeners at random)."""
    for _ in range(64):
        c = login(port)
        if worker_of(port, c.value("SELECT CONNECTION_ID()")) != worker:
            return c
        c.close()
    raise AssertionError(f"64 connections, all on worker {worker}")


@pytest.mark.parametrize("pool_mode", ["session", "transaction"])
@pytest.mark.parametrize("how", ["COM_INIT_DB", "USE"])
def test_a_new_database_is_listed_before_the_client_has_the_ok(start_halyard, cluster, pool_mode,
                                                               how):
    """COM_INIT_DB (or USE): once its client has the OK, the process list
    another session reads shows the session in its new database. halyard
    wrote the database where the process list reads it (the registry) only
    after the OK had gone out: read from another worker in between, the
    session was still in its old one (make check on CI: information_schema
    said hy_ao_db1 and SHOW PROCESSLIST, read next, hy_ao_db2; with a 20 ms
    pause put there, 1,495 reads of 3,000 were wrong)."""
    schema_with_table(cluster, "hy_ao_db1", "v INT NOT NULL DEFAULT 0")
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS hy_ao_db2")
    cluster.sync()
    halyard = start_halyard(pool_mode=pool_mode, workers=2)
    victim = login(halyard.port, db="hy_ao_db1")
    vid = victim.value("SELECT CONNECTION_ID()")
    reader = reader_elsewhere(halyard.port, worker_of(halyard.port, vid))
    try:
        with WorkerPause(halyard.pid, "command_done", "s->query.pend_schema != 0") as pause:
            if how == "COM_INIT_DB":
                victim.command(0x02, b"hy_ao_db2")
            else:
                victim.query("USE hy_ao_db2")
            pause.wait_hit()  # the client has its OK; its worker has not gone on
            got = [reader.query(f"SELECT DB FROM information_schema.PROCESSLIST "
                                f"WHERE ID = {vid}")[0].rows,
                   [r[3] for r in reader.query("SHOW PROCESSLIST")[0].rows if r[0] == str(vid)]]
        assert got == [[("hy_ao_db2",)], ["hy_ao_db2"]], got
        assert victim.value("SELECT DATABASE()") == "hy_ao_db2"
    finally:
        victim.close()
        reader.close()
