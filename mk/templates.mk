# Templates compiled to C (doc/templates.md): tools/mltc turns templates/*.tpl
# and the message catalogs po/messages.pot and po/LANG.po (doc/i18n.md) into
# $(BUILD)/gen/ml_templates.{c,h}, archived into the core library with the
# runtime (src/ml_tpl.c, src/ml_sink_*.c). A site's own wording goes in
# $(PO_LOCAL)/LANG.po (overrides, not in git): `make PO_LOCAL=/etc/magiclink/po`.

MLTC          := $(BUILD)/mltc
MLTC_SRC      := $(sort $(wildcard tools/mltc*.c))
TPL_SRC       := $(sort $(wildcard templates/*.tpl))
PO_POT        := po/messages.pot
PO_SRC        := $(sort $(wildcard po/*.po))
PO_LOCAL      ?= po/local
PO_OVERRIDES  := $(sort $(wildcard $(PO_LOCAL)/*.po))
TPL_GEN_C     := $(BUILD)/gen/ml_templates.c
TPL_GEN_H     := $(BUILD)/gen/ml_templates.h
TPL_GEN_OBJ   := $(BUILD)/obj/gen/ml_templates.o
TPL_TEST      := $(BUILD)/test/templates/test_tpl
TPL_BENCH     := $(BUILD)/bench/tpl/bench_tpl

GEN_HEADERS   += $(TPL_GEN_H)
GEN_OBJ       += $(TPL_GEN_OBJ)

$(MLTC): $(MLTC_SRC) tools/mltc.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(MLTC_SRC) -o $@ $(SAN_LD)

# One run compiles every template (pages are inlined into their layout).
$(TPL_GEN_C) $(TPL_GEN_H) &: $(TPL_SRC) $(PO_POT) $(PO_SRC) $(PO_OVERRIDES) $(MLTC)
	@mkdir -p $(@D)
	$(MLTC) -o $(@D) $(PO_POT) $(PO_SRC) $(addprefix -O ,$(PO_OVERRIDES)) $(TPL_SRC)

$(TPL_GEN_OBJ): $(TPL_GEN_C) $(TPL_GEN_H) src/ml_tpl.h src/ml_buf.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(TPL_TEST): test/templates/test_tpl.c $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(CORE_LIB) $(APR_LIBS) $(DEP_LIBS) -lcmocka $(SAN_LD)

.PHONY: templates-test templates-golden-update bench-tpl
templates-test: $(TPL_TEST) $(MLTC)
	$(TPL_TEST)
	test/templates/check_mltc.sh $(MLTC) test/templates

# After a deliberate change to a template: rewrite the golden files, then
# review the diff (git diff test/templates/golden) before committing it.
templates-golden-update: $(TPL_TEST)
	ML_TPL_GOLDEN_UPDATE=1 $(TPL_TEST)

$(TPL_BENCH): test/bench/tpl/bench_tpl.c $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(CORE_LIB) $(APR_LIBS) $(DEP_LIBS) $(SAN_LD)

bench-tpl: $(TPL_BENCH)
	test/bench/tpl/run.sh $(TPL_BENCH) $(BUILD)/bench/tpl

bench: bench-tpl
