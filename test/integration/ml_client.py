"""The browser side: a requests.Session that reads forms like a browser does, and
assertion helpers that print the whole exchange when a status or text is wrong."""
import html.parser
import itertools
import os
import urllib.parse

import requests
import requests.adapters

import ml_contract as C

TIMEOUT = 30      # seconds per request
_sentinels = itertools.count(1)


# ---------------------------------------------------------------- reporting

def _excerpt(body, limit):
    if body is None:
        return ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str):
        return "<streamed body>"
    return body if len(body) <= limit else body[:limit] + f"... [{len(body)} chars]"


def describe(r):
    """The request and the response, for assertion messages."""
    q = r.request
    lines = [f">>> {q.method} {q.url}"]
    lines += [f">>> {k}: {v}" for k, v in q.headers.items()]
    if q.body:
        lines.append(">>> " + _excerpt(q.body, 600))
    lines.append(f"<<< {r.status_code} {r.reason}")
    lines += [f"<<< {k}: {v}" for k, v in r.raw.headers.items()] if r.raw else []
    lines.append("<<< " + _excerpt(r.text, 1500))
    return "\n".join(lines)


def expect(r, status, text=None):
    """Asserts the status (an int or a tuple of acceptable ones) and a body regex."""
    ok = r.status_code in status if isinstance(status, tuple) else r.status_code == status
    assert ok, f"expected status {status}, got {r.status_code}\n{describe(r)}"
    if text is not None:
        assert C.search(text, r.text), f"body does not match /{text}/i\n{describe(r)}"
    return r


def allowed(r):
    """The methods a 405's Allow header names, upper-case, TRACE left out (httpd adds
    it to every Allow it builds while TraceEnable is on)."""
    methods = {m.strip().upper() for m in r.headers.get("Allow", "").split(",") if m.strip()}
    return methods - {"TRACE"}


def set_cookies(r):
    """{name: (value, {attribute-lowercase: value-or-True})} from the raw Set-Cookie headers."""
    out = {}
    for header in r.raw.headers.getlist("Set-Cookie"):
        first, *attrs = [p.strip() for p in header.split(";")]
        name, _, value = first.partition("=")
        parsed = {}
        for a in attrs:
            k, eq, v = a.partition("=")
            parsed[k.strip().lower()] = v.strip() if eq else True
        out[name.strip()] = (value.strip(), parsed)
    return out


def location_path(server, r):
    """The Location header, relative to the server's origin if it is on it."""
    loc = r.headers.get("Location", "")
    return loc[len(server.base):] if loc.startswith(server.base + "/") else loc


# ---------------------------------------------------------------- pages and forms

class Form:
    def __init__(self, action, method):
        self.action = action
        self.method = (method or "get").upper()
        self.fields = {}

    def __repr__(self):
        return f"Form({self.method} {self.action!r} {sorted(self.fields)})"


