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

CHECKS   ?=
.PHONY: all deps test check unit interop fuzz fuzz-long integration clean run bench asan
all: $(CORE_LIB) $(MODULE) $(CLI)

$(BUILD)/obj/core/%.o: src/%.c $(wildcard src/*.h) | $(GEN_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(CORE_LIB): $(CORE_OBJ) $(GEN_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# The module is compiled and linked by apxs (libtool), against the core archive.
$(MODULE): $(GLUE_SRC) $(wildcard src/*.h src/httpd/*.h) $(CORE_LIB)
	@mkdir -p $(BUILD)/apxs
	cp $(GLUE_SRC) $(wildcard src/httpd/*.h) $(BUILD)/apxs/
	cd $(BUILD)/apxs && $(APXS) -c -o mod_magiclink.la \
	    $(addprefix -Wc$(comma),$(OPT) $(WARN) -std=gnu11 -I$(CURDIR)/src -I$(CURDIR)/$(BUILD)/gen \
	        $(CPPFLAGS) $(CFLAGS)) \
	    $(addprefix -Wl$(comma),$(SAN_LD) $(LDFLAGS)) \
	    $(notdir $(GLUE_SRC)) $(CURDIR)/$(CORE_LIB) $(DEP_LIBS) >apxs.log 2>&1 \
	    || { cat apxs.log; exit 1; }
	cp $(BUILD)/apxs/.libs/mod_magiclink.so $@.tmp && mv -f $@.tmp $@   # never rewrite a loaded .so in place

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

# Every suite a fragment registered, in the order the fragments were read.
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
