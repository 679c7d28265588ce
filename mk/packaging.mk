# Installation and packaging.
#
#   make install        module (in apxs's LIBEXECDIR), .load/.conf where the layout has them,
#                       CLI, man pages, docs, fail2ban filter, state directory,
#                       and a key file if there is none; honours DESTDIR
#   make deb            build/libapache2-mod-magiclink_VERSION_ARCH.deb, built the
#                       Debian way (dpkg-buildpackage, debhelper 13, dh_apache2)
#                       from a copy of the tree in build/deb/
#   make lintian        lintian on that package: fails on any error or warning
#                       not overridden (debian/libapache2-mod-magiclink.lintian-overrides)
#   make install-test   installs the .deb into this machine's apache2 for real,
#                       inside a throwaway mount namespace (see test/packaging/)
#   make packaging      the doc-config, fail2ban, version, CLI and install-set tests
#
# Layout (override on the command line): prefix sbindir mandir docdir STATEDIR
# F2B_FILTERDIR APACHE_USER APACHE_GROUP, and APACHE_LAYOUT=debian|redhat|none
# [auto: from what apxs's SYSCONFDIR holds].

ifeq ($(.DEFAULT_GOAL),)
.DEFAULT_GOAL := all
endif

prefix        ?= /usr/local
sbindir       ?= $(prefix)/sbin
mandir        ?= $(prefix)/share/man
docdir        ?= $(prefix)/share/doc/mod_magiclink
STATEDIR      ?= /var/lib/apache2/magiclink
F2B_FILTERDIR ?= /etc/fail2ban/filter.d
APACHE_MODULEDIR = $(shell $(APXS) -q LIBEXECDIR)
APACHE_CONFDIR   = $(shell $(APXS) -q SYSCONFDIR)
# The User and Group the children run as: Debian's envvars say, else www-data.
APACHE_USER  ?= $(or $(shell . /etc/apache2/envvars 2>/dev/null; echo $$APACHE_RUN_USER),www-data)
APACHE_GROUP ?= $(or $(shell . /etc/apache2/envvars 2>/dev/null; echo $$APACHE_RUN_GROUP),www-data)
APACHE_LAYOUT ?= $(if $(wildcard $(APACHE_CONFDIR)/mods-available),debian,$(if \
                 $(wildcard $(APACHE_CONFDIR)/conf.modules.d),redhat,none))
KEYFILE        = $(APACHE_CONFDIR)/magiclink.key

PKG_DIR    := $(BUILD)/apache2
PKG_LOAD   := $(PKG_DIR)/magiclink.load
PKG_CONF   := $(PKG_DIR)/magiclink.conf
DEB_NAME   := libapache2-mod-magiclink
DEB_DIR    := $(BUILD)/deb
DEB_ARCH    = $(shell dpkg --print-architecture)
DEB_FILE    = $(BUILD)/$(DEB_NAME)_$(ML_VERSION)_$(DEB_ARCH).deb
PACKAGING_ENV = ML_MODULE=$(abspath $(MODULE)) ML_CLI=$(abspath $(CLI)) \
                ML_DEB=$(abspath $(DEB_FILE)) ML_VERSION=$(ML_VERSION) \
                PYTHONDONTWRITEBYTECODE=1

# The .load and .conf with this system's paths.
$(PKG_DIR)/%: packaging/apache2/%.in
	@mkdir -p $(@D)
	sed -e 's|@MODULEDIR@|$(APACHE_MODULEDIR)|g' -e 's|@SYSCONFDIR@|$(APACHE_CONFDIR)|g' \
	    -e 's|@STATEDIR@|$(STATEDIR)|g' $< >$@.tmp && mv $@.tmp $@

.PHONY: install install-module install-apache-conf install-files install-state \
        install-key apache-files deb lintian install-test packaging
apache-files: $(PKG_LOAD) $(PKG_CONF)

install: install-module install-apache-conf install-files install-state install-key

# Into apxs's LIBEXECDIR, mode 644, as `apxs -i` (instdso.sh) places a module.
install-module: $(MODULE)
	install -D -m 644 $(MODULE) $(DESTDIR)$(APACHE_MODULEDIR)/mod_magiclink.so
	@echo "installed $(DESTDIR)$(APACHE_MODULEDIR)/mod_magiclink.so"

install-apache-conf: $(PKG_LOAD) $(PKG_CONF)
ifeq ($(APACHE_LAYOUT),debian)
	install -D -m 644 $(PKG_LOAD) $(DESTDIR)$(APACHE_CONFDIR)/mods-available/magiclink.load
	install -D -m 644 $(PKG_CONF) $(DESTDIR)$(APACHE_CONFDIR)/conf-available/magiclink.conf
	@echo "enable with: a2enmod magiclink && a2enconf magiclink && systemctl reload apache2"
