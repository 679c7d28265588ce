# Integration tests: a real httpd (/usr/sbin/apache2, event MPM) per test module,
# started from a generated config in a temp dir; see test/integration/ml_httpd.py.
#   make integration              against $(MODULE)
#   make integration-asan         against build/san-address/mod_magiclink.so, httpd
#                                 started with LD_PRELOAD=libasan, sanitizer logs scanned
#   make integration PYTEST_ARGS='-k verify -x'

# Fragments are read before the top-level `all:`; without this the first
# fragment's first target would become what a bare `make` builds.
ifeq ($(.DEFAULT_GOAL),)
.DEFAULT_GOAL := all
endif

PYTEST_ARGS ?=
# Under `make SAN=address integration` the module is the instrumented one.
INTEGRATION_ENV = ML_MODULE=$(abspath $(MODULE)) ML_CLI=$(abspath $(CLI)) \
                  ML_SANITIZE=$(SAN) PYTHONDONTWRITEBYTECODE=1

.PHONY: integration integration-asan
integration: $(MODULE) $(CLI)
	$(INTEGRATION_ENV) /usr/bin/python3 -m pytest -q \
	    $(PYTEST_ARGS) test/integration

# Leak checks are off for the build's own tools (the template compiler runs
# instrumented); httpd runs with detect_leaks=0 anyway (it frees by pools at exit).
integration-asan:
	ASAN_OPTIONS=detect_leaks=0 $(MAKE) SAN=address integration
