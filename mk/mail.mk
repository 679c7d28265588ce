# Mail (issue 4): addresses, message composition, transports.
#   make mail-test    cmocka tests of addresses and composition, then the pytest
#                     suite (maildir, SMTP against aiosmtpd on 127.0.0.1, pipe)
#   make bench-mail   messages per second composed, and delivered to a tmpfs maildir
# The unit tests test/unit/test_addr.c and test_mail_msg.c are built by unit.mk's rule.

MAIL_TOOL   := $(BUILD)/test/mailtool
MAIL_BENCH  := $(BUILD)/test/bench_mail
MAIL_UNIT   := $(BUILD)/test/unit/test_addr $(BUILD)/test/unit/test_mail_msg
# Debian's python3: it has aiosmtpd and pytest (a pyenv python3 on PATH may not).
MAIL_PYTHON := /usr/bin/python3

$(MAIL_TOOL): test/mail/mailtool.c $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(CORE_LIB) $(APR_LIBS) $(DEP_LIBS) -lpthread $(SAN_LD)

$(MAIL_BENCH): test/bench/mail/bench_mail.c $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(CORE_LIB) $(APR_LIBS) $(DEP_LIBS) -lpthread $(SAN_LD)

.PHONY: mail-test bench-mail
mail-test: $(MAIL_TOOL) $(MAIL_UNIT)
	@set -e; for t in $(MAIL_UNIT); do echo "== $$t"; $$t; done
	MAILTOOL=$(CURDIR)/$(MAIL_TOOL) PYTHONDONTWRITEBYTECODE=1 \
	    $(MAIL_PYTHON) -m pytest -q -p no:cacheprovider test/mail

bench-mail: $(MAIL_BENCH)
	$(MAIL_BENCH)

bench: bench-mail
