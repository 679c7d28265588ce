# The sign-in flow in real headless Chromium (Debian's /usr/bin/chromium),
# driven by playwright-core from npm, against the demo of `make run`:
# test/browser/signin.mjs. Screenshots of every page: build/screenshots/.
#   make browser

ifeq ($(.DEFAULT_GOAL),)
.DEFAULT_GOAL := all
endif

BROWSER_DIR  := test/browser
BROWSER_DEPS := $(BROWSER_DIR)/node_modules/.package-lock.json

# npm ci: exactly the locked versions; rerun when the lock file changes.
$(BROWSER_DEPS): $(BROWSER_DIR)/package.json $(BROWSER_DIR)/package-lock.json
	cd $(BROWSER_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: browser
browser: $(MODULE) $(CLI) $(BROWSER_DEPS)
	ML_MODULE=$(abspath $(MODULE)) node $(BROWSER_DIR)/signin.mjs
