"""The contract the suite asserts, in one place (README.md: Routes, Directives).

Where the contract fixes a status or a text, it is written here as is; where it only gives
the intent, the choice made is marked "intent" so the module and the suite can be
aligned by editing this file alone.  A tuple means "any of these".
"""
import re

# ---- paths (the handler sits at <Location /magic>)
LOGIN = "/magic/login"
GENERATE = "/magic/generate"
VERIFY = "/magic/verify/"          # + token
CODE = "/magic/code"
LOGOUT = "/magic/logout"
APPROVE = "/magic/approve/"        # + token: POST the decision from another browser
WAIT = "/magic/wait/"              # + pending: what the waiting tab reloads
PRIVATE = "/private/"

# ---- names on the wire
SESSION_COOKIE = "magiclink_session"
# magiclink_bind by default; with MagicLinkCookieName NAME, NAME_bind (README.md).
BIND_COOKIE = "magiclink_bind"
KNOWN_COOKIE = "magiclink_known"     # a browser that signed in as an address (a year)
# Cookies that are Secure (https, or MagicLinkCookieSecure On) carry this prefix on
# the wire (RFC 6265bis 4.1.3.2); over plain http (the suite) the names are bare.
HOST_PREFIX = "__Host-"
SESSION_CLAIMS = {"email", "iat", "seen", "aud"}
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CSRF_META = "csrf-token"
# The emailed link's token and the waiting tab's pending value: an opaque id and a MAC
# (base64url, 38 characters); what the link stands for lives in the store, read with
# `magiclink link` (ml_httpd.Httpd.link_info) as these fields.
LINK_TOKEN = r"[A-Za-z0-9_-]{38}"
LINK_INFO = {"email", "return", "lang", "used", "tries", "iat", "exp"}
# Another sealed-value name (links were sealed under it before the store held them): a
# session sealed under it is no session.
LINK_NAME = "magic"
FROM_HEADER = ("Example Site", "login@example.com")

# ---- limits
MAX_BODY = 8192                    # bytes of POST body (8 KiB)
CODE_TRIES = 5                     # code attempts per link
LINK_TTL_DEFAULT = 900

# ---- statuses
OK = 200
SIGNED_IN = 303                    # verify / code success: 303 to the sealed return
LOGGED_OUT = 303
BAD_REQUEST = 400                  # malformed address or body
BAD_BODY_TYPE = (400, 415)         # a body that is not application/x-www-form-urlencoded
CSRF_FAILED = 403
TOO_BIG = 413
THROTTLED = 429
LINK_INVALID = 400                 # tampered, garbage, wrong name or key
LINK_EXPIRED = 410
LINK_USED = 410
LINK_OTHER_BROWSER = 403           # POST verify from another browser
APPROVAL_OFFER = 200               # GET verify from another browser: approve with the number
APPROVED = 200
APPROVAL_WRONG_NUMBER = 403        # and the link is over
APPROVAL_DENIED = 410              # "That wasn't me": the link is over
APPROVAL_TOO_LATE = 410            # the link is already decided, used or expired
WRONG_CODE = (403, 400)
CODE_TRIES_EXHAUSTED = 429
CODE_AFTER_LINK_USED = 410         # "after the code succeeded the link is used, and vice versa"
CODE_OTHER_BROWSER = (403, 400)    # intent: a pending value only works in the waiting tab
PENDING_INVALID = 400              # intent: a tampered "pending" value is like a bad token
NOT_FOUND = 404
BAD_METHOD = 405
LOGIN_REDIRECT = 302               # AuthType MagicLink, HTML navigation without a session
UNAUTHORIZED = 401                 # AuthType MagicLink, anything else without a session
AUTHZ_DENIED = (401, 403)          # signed in, but Require user/magiclink-domain says no

# ---- texts (regular expressions, searched case-insensitively in the body)
TEXT_CHECK_EMAIL = r"check your (e-?mail|inbox)"
TEXT_EXPIRED = r"expired"
TEXT_USED = r"already (been )?used"
TEXT_OTHER_BROWSER = r"(another|a different|other) browser"
TEXT_APPROVE = r"approve sign-in on the other device"
TEXT_APPROVED = r"sign-in approved"
TEXT_REFUSED = r"sign-in stopped"
TEXT_NUMBER_MISMATCH = r"number did not match"
TEXT_NOT_FOUND = r"page not found"
TEXT_SIGNED_OUT = r"signed out"
TEXT_MENTIONS_CODE = r"\bcode\b"
TEXT_INVALID = r"invalid|not valid"
TEXT_SECRET_PAGE = r"secret page"
WWW_AUTHENTICATE = r"^MagicLink realm="

# ---- error-log lines the module may write when a test provokes them (regexes);
# everything else at [error] or worse fails the test module.
AUTHZ_FAILURE_LOG = r"AH01631"     # mod_authz_core: "user X: authorization failure"

# ---- config errors: what `apache2 -t` must name for each breakage of test_config_errors.py
# ({keyfile} stands for the key file's path)
CONFIG_ERROR_NAMES = {
    "missing key file": r"MagicLinkKeyFile|{keyfile}",
    "key file mode 644": r"MagicLinkKeyFile|{keyfile}",
    "key file mode 640": r"MagicLinkKeyFile|{keyfile}",
    "malformed key line": r"MagicLinkKeyFile|{keyfile}",
    "bad link ttl": r"MagicLinkLinkTTL",
    "bad mailer": r"MagicLinkMailer",
    # issue 14: policy, realms and the cross-checks at start-up
    "magiclink-domain not a domain": r"magiclink-domain.*not_a_domain.*is not a domain",
    "magiclink-domain star": r"magiclink-domain.*\"\*\" is not a domain",
    "allow entry not a domain": r"MagicLinkAllow: @localhost",
    "allow file with a bad line": r"MagicLinkAllowFile: .*allow.txt line 2",
    "realm with a space": r"MagicLinkRealm: expected a name",
    "vhost shares keys and realm": r"MAGICLINK-222: <VirtualHost> vhost\.example.*shares "
                                   r"MagicLinkKeyFile",
    "vhost serves the handler with an inherited base URL":
        r"MAGICLINK-224: <VirtualHost> handler\.example.*inherits MagicLinkBaseURL",
}

# Configurations that work but deserve a word: what `apache2 -t` must say.
CONFIG_WARNINGS = {
    "require user not an address": r"MAGICLINK-221: Require user admin .*not an email address",
    "require user not canonical": r"MAGICLINK-221: Require user Ann@Example\.com .*ann@example\.com",
    "login url no handler serves": r"MAGICLINK-220: MagicLinkLoginURL .*sends visitors to "
                                   r"/signin",
    "no handler at all": r"MAGICLINK-220: AuthType MagicLink .*no section sets SetHandler "
                         r"magiclink",
    "vhost inherits keys without a realm": r"MAGICLINK-223: <VirtualHost> 127\.0\.0\.1.*"
                                          r"without a MagicLinkRealm",
}
NO_ALLOW_WARNING = r"\[magiclink:warn\].*MagicLinkAllow"   # nobody may sign in: say so


def search(pattern, text):
    return re.search(pattern, text, re.I)
