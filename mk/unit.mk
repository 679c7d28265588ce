# C unit tests (cmocka): test/unit/test_*.c, one binary each, linked with the core.
UNIT_SRC  := $(wildcard test/unit/test_*.c)
UNIT_BINS := $(patsubst test/unit/%.c,$(BUILD)/test/unit/%,$(UNIT_SRC))

$(BUILD)/test/unit/%: test/unit/%.c test/unit/ml_test.h $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -Itest/unit $< -o $@ $(CORE_LIB) $(APR_LIBS) $(DEP_LIBS) -lcmocka -lpthread $(SAN_LD)

.PHONY: unit
unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

CHECKS += unit
