// Package main is goseed: our own Go re-creation of the go-csrf-magic-links
// demo's sign-in handlers (net/http, gorilla/securecookie), the Go peer of
// test/bench. It does the work mod_magiclink's handler does, in the demo's
// way, and renders the same pages (templates/*.tpl, same bytes) so response
// sizes match:
//
//	GET  /magic/login          binding cookie (sealed nonce) + sign-in form
//	POST /magic/generate       form, CSRF token == binding nonce, link claims
//	                           sealed twice (link, pending), "check your email"
//	GET  /magic/verify/TOKEN   binding, link opened, confirmation page
//	POST /magic/verify/TOKEN   CSRF, link opened, browser binding, single use,
//	                           session sealed, 303 + "signed in" page
//	GET  /private/FILE         session cookie opened, then the static file
//	GET  /public/FILE          the static file
//
// Two modes:
//
//	baseline   securecookie's default gob encoder, html/template executed
//	           into the response (as the demo's Gin c.HTML does)
//	optimized  pooled JSON (sync.Pool of bytes.Buffer + encoding/json) and
//	           precompiled pages: hand-written writes of static strings and
//	           HTML-escaped values into a pooled buffer, one Write
//
// What it does not do that mod_magiclink does: mail (compose and deliver),
// rate limits, address normalization beyond trim+lowercase, sign-out checks
// on protected pages. The benchmark report says so.
package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/securecookie"
)

const (
	nameLink    = "magic"
	namePending = "magic_pending"
	bindCookie  = "magiclink_bind"
	sessCookie  = "magiclink_session"
	bindMaxAge  = 86400
	linkTTL     = 900
	sessionTTL  = 604800
	sessionIdle = 3600
	formLimit   = 8192
	csp         = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

// pooledJSON is the optimized serializer: encoding/json into a pooled
// buffer. securecookie encrypts the returned slice in place and keeps no
// reference, but the interface gives no point at which the buffer could go
// back to the pool, so the bytes are copied out once.
type pooledJSON struct{}

type jsonEnc struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var jsonPool = sync.Pool{New: func() interface{} {
	e := &jsonEnc{}
	e.enc = json.NewEncoder(&e.buf)
	return e
}}

func (pooledJSON) Serialize(src interface{}) ([]byte, error) {
	e := jsonPool.Get().(*jsonEnc)
	e.buf.Reset()
	if err := e.enc.Encode(src); err != nil {
		jsonPool.Put(e)
		return nil, err
	}
	out := make([]byte, e.buf.Len())
	copy(out, e.buf.Bytes())
	jsonPool.Put(e)
	return out, nil
}

func (pooledJSON) Deserialize(src []byte, dst interface{}) error {
	return json.Unmarshal(src, dst)
}

// Seed is one server: keys, mode, pages.
type Seed struct {
	Mode    string
	Site    string
	Static  string // document root for /private/ and /public/
	sc      *securecookie.SecureCookie
	pages   renderer
	used    sync.Map // link ids already used (single use)
	codeKey []byte
	now     func() int64
}

// Link is what a link token carries.
type Link struct {
	Email, Nonce, ID, Return, CodeHash string
	Exp                                int64
}

// NewSeed makes a server from the first key of a key file (ID HASH BLOCK).
func NewSeed(mode, keyfile, site, static, pages string) (*Seed, error) {
	hash, block, err := firstKey(keyfile)
	if err != nil {
		return nil, err
	}
	s := &Seed{Mode: mode, Site: site, Static: static,
		sc:      securecookie.New(hash, block),
		codeKey: []byte("mod_magiclink digest"),
		now:     func() int64 { return time.Now().Unix() }}
	switch mode {
	case "baseline":
		s.sc.SetSerializer(securecookie.GobEncoder{})
		s.pages, err = newTemplatePages(pages)
	case "optimized":
		s.sc.SetSerializer(pooledJSON{})
		s.pages, err = newPrecompiledPages(pages)
	default:
		return nil, fmt.Errorf("mode %q: expected baseline or optimized", mode)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

func firstKey(path string) (hash, block []byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) == 3 && !strings.HasPrefix(fl[0], "#") {
			h, err1 := hex.DecodeString(fl[1])
			b, err2 := hex.DecodeString(fl[2])
			if err1 != nil || err2 != nil || len(h) != 32 || len(b) != 32 {
				return nil, nil, fmt.Errorf("%s: bad key line", path)
			}
			return h, b, nil
		}
	}
	return nil, nil, fmt.Errorf("%s: no key", path)
}

// ---- the core: claims, sealed values, no HTTP ----

func randomB64(n int) string {
	var raw [18]byte
	if _, err := rand.Read(raw[:n]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(raw[:n])
}

// Nonce is a fresh browser nonce (also its CSRF token).
func Nonce() string { return randomB64(18) }

func randomCode() string {
	var b [4]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic(err)
		}
		if v := binary.LittleEndian.Uint32(b[:]); v < 4294000000 {
			return fmt.Sprintf("%06d", v%1000000)
		}
	}
}

