# Identity for backends (issue 20): the signed identity header (JWT), its JWK
# Set, the JSON session endpoint and groups. The C core is tested by
# test/unit/test_jwt.c (unit.mk builds it); the module end to end by the
# integration suite, whose test_jwt.py has real JWT libraries verify the
# tokens a proxied backend receives: PyJWT (Debian's python3-jwt) and jose
# (npm, test/jwt/, installed here with the locked version as browser.mk does).
#   make jwt-test     just this issue's tests (unit, then the three pytest modules)

ifeq ($(.DEFAULT_GOAL),)
.DEFAULT_GOAL := all
endif

JWT_NODE_DIR  := test/jwt
JWT_NODE_DEPS := $(JWT_NODE_DIR)/node_modules/.package-lock.json

# npm ci: exactly the locked versions; rerun when the lock file changes.
$(JWT_NODE_DEPS): $(JWT_NODE_DIR)/package.json $(JWT_NODE_DIR)/package-lock.json
	cd $(JWT_NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The integration suite runs test_jwt.py, which needs jose.
integration: $(JWT_NODE_DEPS)

.PHONY: jwt-test
jwt-test: $(MODULE) $(CLI) $(JWT_NODE_DEPS) $(BUILD)/test/unit/test_jwt
	$(BUILD)/test/unit/test_jwt
	$(INTEGRATION_ENV) /usr/bin/python3 -m pytest -q $(PYTEST_ARGS) \
	    test/integration/test_jwt.py test/integration/test_session_api.py \
	    test/integration/test_groups.py
