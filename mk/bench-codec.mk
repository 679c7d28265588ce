# Codec benchmark: seal/open beside gorilla/securecookie in Go. Figures, not
# a test (not in CHECKS); timings are only meaningful on a quiet machine.
#
#   make bench-codec                       the table (C and Go in one run)
#   make bench-codec-callgrind             instructions per op, under callgrind
#   make bench-codec-trace CASE=open       backtraces of one warm op's heap calls

ifeq ($(.DEFAULT_GOAL),)
.DEFAULT_GOAL := all
endif

BENCH_CODEC_DIR    := $(BUILD)/bench/codec
BENCH_CODEC_BIN    := $(BENCH_CODEC_DIR)/bench_codec
BENCH_CODEC_GO     := $(BENCH_CODEC_DIR)/gobench
BENCH_CODEC_KEY    := $(BENCH_CODEC_DIR)/test.key
MALLOC_COUNT_SO    := $(BUILD)/bench/malloc_count.so
BENCH_CODEC_ROUNDS ?= 3
CALLGRIND_OPS      ?= 2000
CASE               ?= open
BENCH_CODEC_GOENV   = GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= \
                      GOCACHE=$(abspath $(BUILD))/go-cache

$(MALLOC_COUNT_SO): test/bench/malloc_count.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -shared $< -o $@

# -rdynamic: the shim's backtraces then name the codec's own functions.
$(BENCH_CODEC_BIN): test/bench/codec/bench_codec.c $(wildcard src/*.h) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -rdynamic $< -o $@ $(CORE_LIB) $(APR_LIBS) $(DEP_LIBS) -ldl $(SAN_LD)

$(BENCH_CODEC_GO): test/bench/codec/gobench.go
	@mkdir -p $(@D)
	$(BENCH_CODEC_GOENV) go build -o $@ $<

$(BENCH_CODEC_KEY): test/keys/test.key
	@mkdir -p $(@D)
	install -m 600 $< $@

.PHONY: bench bench-codec bench-codec-callgrind bench-codec-trace
bench: bench-codec

bench-codec: $(BENCH_CODEC_BIN) $(BENCH_CODEC_GO) $(BENCH_CODEC_KEY) $(MALLOC_COUNT_SO)
	$(BENCH_CODEC_GO) $(BENCH_CODEC_KEY) $(BENCH_CODEC_ROUNDS) >$(BENCH_CODEC_DIR)/go.txt
	LD_PRELOAD=$(abspath $(MALLOC_COUNT_SO)) \
	    $(BENCH_CODEC_BIN) $(BENCH_CODEC_KEY) $(BENCH_CODEC_DIR)/go.txt

bench-codec-trace: $(BENCH_CODEC_BIN) $(BENCH_CODEC_KEY) $(MALLOC_COUNT_SO)
	LD_PRELOAD=$(abspath $(MALLOC_COUNT_SO)) \
	    $(BENCH_CODEC_BIN) --trace '$(CASE)' 64 $(BENCH_CODEC_KEY)

# Each case's warm ops are collected and dumped on their own (client
# requests in bench_codec); the dump's total divided by the op count is the
# instructions per op.
bench-codec-callgrind: $(BENCH_CODEC_BIN) $(BENCH_CODEC_KEY)
	rm -f $(BENCH_CODEC_DIR)/callgrind.out.*
	valgrind --tool=callgrind --collect-atstart=no \
	    --callgrind-out-file=$(abspath $(BENCH_CODEC_DIR))/callgrind.out.%p \
	    $(BENCH_CODEC_BIN) --callgrind $(CALLGRIND_OPS) $(BENCH_CODEC_KEY) \
	    2>$(BENCH_CODEC_DIR)/callgrind.log || { cat $(BENCH_CODEC_DIR)/callgrind.log; exit 1; }
	@echo "instructions per op (callgrind Ir, $(CALLGRIND_OPS) warm ops each):"
	@for f in $(BENCH_CODEC_DIR)/callgrind.out.*; do \
	    awk -v ops=$(CALLGRIND_OPS) ' \
	        /^desc: Trigger: Client Request: / { name = $$5 } \
	        /^(summary|totals): / { ir = $$2 } \
	        END { if (name != "") printf "  %-12s %10.0f\n", name, ir / ops }' $$f; \
	done
	@echo "(per-function detail: callgrind_annotate $(BENCH_CODEC_DIR)/callgrind.out.<pid>.<n>)"
