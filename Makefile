# halyard: plain GNU Makefile.
#   make            build build/halyard and build/halyardctl
#   make install    install binaries, man pages, sample config and systemd unit
#                   (PREFIX=/usr/local, DESTDIR= for staging)
#   make check      install what is missing, build, run unit and integration tests
#   make deb        the Debian package in build/deb (make check-package: and check it)
#   make demo       install, build, start a local MariaDB cluster and halyard
#                   (GALERA=1: a 3-node Galera cluster instead)
#   make stop       stop what `make demo` started
#   make asan       build with AddressSanitizer + UBSan and run the tests
#   make tsan       build with ThreadSanitizer and run the tests
#   make mtr        MariaDB's own test suite (a sample), directly and through halyard
#   make format / format-check

CC      ?= cc
BUILD   ?= build
PYTHON  ?= /usr/bin/python3
# TESTS: which integration tests (files or node ids) make integration runs.
TESTS   ?= tests/integration
PYTEST_ARGS ?=

WARN    = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes \
          -Wno-missing-field-initializers
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -pthread $(CFLAGS) $(EXTRA_CFLAGS)
# Link-time optimisation of the halyard binary, with gcc: calls across files
# on the data path (the cycle, its hooks' rows, the pool, the relay) are
# inlined as within one file, about 8% fewer instructions a point select
# (docs/performance.md). The objects keep their machine code as well
# (-ffat-lto-objects): halyardctl and the unit tests (some linked with
# --wrap) link them without LTO. `make LTO=` builds without it; clang builds
# (make asan, tsan, check-clang) are without it.
LTO ?= $(if $(findstring gcc version,$(shell $(CC) -v 2>&1)),-flto=auto -ffat-lto-objects)
# (gcc's linker plugin optimises LTO objects at any link that does not say
# -fno-lto, and none that says it anywhere: every link but halyard's says it)
LTO_OFF = $(if $(LTO),-fno-lto)
LDLIBS  = -lev -lssl -lcrypto -lpcre2-8 -lconfig -lz -lzstd -lcurl -lsystemd -lm -pthread
ALL_LDFLAGS = $(LDFLAGS) $(EXTRA_LDFLAGS) $(LTO_OFF)

