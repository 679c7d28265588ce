# mod_magiclink: passwordless email sign-in for Apache httpd 2.4.
#
#   make             core library, module (build/mod_magiclink.so) and CLI (build/magiclink)
#   make test        installs what is missing (Debian), then runs every test suite
#   make install     module, .load/.conf, CLI, man pages, docs (mk/packaging.mk)
#   make deb         the Debian package, build/libapache2-mod-magiclink_*.deb
#   make run         the demo (see README.md)
#   make bench       benchmarks (figures, not tests)
#   make SAN=address ...   everything built with AddressSanitizer (+UBSan)
#
# Recursive variables on purpose: nothing here calls apxs or pkg-config until a
# target needs it, so `make deps` works on a machine that has neither yet.

APXS     ?= apxs
CC       ?= cc
BUILD    ?= build
SAN      ?=
# The one place the version is written; debian/changelog must agree
# (test/packaging/test_version.py).
ML_VERSION = $(shell cat VERSION)

APR_CPPFLAGS = $(shell apr-1-config --cppflags --includes) $(shell apu-1-config --includes)
HTTPD_INC    = -I$(shell $(APXS) -q INCLUDEDIR)
APR_LIBS     = $(shell apu-1-config --link-ld --libs) $(shell apr-1-config --link-ld --libs)
DEP_LIBS     = -ljansson -lcrypto -lcurl -llmdb -lhiredis -lpthread

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-unused-parameter
OPT      ?= -O2 -g
ifneq ($(SAN),)
OPT      := -O1 -g -fno-omit-frame-pointer -fsanitize=$(SAN),undefined -fno-sanitize-recover=undefined
SAN_LD   := -fsanitize=$(SAN),undefined
BUILD    := build/san-$(SAN)
endif
# CPPFLAGS, CFLAGS, LDFLAGS from the environment (dpkg-buildflags' hardening
# flags when debian/rules builds) reach the core, the module and the CLI.
CFLAGS_ALL = -std=gnu11 -fPIC $(OPT) $(WARN) -Isrc -I$(BUILD)/gen $(APR_CPPFLAGS) $(CPPFLAGS) $(CFLAGS)

CORE_SRC := $(wildcard src/*.c)
CORE_OBJ := $(patsubst src/%.c,$(BUILD)/obj/core/%.o,$(CORE_SRC))
GLUE_SRC := mod_magiclink.c $(wildcard src/httpd/*.c)
CORE_LIB := $(BUILD)/libmagiclink.a
MODULE   := $(BUILD)/mod_magiclink.so
CLI      := $(BUILD)/magiclink

# Fragments add generated sources (templates) and their own tests; they are
# read before `all:`, so name the default goal first.
.DEFAULT_GOAL := all
GEN_OBJ  :=
include $(sort $(wildcard mk/*.mk))

# The suites `make check` (and `make test`) runs, in this order: fastest and
# most basic first (seconds, on a busy 2-core machine): the core's unit tests
# (~8), templates (~35), mail (~15), packaging's doc/CLI checks (~8), interop
# with Go's securecookie (~25), the module in a real httpd (~8 min), then the
# Debian package (built, lintian, installed: minutes), fuzzing (clang builds,
# 30 s of runs) and Chromium last. Fragments (mk/*.mk) define the targets.
CHECKS   ?= unit templates-test mail-test packaging interop integration \
            $(DEB_CHECKS) fuzz browser
.PHONY: all deps test check unit interop fuzz fuzz-long integration clean run bench asan
all: $(CORE_LIB) $(MODULE) $(CLI)

$(BUILD)/obj/core/%.o: src/%.c $(wildcard src/*.h) | $(GEN_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(CORE_LIB): $(CORE_OBJ) $(GEN_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# The module's glue is compiled in place (messages and debug info name
# src/httpd/ml_web.c, not a copy) with the flags `apxs -c` would pass: apxs's
# own CFLAGS, CPPFLAGS, EXTRA_* and include directory, then ours, then libtool's
# -fPIC -DPIC. Each apxs query runs once, the first time a glue rule needs it.
GLUE_OBJ := $(patsubst %.c,$(BUILD)/obj/glue/%.o,$(notdir $(GLUE_SRC)))
APXS_CFLAGS = $(eval APXS_CFLAGS := $(subst ;;, ,$(shell $(APXS) -q CFLAGS CPPFLAGS \
              NOTEST_CPPFLAGS EXTRA_CPPFLAGS EXTRA_CFLAGS)) $(HTTPD_INC))$(APXS_CFLAGS)
GLUE_CFLAGS = $(APXS_CFLAGS) $(APR_CPPFLAGS) $(OPT) $(WARN) -std=gnu11 -Isrc -Isrc/httpd \
              -I$(BUILD)/gen $(CPPFLAGS) $(CFLAGS) -fPIC -DPIC
# apxs's LDFLAGS as its libtool link places them: libraries with the others,
# linker options after them.
APXS_LDFLAGS = $(eval APXS_LDFLAGS := $(shell $(APXS) -q LDFLAGS NOTEST_LDFLAGS SH_LDFLAGS \
               | sed 's/;;/ /g'))$(APXS_LDFLAGS)
GLUE_HDR := $(wildcard src/*.h src/httpd/*.h)

$(BUILD)/obj/glue/mod_magiclink.o: mod_magiclink.c $(GLUE_HDR) $(GEN_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(GLUE_CFLAGS) -c $< -o $@

$(BUILD)/obj/glue/%.o: src/httpd/%.c $(GLUE_HDR) $(GEN_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(GLUE_CFLAGS) -c $< -o $@

# Linked as apxs's libtool links a module (-shared, soname mod_magiclink.so),
# against the core archive; written beside, then renamed: never rewrite a
# loaded .so in place.
$(MODULE): $(GLUE_OBJ) $(CORE_LIB)
	$(CC) -shared -fPIC -DPIC $(GLUE_OBJ) $(filter -l% -L%,$(APXS_LDFLAGS)) $(CORE_LIB) \
	    $(DEP_LIBS) $(filter-out -l% -L%,$(APXS_LDFLAGS)) $(SAN_LD) $(LDFLAGS) \
	    -Wl,-soname,$(notdir $@) -o $@.tmp
	mv -f $@.tmp $@

$(CLI): tools/magiclink.c $(CORE_LIB) VERSION
	$(CC) $(CFLAGS_ALL) -DML_VERSION='"$(ML_VERSION)"' $< -o $@ $(CORE_LIB) $(APR_LIBS) \
	    $(DEP_LIBS) $(SAN_LD) $(LDFLAGS)

comma := ,

deps:
	@test/deps.sh

test:
	@test/deps.sh
	$(MAKE) all
	$(MAKE) check

# Every suite of CHECKS, in its order (prerequisites run left to right).
check: $(CHECKS)
	@echo "all test suites passed"

asan:
	$(MAKE) SAN=address all

clean:
	rm -rf build var

# The build quietly (its errors still show), then the demo, its URL last.
run:
	@$(MAKE) --no-print-directory -s all >/dev/null
	@tools/demo.sh
