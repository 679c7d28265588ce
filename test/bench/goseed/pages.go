package main

// The pages. Their text is not copied here: `bench_core --render DIR` writes
// each page of templates/*.tpl rendered by the C core with placeholder
// values (ZZSITEZZ, ZZCSRFZZ, ...), and the pages are made from those files
// at start, so the Go peer sends the same bytes as mod_magiclink for the
// same values whatever the templates say today.
//
//	baseline   the placeholders become {{.Site}}, {{.CSRF}}, ... actions of
//	           an html/template, parsed once at start (as Gin's
//	           LoadHTMLGlob); data passed as a map built per request (gin.H)
//	optimized  precompiled: the static runs between placeholders, written
//	           as they are, and the values HTML-escaped (URLs checked)

import (
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strings"
)

type field int

const (
	fSite field = iota
	fCSRF
	fAction
	fReturn
	fEmail
	fPending
	fContinue
	nFields
)

var fieldNames = [nFields]string{"Site", "CSRF", "Action", "Return", "Email", "Pending", "Continue"}

func placeholder(f field) string { return "ZZ" + strings.ToUpper(fieldNames[f]) + "ZZ" }

// URL-valued fields go through url(); the rest through escape().
var urlField = [nFields]bool{fAction: true, fContinue: true}

type pageID int

const (
	pageLogin pageID = iota
	pageSent
	pageConfirm
	pageSignedIn
	nPages
)

var pageFiles = [nPages]string{"login.html", "sent.html", "confirm.html", "signed_in.html"}

// vals are a page's values, indexed by field.
type vals [nFields]string

type part struct {
	static string
	f      field // nFields: none (the last part)
}

type renderer interface {
	render(w io.Writer, p pageID, v *vals) error
}

// skeletons reads and splits the rendered pages.
func skeletons(dir string) ([nPages][]part, error) {
	var out [nPages][]part
	for id, name := range pageFiles {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return out, fmt.Errorf("pages (bench_core --render DIR): %w", err)
		}
		text := string(b)
		for {
			at, which := -1, nFields
			for f := fSite; f < nFields; f++ {
				if i := strings.Index(text, placeholder(f)); i >= 0 && (at < 0 || i < at) {
					at, which = i, f
				}
			}
			if at < 0 {
				out[id] = append(out[id], part{static: text, f: nFields})
				break
			}
			out[id] = append(out[id], part{static: text[:at], f: which})
			text = text[at+len(placeholder(which)):]
		}
	}
	return out, nil
}

// ---- baseline: html/template ----

type templatePages [nPages]*template.Template

func newTemplatePages(dir string) (*templatePages, error) {
	sk, err := skeletons(dir)
	if err != nil {
		return nil, err
	}
	var t templatePages
	for id, parts := range sk {
		var src strings.Builder
		for _, p := range parts {
			src.WriteString(strings.ReplaceAll(p.static, "{{", "{{`{{`}}"))
			if p.f < nFields {
				src.WriteString("{{." + fieldNames[p.f] + "}}")
			}
		}
		t[id], err = template.New(pageFiles[id]).Parse(src.String())
		if err != nil {
			return nil, err
		}
	}
	return &t, nil
}

func (t *templatePages) render(w io.Writer, p pageID, v *vals) error {
	data := make(map[string]interface{}, nFields)
	for f := fSite; f < nFields; f++ {
		data[fieldNames[f]] = v[f]
	}
	return t[p].Execute(w, data)
}

// ---- optimized: precompiled ----

type precompiledPages [nPages][]part

func newPrecompiledPages(dir string) (*precompiledPages, error) {
	sk, err := skeletons(dir)
	if err != nil {
		return nil, err
	}
	p := precompiledPages(sk)
	return &p, nil
}

// sw is the writer precompiled pages need: bytes.Buffer and bufio.Writer are.
type sw interface {
	io.Writer
	io.StringWriter
}

type strWriter struct{ io.Writer }

func (s strWriter) WriteString(v string) (int, error) { return io.WriteString(s.Writer, v) }

func (pp *precompiledPages) render(o io.Writer, p pageID, v *vals) error {
	w, ok := o.(sw)
	if !ok {
		w = strWriter{o}
	}
	for _, part := range pp[p] {
		w.WriteString(part.static)
		if part.f == nFields {
			break
		}
		if urlField[part.f] {
			url(w, v[part.f])
		} else {
			escape(w, v[part.f])
		}
	}
	return nil
}

// escape writes s HTML-escaped (text and quoted attributes alike: & < > " '
// become entities), passing runs of safe bytes in one call.
func escape(w sw, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var rep string
		switch s[i] {
		case '&':
			rep = "&amp;"
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		case '"':
			rep = "&#34;"
		case '\'':
			rep = "&#39;"
		default:
			continue
		}
		w.WriteString(s[last:i])
		w.WriteString(rep)
		last = i + 1
	}
	w.WriteString(s[last:])
}

// url writes a URL attribute value: relative or http(s)/mailto, escaped.
func url(w sw, s string) {
	if i := strings.IndexByte(s, ':'); i >= 0 && !strings.ContainsAny(s[:i], "/?#") {
		switch strings.ToLower(s[:i]) {
		case "http", "https", "mailto":
		default:
			w.WriteString("about:invalid#blocked")
			return
		}
	}
	escape(w, s)
}