else ifeq ($(APACHE_LAYOUT),redhat)
	install -D -m 644 $(PKG_LOAD) $(DESTDIR)$(APACHE_CONFDIR)/conf.modules.d/10-magiclink.conf
	install -D -m 644 $(PKG_CONF) $(DESTDIR)$(APACHE_CONFDIR)/conf.d/magiclink.conf
else
	install -D -m 644 $(PKG_LOAD) $(DESTDIR)$(docdir)/apache2/magiclink.load
	install -D -m 644 $(PKG_CONF) $(DESTDIR)$(docdir)/apache2/magiclink.conf
	@echo "no mods-available or conf.modules.d under $(APACHE_CONFDIR): Include" \
	      "$(docdir)/apache2/magiclink.load and magiclink.conf from httpd.conf"
endif

install-files: $(CLI)
	install -D -m 755 $(CLI) $(DESTDIR)$(sbindir)/magiclink
	install -D -m 644 man/magiclink.8 $(DESTDIR)$(mandir)/man8/magiclink.8
	install -D -m 644 man/magiclink.conf.5 $(DESTDIR)$(mandir)/man5/magiclink.conf.5
	install -D -m 644 -t $(DESTDIR)$(docdir) README.md $(wildcard doc/*.md)
	install -D -m 644 packaging/fail2ban/jail-apache-magiclink.conf \
	    $(DESTDIR)$(docdir)/examples/jail-apache-magiclink.conf
	install -D -m 644 packaging/fail2ban/filter.d/apache-magiclink.conf \
	    $(DESTDIR)$(F2B_FILTERDIR)/apache-magiclink.conf

# Owned by the User only when installing for real as root (a DESTDIR is
# staged for a package, whose own scripts set the owner).
install-state:
	install -d -m 750 $(DESTDIR)$(STATEDIR)
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ] && id $(APACHE_USER) >/dev/null 2>&1; then \
	    chown $(APACHE_USER):$(APACHE_GROUP) $(STATEDIR) && \
	    echo "$(STATEDIR) owned by $(APACHE_USER)"; fi

# A key file on a real install that has none: one sealing key and the store
# key, root's, mode 600 (as the Debian package's postinst does).
install-key: $(CLI)
	@if [ -z "$(DESTDIR)" ] && [ ! -e $(KEYFILE) ]; then \
	    (umask 077 && { echo "# mod_magiclink keys (magiclink(8)); made by make install"; \
	        $(CLI) keygen && $(CLI) keygen store; } >$(KEYFILE).tmp) && \
	    mv $(KEYFILE).tmp $(KEYFILE) && echo "made $(KEYFILE)"; fi

# ---- the Debian package

# The tree as git sees it (tracked and new files, not what .gitignore
# ignores), so the package is built from the sources alone.
DEB_SRC_FILES = $(shell git ls-files -co --exclude-standard 2>/dev/null)

deb: $(DEB_FILE)
$(DEB_FILE): $(filter-out test/%,$(DEB_SRC_FILES)) VERSION
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t $(DEB_DIR)/src
	cd $(DEB_DIR)/src && DEB_BUILD_OPTIONS="parallel=2 $(DEB_BUILD_OPTIONS)" \
	    dpkg-buildpackage -b -us -uc >../build.log 2>&1 \
	    || { tail -n 60 ../build.log; echo "make deb FAILED (log: $(DEB_DIR)/build.log)"; exit 1; }
	cp $(DEB_DIR)/$(notdir $@) $@
	@echo "built $@"

# Errors and warnings fail; info and pedantic tags are printed, not fatal.
lintian: $(DEB_FILE)
	lintian --fail-on error,warning --display-info $(DEB_FILE)

install-test: $(DEB_FILE)
	$(PACKAGING_ENV) /usr/bin/python3 -m pytest -q -p no:cacheprovider \
	    test/packaging/test_install.py

packaging: $(MODULE) $(CLI)
	$(PACKAGING_ENV) /usr/bin/python3 -m pytest -q -p no:cacheprovider \
	    --ignore=test/packaging/test_install.py $(PYTEST_ARGS) test/packaging

# The package's suites, in `make check` (the Makefile's CHECKS) when the tools
# are there (Debian: debhelper, lintian, dh_apache2).
ifeq ($(shell for t in dpkg-buildpackage dh_apache2 lintian; do command -v $$t; done | wc -l),3)
DEB_CHECKS := lintian install-test
endif
