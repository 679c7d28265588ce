# C unit tests (cmocka): test/unit/test_*.c, one binary each, linked with the core.
UNIT_SRC  := $(wildcard test/unit/test_*.c)
UNIT_BINS := $(patsubst test/unit/%.c,$(BUILD)/test/unit/%,$(UNIT_SRC))

$(BUILD)/test/unit/%: test/unit/%.c test/unit/ml_test.h $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -Itest/unit $< -o $@ $(CORE_LIB) $(APR_LIBS) $(DEP_LIBS) -lcmocka -lpthread $(SAN_LD)

.PHONY: unit
unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

# The allow policy's readers-never-block scheme under ThreadSanitizer: its unit
# test (readers racing file swaps) built from the sources it needs, instrumented.
POLICY_TSAN     := $(BUILD)/test/tsan/test_policy
POLICY_TSAN_SRC := src/ml_policy.c src/ml_addr.c src/ml_punycode.c src/ml_mail_utf8.c \
                   src/ml_mail_enc.c src/ml_buf.c

$(POLICY_TSAN): test/unit/test_policy.c test/unit/ml_test.h $(POLICY_TSAN_SRC) $(wildcard src/*.h)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O1 -g -fsanitize=thread $(WARN) -Isrc -Itest/unit $(APR_CPPFLAGS) \
	    $< $(POLICY_TSAN_SRC) -o $@ $(APR_LIBS) -lcrypto -lcmocka -lpthread

.PHONY: unit-tsan
unit-tsan: $(POLICY_TSAN)
	TSAN_OPTIONS=halt_on_error=1:exitcode=66 $(POLICY_TSAN)

ifeq ($(SAN),)
unit: unit-tsan
endif