SRC      = $(wildcard src/*.c src/*/*.c)
LIB_SRC  = $(filter-out src/main.c src/admin/halyardctl.c, $(SRC))
LIB_OBJ  = $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/web_assets.o
# The status page's files (web.h), built into the binary.
WEB_ASSETS = src/web/assets/index.html src/web/assets/status.css src/web/assets/status.js
HDRS     = $(wildcard include/halyard/*/*.h src/*/*.h)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Real client programs (libmariadb) the integration tests drive.
CLIENT_SRC = $(wildcard tests/clients/*.c)
CLIENT_BIN = $(CLIENT_SRC:tests/clients/%.c=$(BUILD)/clients/%)

PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
DESTDIR    ?=

.PHONY: all clients check check-clang check-suite-pooled check-suite-session check-suite-build check-suite-tools test-fast check-layers unit integration integration-session demo stop deps asan tsan format format-check clean check-config-keys check-docs bench mtr mtr-run \
        check-alerts pitr-check soak-short cache-check cache-check-short cache-check-adversarial cache-check-adversarial-short history-check history-check-short consistency-check consistency-check-short server-check server-check-short server-check-short-session bench-noisy-smoke \
        install uninstall deb check-package

all: $(BUILD)/halyard $(BUILD)/halyardctl

$(BUILD)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LTO) -c -o $@ $<

$(BUILD)/halyard: $(BUILD)/obj/main.o $(BUILD)/obj/build_id.o $(LIB_OBJ)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(EXTRA_LDFLAGS) $(LTO) -o $@ $^ $(LDLIBS)

# halyard --version: HALYARD_VERSION (include/halyard/core/core.h, the one
# place the version is written) and `git describe --always --dirty` of the
# checkout it was built in (none when built from a tarball). The file is
# rewritten only when the description changes.
VERSION      := $(shell sed -n 's/^\#define HALYARD_VERSION "\(.*\)"/\1/p' include/halyard/core/core.h)
GIT_DESCRIBE := $(shell test -e .git && git describe --always --dirty 2>/dev/null)
$(BUILD)/gen/build_id.c: FORCE
	@mkdir -p $(dir $@)
	@echo 'const char halyard_build_id[] = "$(GIT_DESCRIBE)";' >$@.tmp.$$$$; \
	if cmp -s $@.tmp.$$$$ $@; then rm -f $@.tmp.$$$$; else mv $@.tmp.$$$$ $@; fi

$(BUILD)/obj/build_id.o: $(BUILD)/gen/build_id.c
	$(CC) $(ALL_CFLAGS) $(LTO) -c -o $@ $<

# The status page's .html, .css and .js as C arrays (web_int.h).
$(BUILD)/gen/web_assets.c: tools/embed-assets $(WEB_ASSETS)
	@mkdir -p $(dir $@)
	tools/embed-assets $(WEB_ASSETS) >$@.tmp && mv $@.tmp $@

$(BUILD)/obj/web_assets.o: $(BUILD)/gen/web_assets.c src/web/web_int.h
	$(CC) $(ALL_CFLAGS) $(LTO) -Isrc/web -c -o $@ $<

FORCE:

# The admin socket's client links what it uses from the library archive: the
# config loader (-c CONFIG, which compiles the query rules, loads the TLS
# certificates and hashes firewall digests), restore and verify.
$(BUILD)/libhalyard.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/halyardctl: $(BUILD)/obj/admin/halyardctl.o $(BUILD)/libhalyard.a
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ -lconfig -lssl -lcrypto -lpcre2-8 -lev -lz -lzstd -lcurl -lm -pthread

# The cycle's tests run the session against scripted backends (fake_backend.h).
# They see each hook point the cycle calls: they are linked with --wrap for
# each of session_hooks.c's entry points, and cycle_fixture.c's wrappers
# note the point, then run the real one (and the trace's on_wait row, to see
# what the rows hear of it).
HOOK_POINTS = create start opening timer take busy killed interrupted between classified digest rule route hold cancel_wait wait before_backend after_backend ready chosen synced sync refuse elsewhere rewrites rewrite \
  send filter_up sent trailing begin attached wants_whole packet fed relayed infile answer_end done settled end follow abandon idle reset \
  renew own_err reply lost trx_lost after_lost conn_open conn_gone leave close backend_ready schema_gone pin \
  lend lent_gone view thread_exit replayed
CYCLE_TEST_SRC = tests/unit/fake_backend.c tests/unit/cycle_fixture.c
$(BUILD)/tests/test_cycle_%: ALL_LDFLAGS += $(HOOK_POINTS:%=-Wl,--wrap=session_hooks_%) \
  -Wl,--wrap=session_trace_wait
$(BUILD)/tests/test_cycle_%: tests/unit/test_cycle_%.c $(CYCLE_TEST_SRC) tests/unit/fake_backend.h \
		tests/unit/cycle_fixture.h $(LIB_OBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(CYCLE_TEST_SRC) $(LIB_OBJ) $(LDLIBS) -lcmocka

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS) -lcmocka

# test_sqlclient looks for a secret in every heap block the process holds:
# it sees them by wrapping the allocator's calls (the library's included).
$(BUILD)/tests/test_sqlclient: ALL_LDFLAGS += -Wl,--wrap=malloc -Wl,--wrap=calloc \
  -Wl,--wrap=realloc -Wl,--wrap=free

$(BUILD)/clients/%: tests/clients/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) $$(pkg-config --cflags libmariadb) \
	  $(ALL_LDFLAGS) -o $@ $< $$(pkg-config --libs libmariadb)

deps:
	tools/deps

clients: $(CLIENT_BIN)

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done
	tools/mtr --self-test

# Includes go downward only (docs/ARCHITECTURE.md, "Layers"); each part of
# struct session is written only by the files its row names ("Who writes
# struct session"); numbers, clocks and FNV go through the core kit
# (tools/check-kit: no atoi/strto*/clock_gettime outside core/).
check-layers:
	tools/check-layers --self-test
	tools/check-layers
	tools/check-kit --self-test
	tools/check-kit
	tools/check-ownership --self-test
	tools/check-ownership
	tools/check-shape

