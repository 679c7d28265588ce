# libFuzzer targets for what parses untrusted input: ml_open (cookies, link
# tokens), the claims JSON reader/writer, base64, Accept-Language (ml_lang), the
# claims reader against jansson (claims_diff: same verdict, same claims), the
# Cookie header and Origin (cookie), addresses and domains (addr), return paths
# (return), the mail encoders (mail_enc), the template escapers (tpl), the claim
# checks of sessions and bindings (session). Each asserts a property, not only
# "no crash". clang with ASan + UBSan. (Form bodies are parsed by httpd's
# ap_parse_form_data, not by us.)
#
#   make fuzz                         each target for its share of FUZZ_SECONDS (30)
#   make fuzz-long                    each target for FUZZ_RUNS executions (10,000,000)
#   make fuzz-long FUZZ_RUNS=1000000  fewer
#   build/fuzz/fuzz_open CRASHFILE    replay one input
#
# New inputs go to $(BUILD)/fuzz/corpus/NAME (kept between runs), crashes to
# $(BUILD)/fuzz/artifacts/; test/fuzz/corpus_NAME holds the seeds (read only
# here; regenerate with test/fuzz/make_corpus.py). A crash, a sanitizer
# report, a leak or a failed property fails the target, hence `make check`.

ifeq ($(.DEFAULT_GOAL),)
.DEFAULT_GOAL := all
endif

FUZZ_CC      ?= clang
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_NAMES   := open claims b64 claims_diff lang cookie addr return mail_enc tpl session
FUZZ_BINS    := $(addprefix $(FUZZ_DIR)/fuzz_,$(FUZZ_NAMES))
FUZZ_SECONDS ?= 30
FUZZ_RUNS    ?= 10000000
FUZZ_RSS_MB  ?= 2048
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS   = -std=gnu11 -g -O1 $(WARN) -Isrc -I$(BUILD)/gen $(APR_CPPFLAGS) $(FUZZ_SAN)

# The codec's own sources, not all of src/: the fuzzers need no more, and an
# unrelated module being edited elsewhere in the tree cannot break them. The
# archive only pulls in what the targets use; the linker names anything new.
FUZZ_CORE_SRC := $(addprefix src/ml_,b64.c buf.c claims.c codec.c crypto.c ctr.c hmac.c keyring.c lang.c random.c scratch.c \
                   cookie.c origin.c addr.c punycode.c mail_utf8.c mail_enc.c return.c tpl.c \
                   sink_buf.c link.c store.c store_lmdb.c store_redis.c metrics.c)
FUZZ_CORE_OBJ := $(patsubst src/%.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_CORE_SRC))
FUZZ_CORE_LIB := $(FUZZ_DIR)/libmagiclink-fuzz.a

# Coverage instrumentation in the library too, or the fuzzer would be blind
# inside the code it is meant to explore.
$(FUZZ_DIR)/obj/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_CORE_LIB): $(FUZZ_CORE_OBJ)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: test/fuzz/fuzz_%.c test/fuzz/fuzz_common.h $(FUZZ_CORE_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer \
	    -DML_FUZZ_KEYFILE='"$(abspath test/keys/test.key)"' \
	    $< -o $@ $(FUZZ_CORE_LIB) $(APR_LIBS) $(DEP_LIBS)

# $(1): total seconds, shared equally by the targets; $(2): libFuzzer's budget
# option for each (default: -max_total_time=its share).
define ml_fuzz_run
	@set -e; per=$$(( $(1) / $(words $(FUZZ_NAMES)) )); [ $$per -ge 1 ] || per=1; \
	budget="$(if $(2),$(2),-max_total_time=$$per)"; \
	for t in $(FUZZ_NAMES); do \
	    mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/artifacts; \
	    echo "== fuzz_$$t ($$budget)"; \
	    dict=; [ -f test/fuzz/$$t.dict ] && dict=-dict=test/fuzz/$$t.dict; \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	    $(FUZZ_DIR)/fuzz_$$t $$budget -rss_limit_mb=$(FUZZ_RSS_MB) \
	        -timeout=10 -max_len=8192 -print_final_stats=1 $$dict \
	        -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t- \
	        $(FUZZ_DIR)/corpus/$$t test/fuzz/corpus_$$t 2>$(FUZZ_DIR)/fuzz_$$t.log \
	    || { tail -n 60 $(FUZZ_DIR)/fuzz_$$t.log; echo "fuzz_$$t FAILED (log: $(FUZZ_DIR)/fuzz_$$t.log)"; exit 1; }; \
	    grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb|INFO: seed corpus)' \
	        $(FUZZ_DIR)/fuzz_$$t.log || true; \
	done
endef

.PHONY: fuzz fuzz-long fuzz-build fuzz-corpus
fuzz-build: $(FUZZ_BINS)

# Rewrites the seed corpora in test/fuzz/ (deterministic; commit the result).
fuzz-corpus: $(BUILD)/interop/seal_fixed $(BUILD)/interop/test.key
	/usr/bin/python3 test/fuzz/make_corpus.py $(BUILD)

fuzz: $(FUZZ_BINS)
	$(call ml_fuzz_run,$(FUZZ_SECONDS))

# Every target for FUZZ_RUNS executions (or FUZZ_SECONDS each when given).
fuzz-long: $(FUZZ_BINS)
	$(call ml_fuzz_run,$(if $(filter command line,$(origin FUZZ_SECONDS)),$(FUZZ_SECONDS),1),$(if $(filter command line,$(origin FUZZ_SECONDS)),,-runs=$(FUZZ_RUNS)))
