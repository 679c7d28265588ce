package main

// go test -bench . -benchmem   (GO111MODULE=off GOPATH=/usr/share/gocode)
//
//	BenchmarkCore*   the handler core without HTTP, what bench_core does in C:
//	                 Generate = Issue (id, code, code hash, link and pending
//	                 sealed) + the "check your email" page into a reused
//	                 buffer; Verify = OpenLink + confirmation page; Session =
//	                 OpenSession
//	BenchmarkHTTP*   the same through the router with httptest (as the demo's
//	                 benchmark_test.go measures POST generate)
//
// Environment: ML_KEYFILE (key file) [../../keys/test.key]; ML_PAGES_DIR
// (required): the pages `bench_core --render DIR` writes, which the Go
// pages are made of (pages.go).

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var modes = []string{"optimized", "baseline"}

func keyfile() string {
	if k := os.Getenv("ML_KEYFILE"); k != "" {
		return k
	}
	return "../../keys/test.key"
}

func pagesDir(tb testing.TB) string {
	d := os.Getenv("ML_PAGES_DIR")
	if d == "" {
		tb.Fatal("ML_PAGES_DIR not set: the pages `bench_core --render DIR` writes")
	}
	return d
}

func newSeed(tb testing.TB, mode string) *Seed {
	s, err := NewSeed(mode, keyfile(), "mod_magiclink bench", tb.TempDir(), pagesDir(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

const email = "bench@example.com"

// The placeholders give back the C pages byte for byte, in both modes, and
// both modes render real values alike.
func TestPagesMatchC(t *testing.T) {
	real := vals{fSite: "mod_magiclink bench", fCSRF: "NONCE_abcdefghijklmnopqr",
		fAction: "/magic/verify/VE9LRU4tdG9rZW5fdmFsdWU9", fReturn: "/", fEmail: email,
		fPending: "MTc5NTU0NDYzMXxaQUhPNGxz-_=", fContinue: "/"}
	var ph vals
	for f := fSite; f < nFields; f++ {
		ph[f] = placeholder(f)
	}
	rendered := map[string][]byte{}
	for _, mode := range modes {
		s := newSeed(t, mode)
		for id := pageLogin; id < nPages; id++ {
			want, err := os.ReadFile(filepath.Join(pagesDir(t), pageFiles[id]))
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := s.pages.render(&got, id, &ph); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%s %s: %d bytes, C renders %d; Go:\n%s", mode, pageFiles[id],
					got.Len(), len(want), got.String())
			}
			got.Reset()
			if err := s.pages.render(&got, id, &real); err != nil {
				t.Fatal(err)
			}
			if prev, ok := rendered[pageFiles[id]]; ok && !bytes.Equal(prev, got.Bytes()) {
				t.Errorf("%s: the modes differ:\n%s\n----\n%s", pageFiles[id], prev, got.Bytes())
			}
			rendered[pageFiles[id]] = got.Bytes()
		}
	}
}

func TestFlow(t *testing.T) {
	for _, mode := range modes {
		s := newSeed(t, mode)
		os.MkdirAll(filepath.Join(s.Static, "private"), 0o755)
		os.WriteFile(filepath.Join(s.Static, "private", "page.html"), []byte("secret\n"), 0o644)
		h := s.Handler()
		do := func(method, path, body, cookies string) *httptest.ResponseRecorder {
			r := httptest.NewRequest(method, path, strings.NewReader(body))
			if body != "" {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if cookies != "" {
				r.Header.Set("Cookie", cookies)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w
		}
		w := do("GET", "/magic/login", "", "")
		bind := strings.SplitN(w.Header().Get("Set-Cookie"), ";", 2)[0]
		nonce := s.OpenBinding(strings.TrimPrefix(bind, bindCookie+"="), s.now())
		if w.Code != 200 || nonce == "" || !strings.Contains(w.Body.String(), nonce) {
			t.Fatalf("%s login: %d %q", mode, w.Code, bind)
		}
		w = do("POST", "/magic/generate", "email=Bench%40Example.com&csrf_token="+nonce, bind)
		if w.Code != 200 || !strings.Contains(w.Body.String(), "<strong>bench@example.com</strong>") {
			t.Fatalf("%s generate: %d %s", mode, w.Code, w.Body.String())
		}
		if w = do("POST", "/magic/generate", "email=a%40b.c&csrf_token=x", bind); w.Code != 403 {
			t.Fatalf("%s generate with a wrong token: %d", mode, w.Code)
		}
		_, _, token, _, _ := s.Issue(email, nonce, "/", s.now())
		if w = do("GET", "/magic/verify/"+token, "", bind); w.Code != 200 {
			t.Fatalf("%s GET verify: %d", mode, w.Code)
		}
		w = do("POST", "/magic/verify/"+token, "csrf_token="+nonce, bind)
		sess := strings.SplitN(w.Header().Get("Set-Cookie"), ";", 2)[0]
		if w.Code != 303 || !strings.HasPrefix(sess, sessCookie+"=") {
			t.Fatalf("%s POST verify: %d", mode, w.Code)
		}
		if w = do("POST", "/magic/verify/"+token, "csrf_token="+nonce, bind); w.Code != 410 {
			t.Fatalf("%s POST verify again: %d", mode, w.Code)
		}
		if w = do("GET", "/private/page.html", "", sess); w.Code != 200 || w.Body.String() != "secret\n" {
			t.Fatalf("%s private: %d", mode, w.Code)
		}
		if w = do("GET", "/private/page.html", "", ""); w.Code != 302 {
			t.Fatalf("%s private without a session: %d", mode, w.Code)
		}
	}
}

func BenchmarkCoreGenerate(b *testing.B) {
	for _, mode := range modes {
		b.Run(mode, func(b *testing.B) {
			s := newSeed(b, mode)
			nonce := Nonce()
			var buf bytes.Buffer
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_, _, _, pending, err := s.Issue(email, nonce, "/", s.now())
				if err != nil {
					b.Fatal(err)
				}
				buf.Reset()
				if err := s.pages.render(&buf, pageSent, &vals{fSite: s.Site, fEmail: email,
					fAction: "/magic/code", fCSRF: nonce, fPending: pending}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCoreVerify(b *testing.B) {
	for _, mode := range modes {
		b.Run(mode, func(b *testing.B) {
			s := newSeed(b, mode)
			nonce := Nonce()
			_, _, token, _, _ := s.Issue(email, nonce, "/", s.now())
			action := "/magic/verify/" + token
			var buf bytes.Buffer
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				l, err := s.OpenLink(token, s.now())
				if err != nil {
					b.Fatal(err)
				}
				buf.Reset()
				if err := s.pages.render(&buf, pageConfirm, &vals{fSite: s.Site,
					fAction: action, fCSRF: nonce, fEmail: l.Email}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCoreSession(b *testing.B) {
	for _, mode := range modes {
		b.Run(mode, func(b *testing.B) {
			s := newSeed(b, mode)
			v, _ := s.SealSession(email, s.now())
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := s.OpenSession(v, s.now()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Through the router: a recorder per request, as the demo's benchmark.
func benchHTTP(b *testing.B, mode string, mk func(s *Seed, nonce, bind string) *http.Request, want int) {
	s := newSeed(b, mode)
	nonce := Nonce()
	v, _ := s.SealBinding(nonce)
	bind := bindCookie + "=" + v
	h := s.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, mk(s, nonce, bind))
		if w.Code != want {
			b.Fatalf("status %d", w.Code)
		}
	}
}

func BenchmarkHTTPGenerate(b *testing.B) {
	for _, mode := range modes {
		b.Run(mode, func(b *testing.B) {
			benchHTTP(b, mode, func(s *Seed, nonce, bind string) *http.Request {
				r := httptest.NewRequest("POST", "/magic/generate",
					strings.NewReader("email=bench%40example.com&csrf_token="+nonce))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set("Cookie", bind)
				return r
			}, 200)
		})
	}
}

func BenchmarkHTTPVerify(b *testing.B) {
	for _, mode := range modes {
		b.Run(mode, func(b *testing.B) {
			var path string
			benchHTTP(b, mode, func(s *Seed, nonce, bind string) *http.Request {
				if path == "" {
					_, _, token, _, _ := s.Issue(email, nonce, "/", s.now())
					path = "/magic/verify/" + token
				}
				r := httptest.NewRequest("GET", path, nil)
				r.Header.Set("Cookie", bind)
				return r
			}, 200)
		})
	}
}