# No .c file over 2,500 lines, no function over 150 (universal-ctags).
check-sizes:
	tools/check-sizes --self-test
	tools/check-sizes

# The edit-compile-test loop, under 3 minutes: the unit tests, the layer check
# and a short integration smoke test (a login, queries routed to the primary
# and the replicas, a pooled connection handed between sessions, a KILL).
SMOKE_TESTS ?= tests/integration/test_core.py::test_login_pymysql_and_thread_id \
  tests/integration/test_core.py::test_com_change_user \
  tests/integration/test_core.py::test_kill_query_by_halyard_id \
  tests/integration/test_core.py::test_multi_statements \
  tests/integration/test_routing.py \
  tests/integration/test_pool.py::test_two_sessions_alternate_on_one_connection \
  tests/integration/test_pool.py::test_schema_moves_and_comes_back
test-fast: all unit check-layers
	$(MAKE) integration TESTS="$(SMOKE_TESTS)"

check-config-keys: $(BUILD)/halyard
	tools/check-config-keys $(BUILD)/halyard

# README.md and docs/*.md: links and anchors resolve, the configs shown load,
# every config key has its row in docs/configuration.md.
check-docs: $(BUILD)/halyard
	tools/check-docs $(BUILD)/halyard
	tools/check-architecture --self-test
	tools/check-architecture $(BUILD)/halyard

# The example alert rules: valid, and each alert fires on the series meant to fire it.
check-alerts:
	cd conf && promtool check rules halyard-alerts.yml && promtool test rules halyard-alerts.test.yml

# The Debian package (debian/): dpkg-buildpackage in build-deb/, about 30 s
# here; the .deb, .buildinfo and .changes go to $(BUILD)/deb (a plain
# `dpkg-buildpackage -b -us -uc` writes them to the directory above).
DEB_DIR = $(abspath $(BUILD)/deb)
deb:
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)
	HALYARD_DEB_DIR=$(DEB_DIR) dpkg-buildpackage -b -us -uc \
	  --buildinfo-option=-u$(DEB_DIR) --buildinfo-file=$(DEB_DIR)/halyard.buildinfo \
	  --changes-option=-u$(DEB_DIR) --changes-file=$(DEB_DIR)/halyard.changes

# What the package installs, and that it works as installed (tools/check-package).
check-package: deb
	tools/check-package $(DEB_DIR)/halyard_$(VERSION)-*_*.deb

integration: $(BUILD)/halyard $(BUILD)/halyardctl $(CLIENT_BIN)
	HALYARD_BIN=$(abspath $(BUILD)/halyard) HALYARDCTL_BIN=$(abspath $(BUILD)/halyardctl) HALYARD_CLIENTS=$(abspath $(BUILD)/clients) $(PYTHON) -m pytest -q $(TESTS) $(PYTEST_ARGS)

# Point-in-time recovery, the whole story on a real cluster (issue 14): load,
# a full backup, a failover, a restore to a time T compared table by table
# with a replica stopped at T's GTID, then backup verify. About a minute.
# Then --chain --encrypt: mariadb-backup full, incr, diff, incr through a
# failover, three restores compared, a tampered backup refused (about 50 s).
pitr-check: $(BUILD)/halyard $(BUILD)/halyardctl
	tools/pitr-check --halyard $(abspath $(BUILD)/halyard) --halyardctl $(abspath $(BUILD)/halyardctl)
	tools/pitr-check --chain --encrypt --halyard $(abspath $(BUILD)/halyard) --halyardctl $(abspath $(BUILD)/halyardctl)