class _Parser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms, self.meta, self.inputs = [], {}, {}
        self._form = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action"), a.get("method"))
            self.forms.append(self._form)
        elif tag == "meta" and "name" in a:
            self.meta[a["name"]] = a.get("content", "")
        elif tag in ("input", "button", "textarea", "select") and a.get("name"):
            if a.get("type", "").lower() in ("checkbox", "radio") and "checked" not in a:
                return
            self.inputs[a["name"]] = a.get("value", "")
            if self._form is not None:
                self._form.fields[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


class Page:
    def __init__(self, response):
        self.response = response
        self.url = response.url
        p = _Parser()
        p.feed(response.text)
        self.forms, self.meta, self.inputs = p.forms, p.meta, p.inputs

    @property
    def csrf(self):
        return self.meta.get(C.CSRF_META) or self.inputs.get(C.CSRF_FIELD)

    def form_with(self, name):
        for f in self.forms:
            if name in f.fields:
                return f
        raise AssertionError(f"no form with a field {name!r} on {self.url}: {self.forms}\n"
                             f"{describe(self.response)}")

    def action_url(self, form):
        return urllib.parse.urljoin(self.url, form.action or self.url)


# ---------------------------------------------------------------- the browser

class FromAddress(requests.adapters.HTTPAdapter):
    """Connects from a given loopback address (all of 127/8 reaches the server): a
    client on another network, for limits that count networks (mount it on a
    Browser's session: browser.s.mount("http://", FromAddress("127.0.3.7")))."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


class Browser:
    """One browser: its own cookie jar.  Every session cookie it is given is recorded
    as a secret of the server (it must never reach the error log)."""

    def __init__(self, server):
        self.server = server
        self.s = requests.Session()
        self.s.hooks["response"].append(self._record)

    def _record(self, r, *args, **kwargs):
        for name, (value, _) in set_cookies(r).items():
            if name == C.SESSION_COOKIE and value:
                self.server.secrets.add(value)

    def request(self, method, path, **kw):
        kw.setdefault("allow_redirects", False)
        kw.setdefault("timeout", TIMEOUT)
        url = path if path.startswith("http") else self.server.url(path)
        return self.s.request(method, url, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def cookie(self, name):
        return self.s.cookies.get(name)

    def copy(self):
        """Another connection pool with the same cookies (the same browser)."""
        b = Browser(self.server)
        b.s.cookies.update(self.s.cookies)
        return b

    def cookie_header(self):
        return "; ".join(f"{c.name}={c.value}" for c in self.s.cookies)

    # -- the steps a person takes
    def login(self, return_=None):
        """GET the sign-in form; returns its Page (status checked)."""
        params = {"return": return_} if return_ is not None else None
        r = self.get(C.LOGIN, params=params, headers={"Accept": "text/html"})
        expect(r, C.OK)
        return Page(r)

    def submit(self, page, form, **fields):
        data = dict(form.fields)
        data.update(fields)
        return self.request(form.method, page.action_url(form), data=data)

    def request_link(self, email, return_=None):
        """Fills in the sign-in form; returns the "check your email" Page."""
        page = self.login(return_)
        r = self.submit(page, page.form_with("email"), email=email)
        expect(r, C.OK, C.TEXT_CHECK_EMAIL)
        return Page(r)

    def generate(self, data, headers=None, **kw):
        """A raw POST /magic/generate."""
        return self.post(C.GENERATE, data=data, headers=headers, **kw)

    def verify_page(self, token):
        r = self.get(C.VERIFY + token, headers={"Accept": "text/html"})
        expect(r, C.OK)
        return Page(r)

    def confirm(self, token, **override):
        """Opens the link and presses the button on the confirmation page."""
        page = self.verify_page(token)
        return self.submit(page, page.form_with(C.CSRF_FIELD), **override)

    def enter_code(self, check_page, code, **override):
        """Types the code into the waiting tab's form."""
        form = check_page.form_with("pending")
        fields = {"code": code}
        if C.CSRF_FIELD not in form.fields:
            fields[C.CSRF_FIELD] = check_page.csrf or self.login().csrf
        fields.update(override)
        return self.submit(check_page, form, **fields)

    def sign_in(self, email, return_=None):
        """The whole link flow; returns (mail, the 303 response)."""
        self.request_link(email, return_)
        mail = self.server.mailbox.take(email)
        return mail, expect(self.confirm(mail.token), C.SIGNED_IN)

    def private(self, path=C.PRIVATE, accept="text/html"):
        return self.get(path, headers={"Accept": accept})

    def assert_no_mail(self, *addresses, allowed_domain="example.com"):
        """No mail went to `addresses`: checked once a later request's mail (to an
        address at `allowed_domain`) has landed, so that a mail still on its way is
        not mistaken for none."""
        sentinel = f"sentinel{next(_sentinels)}.{os.getpid()}@{allowed_domain}"
        self.request_link(sentinel)
        self.server.mailbox.take(sentinel)
        for a in addresses:
            got = self.server.mailbox.take_all(a)
            assert not got, f"{a} got mail: {[m.msg['Subject'] for m in got]}"
