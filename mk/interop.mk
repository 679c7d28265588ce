# Interop with the real gorilla/securecookie (Go, GOPATH mode, Debian's
# package): values must cross both ways. `make interop`; see test/interop/.

# Fragments are read before the top-level `all:`; without this the first
# fragment's first target would become what a bare `make` builds.
ifeq ($(.DEFAULT_GOAL),)
.DEFAULT_GOAL := all
endif

INTEROP_DIR   := $(BUILD)/interop
INTEROP_GO    := $(INTEROP_DIR)/sctool
INTEROP_FIXED := $(INTEROP_DIR)/seal_fixed
INTEROP_KEY   := $(INTEROP_DIR)/test.key
# No network: GOPATH mode against the Debian sources, and a build cache of
# our own so nothing is written outside the build directory.
INTEROP_GOENV  = GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= \
                 GOCACHE=$(abspath $(BUILD))/go-cache

$(INTEROP_GO): test/interop/sctool.go
	@mkdir -p $(@D)
	$(INTEROP_GOENV) go build -o $@ $<

$(INTEROP_FIXED): test/interop/seal_fixed.c $(wildcard src/*.h) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(CORE_LIB) $(APR_LIBS) $(DEP_LIBS) $(SAN_LD)

# Key files must not be readable by group or others; git does not keep that.
$(INTEROP_KEY): test/keys/test.key
	@mkdir -p $(@D)
	install -m 600 $< $@

.PHONY: interop
interop: $(CLI) $(INTEROP_GO) $(INTEROP_FIXED) $(INTEROP_KEY)
	ML_CLI=$(abspath $(CLI)) ML_SCTOOL=$(abspath $(INTEROP_GO)) \
	ML_SEAL_FIXED=$(abspath $(INTEROP_FIXED)) ML_TEST_KEY=$(abspath $(INTEROP_KEY)) \
	PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -m pytest -q -p no:cacheprovider \
	    test/interop/test_interop.py