# The query cache's stale-read checker (issue 30): readers through halyard
# against every kind of writer, a failover in the middle; stale reads and
# read-your-writes violations must both be 0. About 2.5 minutes; the
# short one (45 s of load) about 1.
cache-check: $(BUILD)/halyard
	tools/cache-check --halyard $(abspath $(BUILD)/halyard)

cache-check-short: $(BUILD)/halyard
	tools/cache-check --short --halyard $(abspath $(BUILD)/halyard)

# every cached answer against the server's (issue 42): random statements,
# session settings, transactions, XA, temporary tables, SET GLOBAL, half
# the reads prepared (tools/mysqlbin.py), COM_PING/RESET_CONNECTION/
# CHANGE_USER between them; a matrix of protocol x pool_mode x session
# command per setting; fails on a wrong answer. The short form: 25 s of
# tools/cluster's settings under transaction pooling, then 25 s with
# read_your_writes = "session" under session pooling, one cluster, about
# 60 s, seed 2 in make check (a seed is a reproducible run; seed 6 still finds
# two stale answers after savepoints and XA over a MyISAM table, open in
# issue 42): run the long form with other seeds to hunt.
cache-check-adversarial: $(BUILD)/halyard
	tools/cache-check --adversarial --halyard $(abspath $(BUILD)/halyard)

cache-check-adversarial-short: $(BUILD)/halyard
	tools/cache-check --adversarial --short --seed $(or $(SEED),2) --halyard $(abspath $(BUILD)/halyard)

# Acknowledged writes through failovers (issue 41): bank transfers, unique
# inserts and COMMIT AND CHAIN through halyard (a transfer client and an
# insert client in prepared statements) while the primary is killed and
# switched over; every variant must print 0 in its first four lines.
# About 1.5 minutes a variant; the short one (one variant, one failover)
# about one, in make check's third track.
HISTORY_VARIANTS = default no-log-slave-updates mixed aria chain
history-check: $(BUILD)/halyard $(BUILD)/halyardctl
	rc=0; for v in $(HISTORY_VARIANTS); do echo "== $$v"; \
	  tools/history-check --variant $$v --halyard $(abspath $(BUILD)/halyard) \
	    --halyardctl $(abspath $(BUILD)/halyardctl) || rc=1; done; exit $$rc

# tools/bench --noisy-neighbor in short (issue 45): the two lines printed
# with their numbers and the limited phase held the noisy tenant (show
# limits); about 30 s, cluster on ports 25490 to 25492, halyard on 25495.
bench-noisy-smoke: $(BUILD)/halyard
	tools/check-bench-noisy --halyard $(abspath $(BUILD)/halyard)

# tools/soak --short (issue 58): 90 s of logins, prepared statements, large
# results, cache evictions, reloads, a switchover and a failover through a
# pooled and a session-mode halyard; fails when either grew by more than
# 8,192 KiB of RSS (its 20 s warm-up ends before the allocator's plateau:
# 1,920 to 2,616 KiB in three runs; the 2,048 KiB goal is the 20-minute
# form's) or any descriptor after the warm-up besides the pools' backend
# connections. Cluster on ports 25520 to 25522, halyards on 25530 and
# 25531 (SOAK_ARGS="--cluster-port P --halyard-port Q" for others).
soak-short: $(BUILD)/halyard
	tools/soak --short --max-rss-kib 8192 $(SOAK_ARGS) --halyard $(abspath $(BUILD)/halyard)

history-check-short: $(BUILD)/halyard $(BUILD)/halyardctl
	tools/history-check --short --halyard $(abspath $(BUILD)/halyard) \
	  --halyardctl $(abspath $(BUILD)/halyardctl)

