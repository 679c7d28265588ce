# End-to-end benchmarks (issues 8 and 13): one httpd with mod_magiclink (its
# state store in LMDB, a directory of its own) and a trivial handler of ours
# (the ceiling for any Apache handler), the same httpd with its store on redis
# (a redis-server of its own), beside the Go peer (test/bench/goseed, baseline
# and optimized), driven by wrk and ab on 127.0.0.1; the handler core
# in-process (C and Go); heap, RSS, system calls. Figures, not a test (not in
# CHECKS); only meaningful on a quiet machine.
#
#   make bench                      everything (bench-codec, then bench-http)
#   make bench-http                 this fragment's part: build/bench/results.{md,json}, reqs.png
#   make bench-http BENCH_SECONDS=2 BENCH_ROUNDS=3   shorter
#   make bench-http BENCH_MPMS=event,worker          skip the MPM selection
#   make bench-core                 the in-process core alone (C and Go)
#   make bench-profile              perf (or callgrind) of POST generate in httpd
#   make bench-syscalls             strace: system calls per request in httpd -X, and
#                                   those made from within mod_magiclink (strace -k)
#   make bench-jwt                  the protected page with and without MagicLinkJWTHeader
#   make bench-cpu                  the targets' rows as server CPU per request beside the
#                                   trivial handler's: a ratio that holds on a busy machine
#   make bench-timing               POST generate: next-response delay, allowed vs not allowed
#   make bench-store                the store's write alone (no httpd): CPU, faults and
#                                   context switches per generate's issue, by concurrency
#
# Needs root or a user that may run apache2 on a high port, redis-server,
# redis-cli and mdb_stat (lmdb-utils: how many mails wait in an outbox); writes
# scratch files (LMDB stores, maildirs, runtime) under $(BENCH_TMP) (tmpfs) and
# removes them. Never the host's /var/lib/apache2/magiclink.

ifeq ($(.DEFAULT_GOAL),)
.DEFAULT_GOAL := all
endif

BENCH_DIR          := $(BUILD)/bench
BENCH_TRIVIAL      := $(BENCH_DIR)/mod_ml_trivial.so
BENCH_CORE         := $(BENCH_DIR)/bench_core
BENCH_STORE        := $(BENCH_DIR)/bench_store
BENCH_STORE_N      ?= 1000
BENCH_GOSEED       := $(BENCH_DIR)/goseed
BENCH_SECONDS      ?= 4
BENCH_ROUNDS       ?= 3
BENCH_MPMS         ?= auto
BENCH_MEM_REQUESTS ?= 200000
BENCH_TMP          ?= /dev/shm
BENCH_ARGS         ?=
BENCH_GOENV         = GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= \
                      GOCACHE=$(abspath $(BUILD))/go-cache

# The heap-counting shim: test/bench/malloc_count.c, built by bench-codec.mk
# when that fragment is there; otherwise here.
ifndef MALLOC_COUNT_SO
MALLOC_COUNT_SO := $(BENCH_DIR)/malloc_count.so
$(MALLOC_COUNT_SO): test/bench/malloc_count.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -shared $< -o $@
endif

$(BENCH_TRIVIAL): test/bench/mod_ml_trivial.c
	@mkdir -p $(BENCH_DIR)/apxs-trivial
	cp $< $(BENCH_DIR)/apxs-trivial/
	cd $(BENCH_DIR)/apxs-trivial && $(APXS) -c -o mod_ml_trivial.la \
	    $(addprefix -Wc$(comma),-O2 $(WARN) -std=gnu11) mod_ml_trivial.c >apxs.log 2>&1 \
	    || { cat apxs.log; exit 1; }
	cp $(BENCH_DIR)/apxs-trivial/.libs/mod_ml_trivial.so $@

$(BENCH_CORE): test/bench/core/bench_core.c $(wildcard src/*.h) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -rdynamic $< -o $@ $(CORE_LIB) $(APR_LIBS) $(DEP_LIBS) -ldl $(SAN_LD)

$(BENCH_STORE): test/bench/store/bench_store.c $(wildcard src/*.h) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(CORE_LIB) $(APR_LIBS) $(DEP_LIBS) $(SAN_LD)

$(BENCH_GOSEED): $(wildcard test/bench/goseed/*.go)
	@mkdir -p $(@D)
	cd test/bench/goseed && $(BENCH_GOENV) go build -o $(abspath $@) .

BENCH_DEPS = $(MODULE) $(CLI) $(BENCH_TRIVIAL) $(BENCH_CORE) $(BENCH_GOSEED) $(MALLOC_COUNT_SO)
BENCH_RUN  = $(BENCH_GOENV) /usr/bin/python3 test/bench/run.py --build $(BUILD) \
             --seconds $(BENCH_SECONDS) --rounds $(BENCH_ROUNDS) --mpms $(BENCH_MPMS) \
             --mem-requests $(BENCH_MEM_REQUESTS) --tmp $(BENCH_TMP) \
             --malloc-count $(abspath $(MALLOC_COUNT_SO)) $(BENCH_ARGS)

.PHONY: bench bench-http bench-core bench-profile bench-syscalls bench-jwt bench-cpu bench-store
bench: bench-http bench-store

bench-http: $(BENCH_DEPS)
	$(BENCH_RUN)

bench-core: $(BENCH_DEPS)
	$(BENCH_RUN) --only core

bench-profile: $(BENCH_DEPS)
	$(BENCH_RUN) --only profile

bench-syscalls: $(BENCH_DEPS)
	$(BENCH_RUN) --only syscalls

bench-cpu: $(BENCH_DEPS)
	$(BENCH_RUN) --only cpu --max-wait 0 --command "make bench-cpu"

# Each case in a fresh LMDB store under $(BENCH_TMP), removed after.
bench-store: $(BENCH_STORE)
	$(BENCH_STORE) $(BENCH_TMP) $(BENCH_STORE_N)

bench-jwt: $(BENCH_DEPS)
	$(BENCH_RUN) --only jwt --command "make bench-jwt"

# Whether the connection tells who may sign in: the next response's delay after
# POST generate for allowed and not-allowed addresses (issue 15; prints figures).
.PHONY: bench-timing
bench-timing: $(MODULE) $(CLI)
	ML_MODULE=$(abspath $(MODULE)) ML_CLI=$(abspath $(CLI)) /usr/bin/python3 test/bench/outbox_timing.py
