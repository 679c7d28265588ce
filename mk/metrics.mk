# Metrics (issue 17, doc/metrics.md): the core's counters are unit-tested by
# test/unit/test_metrics.c (unit.mk's rule) and the module's exposition by
# test/integration/test_metrics.py. Here: what counting costs, in figures.
#   make bench-metrics

ifeq ($(.DEFAULT_GOAL),)
.DEFAULT_GOAL := all
endif

BENCH_METRICS := $(BUILD)/bench/bench_metrics

$(BENCH_METRICS): test/bench/metrics/bench_metrics.c $(wildcard src/*.h) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(CORE_LIB) $(APR_LIBS) $(DEP_LIBS) $(SAN_LD)

.PHONY: bench-metrics
bench-metrics: $(BENCH_METRICS)
	$(BENCH_METRICS)

bench: bench-metrics