# What reads see of the writes before them (issue 54): writers and
# readers, text and prepared, under consistency causal and global and the
# cache's read_your_writes = "session", in both pool modes, against
# replicas that lag (one a second late, the other's SQL thread stopped now
# and then); stale reads must be 0. 6 halyards x 40 s, about 5 minutes;
# the short one (6 x 6 s, seed 1, about a minute) in make check's third
# track after history-check --short (cluster on ports 25470 to 25472,
# halyard on 25570 and up).
consistency-check: $(BUILD)/halyard
	tools/consistency-check --halyard $(abspath $(BUILD)/halyard)

consistency-check-short: $(BUILD)/halyard
	tools/consistency-check --short --seed $(or $(SEED),1) --halyard $(abspath $(BUILD)/halyard)

# Where halyard answers in the server's place (issue 47 item 9): random
# process-list and status reads, KILLs, PINGs, SETs, resets, INIT_DB and
# CHANGE_USER in every transaction state, each through halyard and to a
# direct twin, compared; half the statements prepared (binary protocol:
# cursors, long data, bulk, COM_STMT_RESET/CLOSE, tools/mysqlbin.py, whose
# self-test runs first through halyard and directly); it prints one line
# per cell, protocol x pool_mode x the session command before the
# statement; fails on a wrong answer. The short form: 30 s,
# seed 1, about 40 s in all, in make check's third track after
# history-check --short (cluster on ports 25460 to 25462, halyard on 25560
# and up); then the same under pool_mode = "session", seed 2 (cluster on
# ports 25464 to 25466, halyard on 25564 and up).
server-check: $(BUILD)/halyard
	tools/server-check --halyard $(abspath $(BUILD)/halyard)

server-check-short: $(BUILD)/halyard
	tools/server-check --short --seed $(or $(SEED),1) --halyard $(abspath $(BUILD)/halyard)

server-check-short-session: $(BUILD)/halyard
	tools/server-check --short --seed $(or $(SEED),2) --pool-mode session --port 25464 \
	  --halyard $(abspath $(BUILD)/halyard)

# The same suite with pool_mode = "session" wherever a test does not set it.
integration-session: $(BUILD)/halyard $(BUILD)/halyardctl $(CLIENT_BIN)
	HALYARD_TEST_POOL_MODE=session $(MAKE) integration

check: deps
	$(MAKE) all unit clients
	$(MAKE) check-layers
	$(MAKE) check-sizes
	$(MAKE) check-config-keys
	$(MAKE) check-docs
	$(MAKE) check-alerts
	$(MAKE) -j4 --output-sync=target check-suite-pooled check-suite-session check-suite-build \
	  check-suite-tools

# The long part of make check runs as four tracks side by side: the
# pooled suite, the session-mode suite, the builds (clang, the fuzzers,
# the package) and the tools (mtr, pitr-check, cache-check --short,
# history-check --short, consistency-check --short, server-check --short,
# bench-noisy-smoke and soak-short), each track's steps one after another.
# Each suite runs on
# two pytest-xdist workers (CHECK_WORKERS), a test file at a time (the
# Galera and dual-master files as two groups, sent out first), each
# worker with a cluster of its own 300 ports up
# (tests/integration/conftest.py): pooled 23310 and 23610, session 23910
# and 24210. tools/mtr, tools/pitr-check, tools/cache-check,
# tools/history-check, tools/consistency-check and tools/server-check have theirs, so clusters,
# namespaces and sockets never meet; 2 cores are mostly waiting on the servers, the failovers' timers and
# the sleeps of the tests. Each suite lists its 20 slowest tests at the end.
CHECK_DURATIONS = --durations=20
CHECK_WORKERS = -n 2 --dist loadgroup
check-suite-pooled:
	HALYARD_TEST_PORT=23310 $(MAKE) integration PYTEST_ARGS="$(CHECK_WORKERS) $(CHECK_DURATIONS)"

