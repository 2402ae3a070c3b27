# halyard: plain GNU Makefile.
#   make            build build/halyard
#   make check      install what is missing, build, run unit and integration tests
#   make demo       install, build, start a local MariaDB cluster and halyard
#   make stop       stop what `make demo` started
#   make asan       build with AddressSanitizer + UBSan and run the tests
#   make format / format-check

CC      ?= cc
BUILD   ?= build
PYTHON  ?= /usr/bin/python3
PYTEST_ARGS ?=

WARN    = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes \
          -Wno-missing-field-initializers
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -pthread $(CFLAGS) $(EXTRA_CFLAGS)
LDLIBS  = -lev -lssl -lcrypto -lpcre2-8 -lconfig -pthread
ALL_LDFLAGS = $(LDFLAGS) $(EXTRA_LDFLAGS)

SRC      = $(wildcard src/*.c)
LIB_SRC  = $(filter-out src/main.c src/halyardctl.c, $(SRC))
LIB_OBJ  = $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
HDRS     = $(wildcard include/halyard/*.h)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Real client programs (libmariadb) the integration tests drive.
CLIENT_SRC = $(wildcard tests/clients/*.c)
CLIENT_BIN = $(CLIENT_SRC:tests/clients/%.c=$(BUILD)/clients/%)

.PHONY: all check unit integration demo stop deps asan format format-check clean check-config-keys bench

all: $(BUILD)/halyard

$(BUILD)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/halyard: $(BUILD)/obj/main.o $(LIB_OBJ)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS) -lcmocka

$(BUILD)/clients/%: tests/clients/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) $$(pkg-config --cflags libmariadb) \
	  $(ALL_LDFLAGS) -o $@ $< $$(pkg-config --libs libmariadb)

deps:
	tools/deps

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

check-config-keys: $(BUILD)/halyard
	tools/check-config-keys $(BUILD)/halyard

integration: $(BUILD)/halyard $(CLIENT_BIN)
	HALYARD_BIN=$(abspath $(BUILD)/halyard) HALYARD_CLIENTS=$(abspath $(BUILD)/clients) $(PYTHON) -m pytest -q tests/integration $(PYTEST_ARGS)

check: deps
	$(MAKE) all unit
	$(MAKE) check-config-keys
	$(MAKE) integration

demo: deps all
	tools/demo start

stop:
	tools/demo stop

bench: all
	tools/bench

asan: deps
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp) \
	$(MAKE) BUILD=build-asan CC=clang \
	  EXTRA_CFLAGS="-O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" all unit integration

format:
	clang-format -i src/*.c include/halyard/*.h tests/unit/*.c

format-check:
	clang-format --dry-run --Werror src/*.c include/halyard/*.h tests/unit/*.c

clean:
	rm -rf build build-asan
