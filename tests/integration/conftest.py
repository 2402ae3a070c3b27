"""pytest fixtures for halyard's integration tests.

    dual           a dual-master pair + witness (tools/cluster --dual-master)
    cluster        a real MariaDB primary + 2 replicas (tools/cluster), started
                   once per session on test ports and healed before each test
                   (stopped nodes started again, replica delays cleared)
    start_halyard  factory: start_halyard(conf=None, **overrides) -> Halyard,
                   a real halyard process on a free port in front of `cluster`
    halyard        start_halyard() with the default config

Environment:
    HALYARD_BIN          halyard binary (default: build/halyard in the repo)
    HALYARD_TEST_PORT    the test cluster's first port (default 23310; node i
                         listens on PORT+i), away from the demo's 3310
    HALYARD_TEST_BASE    the test cluster's base directory (default
                         /tmp/halyard-test-UID-PORT)
    HALYARD_KEEP_CLUSTER set to 1 to leave the cluster's datadirs in place
    HALYARD_LATE_THREADS seconds every thread a test file starts runs late
                         (late_threads.py: a loaded host's late client thread)

Under pytest-xdist (make check runs each suite as `-n 2 --dist loadgroup`),
worker gwN works on HALYARD_TEST_PORT + 300*N: a cluster, Galera, dual pair,
halyards, namespaces and DNS addresses of its own. A test file is one group
(its module fixtures start once), and every file that uses Galera or the
dual-master pair joins one group "galera" or "dual", so each is started by one
worker only; those two go out first (_longest_groups_first).
"""

import fcntl
import os
import shutil
import signal

import pytest

import late_threads
from util import REPO, Cluster, DualCluster, GaleraCluster, Halyard, free_port, render_conf, use_ports

late_threads.install()  # HALYARD_LATE_THREADS: tests' threads start late (late_threads.py)

_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER.startswith("gw"):
    # Before any test module reads it (test_dns.py and test_proxy_protocol.py
    # read the variable itself).
    os.environ["HALYARD_TEST_PORT"] = str(int(os.environ.get("HALYARD_TEST_PORT", "23310"))
                                          + 300 * int(_WORKER[2:]))
TEST_PORT = int(os.environ.get("HALYARD_TEST_PORT", "23310"))
use_ports(TEST_PORT)  # free_port(): TEST_PORT+100 to +299


def _sigterm_as_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config):
    # A CI timeout or `kill` sends SIGTERM: unwind like ^C so the fixtures'
    # teardown stops halyard and the cluster instead of orphaning them.
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    config.addinivalue_line(
        "markers", "one_pool_mode: runs in the default pool_mode's suite only (what it checks "
        "does not depend on pool_mode); HALYARD_TEST_POOL_MODE deselects it")
    config.addinivalue_line("markers", "xdist_group(name): pytest-xdist runs a group's tests on one worker")