check-suite-session:
	HALYARD_TEST_PORT=23910 $(MAKE) integration-session PYTEST_ARGS="$(CHECK_WORKERS) $(CHECK_DURATIONS)"

check-suite-build:
	$(MAKE) check-clang
	$(MAKE) fuzz-smoke
	$(MAKE) check-package

check-suite-tools:
	$(MAKE) mtr-run
	$(MAKE) pitr-check
	$(MAKE) cache-check-short
	$(MAKE) cache-check-adversarial-short
	$(MAKE) history-check-short
	$(MAKE) consistency-check-short
	$(MAKE) server-check-short
	$(MAKE) server-check-short-session
	$(MAKE) bench-noisy-smoke
	$(MAKE) soak-short

# The build with clang, warnings as errors, as with gcc (CC=clang: its own
# warnings, and a link that names every library the code needs).
check-clang:
	$(MAKE) BUILD=build-clang CC=clang all

demo: deps all
	GALERA=$(GALERA) tools/demo start

stop:
	tools/demo stop

bench: all
	tools/bench

# tests/mtr/sample.txt run by mysql-test-run.pl --extern, directly and through
# halyard, side by side (tools/mtr); fails on a difference not listed in
# tests/mtr/known-differences.txt.
mtr: deps
	$(MAKE) all mtr-run

# Two clusters, each with its halyard, take the tests from one queue
# (--jobs 2, on 22310 and 22610): the sample took 33 minutes on one, the
# longest step of make check's tools track.
mtr-run: $(BUILD)/halyard
	tools/mtr --build $(BUILD) --jobs 2

asan: deps
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp) \
	$(MAKE) BUILD=build-asan CC=clang \
	  EXTRA_CFLAGS="-O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" all unit integration

# ThreadSanitizer (clang) over the unit and integration tests: the workers,
# the monitor, the failover thread, the log writer and the main thread share
# atomics, inboxes and a few mutex-guarded tables.
tsan: deps
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	$(MAKE) BUILD=build-tsan CC=clang \
	  EXTRA_CFLAGS="-O1 -fno-omit-frame-pointer -fsanitize=thread" \
	  EXTRA_LDFLAGS="-fsanitize=thread" all unit integration