func (s *Seed) codeHash(id, code string) string {
	m := hmac.New(sha256.New, s.codeKey)
	io.WriteString(m, id)
	io.WriteString(m, "|")
	io.WriteString(m, code)
	return base64.URLEncoding.EncodeToString(m.Sum(nil))
}

// Issue makes a link for email bound to the browser nonce and seals it
// twice: the link (mailed) and the pending token (the waiting tab).
func (s *Seed) Issue(email, nonce, ret string, now int64) (l Link, code, token, pending string, err error) {
	l = Link{Email: email, Nonce: nonce, ID: randomB64(18), Return: ret, Exp: now + linkTTL}
	code = randomCode()
	l.CodeHash = s.codeHash(l.ID, code)
	claims := map[string]string{"email": l.Email, "csrf": l.Nonce, "id": l.ID,
		"return": l.Return, "code": l.CodeHash, "exp": strconv.FormatInt(l.Exp, 10)}
	if token, err = s.sc.Encode(nameLink, claims); err != nil {
		return
	}
	pending, err = s.sc.Encode(namePending, claims)
	return
}

var errExpired = errors.New("expired")
var errClaims = errors.New("missing claims")

// OpenLink opens a link token and checks its claims and expiry.
func (s *Seed) OpenLink(token string, now int64) (Link, error) {
	var m map[string]string
	if err := s.sc.Decode(nameLink, token, &m); err != nil {
		return Link{}, err
	}
	l := Link{Email: m["email"], Nonce: m["csrf"], ID: m["id"], Return: m["return"],
		CodeHash: m["code"]}
	exp, err := strconv.ParseInt(m["exp"], 10, 64)
	if err != nil || l.Email == "" || l.Nonce == "" || l.ID == "" || l.Return == "" ||
		l.CodeHash == "" {
		return Link{}, errClaims
	}
	if l.Exp = exp; now > exp {
		return l, errExpired
	}
	return l, nil
}

// SealBinding and OpenBinding: the browser-binding cookie {"n": nonce}.
func (s *Seed) SealBinding(nonce string) (string, error) {
	return s.sc.Encode(bindCookie, map[string]string{"n": nonce})
}

func (s *Seed) OpenBinding(v string, now int64) string {
	var m map[string]string
	if v == "" || s.sc.Decode(bindCookie, v, &m) != nil {
		return ""
	}
	if n := m["n"]; len(n) == 24 {
		return n
	}
	return ""
}

// Session: {"email", "iat", "seen"}.
func (s *Seed) SealSession(email string, now int64) (string, error) {
	t := strconv.FormatInt(now, 10)
	return s.sc.Encode(sessCookie, map[string]string{"email": email, "iat": t, "seen": t})
}

func (s *Seed) OpenSession(v string, now int64) (string, error) {
	var m map[string]string
	if err := s.sc.Decode(sessCookie, v, &m); err != nil {
		return "", err
	}
	iat, err1 := strconv.ParseInt(m["iat"], 10, 64)
	seen, err2 := strconv.ParseInt(m["seen"], 10, 64)
	if m["email"] == "" || err1 != nil || err2 != nil {
		return "", errClaims
	}
	if now-iat > sessionTTL || now-seen > sessionIdle {
		return "", errExpired
	}
	return m["email"], nil
}

// ---- HTTP ----

func equal(a, b string) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func cookie(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

func setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func pageHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", csp)
	h.Set("Content-Type", "text/html; charset=utf-8")
}

var pagePool = sync.Pool{New: func() interface{} { return new(bytes.Buffer) }}

// send writes a page: baseline executes the template into the response
// (chunked, as Gin's c.HTML); optimized renders into a pooled buffer and
// writes it once with a Content-Length.
func (s *Seed) send(w http.ResponseWriter, status int, p pageID, v *vals) {
	pageHeaders(w.Header())
	if s.Mode == "baseline" {
		w.WriteHeader(status)
		if err := s.pages.render(w, p, v); err != nil {
			panic(err)
		}
		return
	}
	buf := pagePool.Get().(*bytes.Buffer)
	buf.Reset()
	if err := s.pages.render(buf, p, v); err != nil {
		panic(err)
	}
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	pagePool.Put(buf)
}