# First, before xdist's own hook reads the groups: after it (a conftest's
# hook ran after xdist's, which had found no group and sent the tests out
# one by one) every worker ran a part of every file, so each started the
# Galera cluster and the dual-master pair.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """The session-mode suite (HALYARD_TEST_POOL_MODE set) leaves out the
    tests marked one_pool_mode: deselected, not skipped. Every test gets its
    xdist group (see above)."""
    _xdist_groups(items)
    if _WORKER:
        _longest_groups_first(items)
    if not os.environ.get("HALYARD_TEST_POOL_MODE"):
        return
    keep = [i for i in items if i.get_closest_marker("one_pool_mode") is None]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


def _xdist_groups(items):
    # A file that uses both (test_groups.py) joins "galera": a dual pair
    # starts in seconds, a Galera cluster in 30 s and more.
    shared = {}
    for i in items:
        names = set(i.fixturenames)
        if names & {"galera", "galera_session"}:
            shared[i.fspath] = "galera"
        elif names & {"dual", "dual_session"}:
            shared.setdefault(i.fspath, "dual")
    for i in items:
        i.add_marker(pytest.mark.xdist_group(shared.get(i.fspath, os.path.basename(str(i.fspath)))))


def _longest_groups_first(items):
    """The "galera" and "dual" groups, the longest (about 12 and 16 minutes
    of a suite's 88 worker-minutes in the CI run of 2026-11-28), first: the
    scheduler hands the groups out in the order of their first test, so each
    starts at once on a worker of its own, and the files fill in around
    them. The order within a group stays the collection's."""
    rank = {"galera": 0, "dual": 1}
    items.sort(key=lambda i: rank.get(i.get_closest_marker("xdist_group").args[0], 2))


def halyard_bin():
    return os.path.abspath(os.environ.get("HALYARD_BIN") or os.path.join(REPO, "build", "halyard"))


@pytest.fixture(scope="session")
def cluster_session():
    """The session's cluster. Tests use `cluster`, which heals it first.

    The base directory is fixed per port, not a fresh pytest tmp dir, so a
    run that was killed before its teardown leaves processes that the next
    run finds (through the pid files) and stops before starting anew. A lock
    keeps two concurrent sessions off the same ports.
    """
    base = os.environ.get("HALYARD_TEST_BASE") or f"/tmp/halyard-test-{os.geteuid()}-{TEST_PORT}"
    yield from _locked_cluster(base, lambda: Cluster(base, TEST_PORT))


def _locked_cluster(base, make):
    """Start the cluster make() returns under base's lock, yield it, and
    stop it (and remove its datadirs) at the end."""
    lock = open(f"{base}.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pytest.fail(f"another test session holds {base}.lock; set HALYARD_TEST_PORT to run beside it")

    c = make()
    c.destroy()  # whatever a killed earlier run left behind
    try:
        c.start()
        yield c
    finally:
        c.stop()
        if os.environ.get("HALYARD_KEEP_CLUSTER") != "1" and c.layout:
            # Error logs stay for post-mortems; the datadirs are 66 MB each.
            for n in c.layout["nodes"]:
                shutil.rmtree(n["datadir"], ignore_errors=True)
        lock.close()


@pytest.fixture
def cluster(cluster_session):
    cluster_session.heal()
    return cluster_session


@pytest.fixture
def ids(cluster):
    """The @@server_id of the primary, and the set of the replicas'."""
    return cluster.server_id(0), {cluster.server_id(1), cluster.server_id(2)}


@pytest.fixture(scope="session")
def galera_session():
    """A 3-node Galera cluster (tools/cluster --galera) on HALYARD_TEST_PORT+40
    and up (node i: +40+i, gcomm +50+i, IST +60+i, SST +70+i), started on
    first use. Tests use `galera`, which heals it first."""
    port = TEST_PORT + 40
    base = f"/tmp/halyard-galera-{os.geteuid()}-{TEST_PORT}"
    yield from _locked_cluster(base, lambda: GaleraCluster(base, port))


@pytest.fixture
def galera(galera_session):
    galera_session.heal()
    return galera_session


@pytest.fixture(scope="session")
def dual_session():
    """A dual-master pair and its witness (tools/cluster --dual-master) on
    HALYARD_TEST_PORT+77 to +79, started on first use. Tests use `dual`,
    which rebuilds it when a test changed its roles."""
    port = TEST_PORT + 77
    base = f"/tmp/halyard-dual-{os.geteuid()}-{TEST_PORT}"
    yield from _locked_cluster(base, lambda: DualCluster(base, port))


@pytest.fixture
def dual(dual_session):
    dual_session.heal()
    return dual_session


@pytest.fixture
def start_dual_halyard(dual, tmp_path):
    """start_halyard (below) in front of the dual-master pair, with
    cluster = "dual-master" and node2 as the witness."""
    yield from _halyard_factory(dual, tmp_path)


@pytest.fixture
def start_galera_halyard(galera, tmp_path):
    """start_halyard (below) in front of the Galera cluster, with cluster = "galera"."""
    yield from _halyard_factory(galera, tmp_path)


@pytest.fixture
def start_halyard(cluster, tmp_path):
    """Factory: start_halyard(conf=None, *, args=(), wait=True, prefix=(), host=..., **overrides).

    conf: None for the default config, a dict merged over it, or raw libconfig
    text with $listen_port, $node0_port, $primary_port, $app_hash ...
    substituted. Keyword overrides are merged over the defaults too
    (start_halyard(workers=1)). With wait=False the process is started but
    not waited for (for configs meant to fail: use .wait() then). prefix: a
    command line the binary runs under (it must exec it, so the pid stays
    halyard's: test_dns's `unshare -m`, test_partition's `ip netns exec`);
    host: where its listener is reached (127.0.0.1). Each
    process is stopped at teardown, and the test fails if one crashed, exited
    unasked, or left a sanitizer report in its log.
    """
    yield from _halyard_factory(cluster, tmp_path)


def _halyard_factory(cluster, tmp_path):
    binary = halyard_bin()
    if not os.access(binary, os.X_OK):
        pytest.fail(f"halyard binary {binary} is missing or not executable (run `make`, or set HALYARD_BIN)")
    started = []

    def start(conf=None, *, args=(), wait=True, port=None, host="127.0.0.1", prefix=(),
              **overrides):
        n = len(started)
        port = port or free_port()
        conf_path = tmp_path / f"halyard{n}.conf"
        conf_path.write_text(render_conf(cluster, port, conf, overrides))
        # It holds passwords: not for others to read (halyard -t warns then).
        conf_path.chmod(0o600)
        h = Halyard(binary, str(conf_path), str(tmp_path / f"halyard{n}.log"), port, args,
                    host=host, prefix=prefix)
        started.append(h)
        h.start()
        if wait:
            h.wait_ready()
        return h

    yield start

    problems = []
    for h in started:
        problems += [f"{p}; log {h.log_path}:\n{h.log_tail()}" for p in h.teardown()]
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def halyard(start_halyard):
    return start_halyard()