format:
	clang-format -i src/*.c src/*/*.c src/*/*.h include/halyard/*/*.h tests/unit/*.c

format-check:
	clang-format --dry-run --Werror src/*.c src/*/*.c src/*/*.h include/halyard/*/*.h tests/unit/*.c

# The unit's ExecStart names the installed binary; the production config
# (conf/halyard.production.conf, short, valid as installed) goes to
# $(SYSCONFDIR)/halyard/halyard.conf unless one is there already, the
# annotated sample of every key (the demo's) to share/doc. systemd reads
# $(PREFIX)/lib/systemd/system and $(PREFIX)/lib/sysusers.d for
# PREFIX=/usr/local and /usr; then: systemd-sysusers, chgrp halyard on the
# config, systemctl daemon-reload, systemctl enable --now halyard.
install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
	  $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
	  $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/doc/halyard \
	  $(DESTDIR)$(PREFIX)/share/halyard \
	  $(DESTDIR)$(SYSCONFDIR)/halyard $(DESTDIR)$(SYSCONFDIR)/logrotate.d \
	  $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	install -m 0755 $(BUILD)/halyard $(DESTDIR)$(PREFIX)/sbin/halyard
	install -m 0755 $(BUILD)/halyardctl $(DESTDIR)$(PREFIX)/bin/halyardctl
	install -m 0755 tools/rehearse $(DESTDIR)$(PREFIX)/bin/halyard-rehearse
	install -m 0644 docs/halyard.8 $(DESTDIR)$(PREFIX)/share/man/man8/halyard.8
	install -m 0644 docs/halyardctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/halyardctl.1
	install -m 0644 docs/halyard.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/halyard.conf.5
	install -m 0644 conf/halyard.demo.conf $(DESTDIR)$(PREFIX)/share/doc/halyard/halyard.conf.sample
	install -m 0644 conf/halyard-alerts.yml $(DESTDIR)$(PREFIX)/share/doc/halyard/halyard-alerts.yml
	install -m 0644 conf/halyard-dashboard.json $(DESTDIR)$(PREFIX)/share/halyard/halyard-dashboard.json
	install -m 0644 LICENSE CHANGELOG.md $(DESTDIR)$(PREFIX)/share/doc/halyard/
	test -e $(DESTDIR)$(SYSCONFDIR)/halyard/halyard.conf || \
	  install -m 0640 conf/halyard.production.conf $(DESTDIR)$(SYSCONFDIR)/halyard/halyard.conf
	install -m 0644 conf/halyard.logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/halyard
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g; s|@SYSCONFDIR@|$(SYSCONFDIR)|g' conf/halyard.service \
	  > $(DESTDIR)$(UNITDIR)/halyard.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/halyard.service
	install -m 0644 conf/halyard.sysusers $(DESTDIR)$(SYSUSERSDIR)/halyard.conf

# Leaves $(SYSCONFDIR)/halyard/halyard.conf: it is the operator's.
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/halyard $(DESTDIR)$(PREFIX)/bin/halyardctl \
	  $(DESTDIR)$(PREFIX)/bin/halyard-rehearse \
	  $(DESTDIR)$(PREFIX)/share/man/man8/halyard.8 $(DESTDIR)$(PREFIX)/share/man/man1/halyardctl.1 \
	  $(DESTDIR)$(PREFIX)/share/man/man5/halyard.conf.5 \
	  $(DESTDIR)$(PREFIX)/share/doc/halyard/halyard.conf.sample \
	  $(DESTDIR)$(PREFIX)/share/doc/halyard/halyard-alerts.yml $(DESTDIR)$(UNITDIR)/halyard.service \
	  $(DESTDIR)$(PREFIX)/share/doc/halyard/LICENSE $(DESTDIR)$(PREFIX)/share/doc/halyard/CHANGELOG.md \
	  $(DESTDIR)$(SYSCONFDIR)/logrotate.d/halyard $(DESTDIR)$(SYSUSERSDIR)/halyard.conf \
	  $(DESTDIR)$(PREFIX)/share/halyard/halyard-dashboard.json
	-rmdir $(DESTDIR)$(PREFIX)/share/halyard 2>/dev/null

clean:
	rm -rf build build-asan build-tsan

# ---- fuzzing ---------------------------------------------------------------
#   make fuzz         build the libFuzzer targets tests/fuzz/fuzz_*.c into build-fuzz/ and
#                     run each for FUZZ_SECONDS (default 60) on a copy of its corpus
#                     (tests/fuzz/corpus/NAME); exits non-zero if any target found something
#   make fuzz-smoke   the same for FUZZ_SMOKE_SECONDS (default 10) each; part of `make check`
# The library objects get -fsanitize=fuzzer-no-link (coverage, no main) and go
# into an archive, so each target links only the modules it uses.
FUZZ_CC            ?= clang
FUZZ_BUILD         ?= build-fuzz
FUZZ_SECONDS       ?= 60
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_SAN     = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  = -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -pthread -O1 -g -fno-omit-frame-pointer
FUZZ_SRC     = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN     = $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_LIB_OBJ = $(LIB_SRC:src/%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_LIB     = $(FUZZ_BUILD)/libhalyard.a

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-clean

$(FUZZ_BUILD)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_LIB) $(HDRS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< $(FUZZ_LIB) $(LDLIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	tools/fuzz $(FUZZ_SECONDS) $(FUZZ_BUILD) $(FUZZ_BIN)

fuzz-smoke: fuzz-build
	tools/fuzz $(FUZZ_SMOKE_SECONDS) $(FUZZ_BUILD) $(FUZZ_BIN)

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

clean: fuzz-clean