// binding returns the browser's nonce, issuing a new binding if asked.
func (s *Seed) binding(w http.ResponseWriter, r *http.Request, now int64, issue bool) string {
	n := s.OpenBinding(cookie(r, bindCookie), now)
	if n != "" || !issue {
		return n
	}
	n = Nonce()
	v, err := s.SealBinding(n)
	if err != nil {
		return ""
	}
	setCookie(w, bindCookie, v, bindMaxAge)
	return n
}

func (s *Seed) readForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, formLimit)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return false
	}
	return true
}

func (s *Seed) csrfOK(r *http.Request, nonce string) bool {
	t := r.PostForm.Get("csrf_token")
	if t == "" {
		t = r.Header.Get("X-CSRF-Token")
	}
	return nonce != "" && t != "" && equal(t, nonce)
}

func (s *Seed) login(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	n := s.binding(w, r, s.now(), true)
	ret := r.URL.Query().Get("return")
	if ret == "" {
		ret = "/"
	}
	s.send(w, http.StatusOK, pageLogin, &vals{fSite: s.Site, fAction: "/magic/generate",
		fCSRF: n, fReturn: ret})
}

func normalize(email string) (string, bool) {
	e := strings.ToLower(strings.TrimSpace(email))
	at := strings.LastIndexByte(e, '@')
	return e, at > 0 && at < len(e)-1 && len(e) <= 254
}

func (s *Seed) generate(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	if !s.readForm(w, r) {
		return
	}
	now := s.now()
	n := s.binding(w, r, now, false)
	if !s.csrfOK(r, n) {
		http.Error(w, "csrf", http.StatusForbidden)
		return
	}
	email, ok := normalize(r.PostForm.Get("email"))
	if !ok {
		http.Error(w, "bad address", http.StatusBadRequest)
		return
	}
	ret := r.PostForm.Get("return")
	if ret == "" {
		ret = "/"
	}
	_, _, _, pending, err := s.Issue(email, n, ret, now)
	if err != nil {
		http.Error(w, "seal", http.StatusInternalServerError)
		return
	}
	s.send(w, http.StatusOK, pageSent, &vals{fSite: s.Site, fEmail: email,
		fAction: "/magic/code", fCSRF: n, fPending: pending})
}

func (s *Seed) verify(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimPrefix(r.URL.Path, "/magic/verify/")
	now := s.now()
	var n string
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		n = s.binding(w, r, now, true)
	case http.MethodPost:
		if !s.readForm(w, r) {
			return
		}
		if n = s.binding(w, r, now, false); !s.csrfOK(r, n) {
			http.Error(w, "csrf", http.StatusForbidden)
			return
		}
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	l, err := s.OpenLink(token, now)
	if err == errExpired {
		http.Error(w, "expired", http.StatusGone)
		return
	} else if err != nil {
		http.Error(w, "invalid", http.StatusBadRequest)
		return
	}
	if r.Method != http.MethodPost { // mail scanners fetch links: never consume
		s.send(w, http.StatusOK, pageConfirm, &vals{fSite: s.Site, fAction: r.URL.Path,
			fCSRF: n, fEmail: l.Email})
		return
	}
	if !equal(l.Nonce, n) {
		http.Error(w, "other browser", http.StatusForbidden)
		return
	}
	if _, loaded := s.used.LoadOrStore(l.ID, struct{}{}); loaded {
		http.Error(w, "used", http.StatusGone)
		return
	}
	v, err := s.SealSession(l.Email, now)
	if err != nil {
		http.Error(w, "seal", http.StatusInternalServerError)
		return
	}
	setCookie(w, sessCookie, v, sessionTTL)
	w.Header().Set("Location", l.Return)
	s.send(w, http.StatusSeeOther, pageSignedIn, &vals{fSite: s.Site, fEmail: l.Email,
		fContinue: l.Return})
}

func (s *Seed) private(w http.ResponseWriter, r *http.Request) {
	v := cookie(r, sessCookie)
	if v == "" {
		http.Redirect(w, r, "/magic/login", http.StatusFound)
		return
	}
	if _, err := s.OpenSession(v, s.now()); err != nil {
		http.Redirect(w, r, "/magic/login", http.StatusFound)
		return
	}
	http.ServeFile(w, r, filepath.Join(s.Static, filepath.FromSlash(r.URL.Path)))
}

func (s *Seed) public(w http.ResponseWriter, r *http.Request) {
	http.ServeFile(w, r, filepath.Join(s.Static, filepath.FromSlash(r.URL.Path)))
}

// Handler is the router.
func (s *Seed) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/magic/login", s.login)
	mux.HandleFunc("/magic/generate", s.generate)
	mux.HandleFunc("/magic/verify/", s.verify)
	mux.HandleFunc("/private/", s.private)
	mux.HandleFunc("/public/", s.public)
	return mux
}
