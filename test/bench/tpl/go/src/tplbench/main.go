// bench-tpl, the Go side: the "sent" page rendered by Go's html/template and
// by a templ-style precompiled renderer (static strings and
// html.EscapeString'd values written to a bytes.Buffer), measured with
// testing.Benchmark in the same run as the C side. GOPATH mode, no modules.
//
//	tplbench C_OUTPUT.html
//
// prints one line per renderer: NAME ns=.. bytes=.. allocs=.. size=.. same=..
// where same says whether the page is byte-identical to the C renderer's.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"html"
	"html/template"
	"os"
	"testing"
)

// SentArgs holds the same values as the C side and the golden test.
type SentArgs struct {
	SiteName, Email, CodeActionURL, CSRFToken, Pending string
}

var args = SentArgs{
	SiteName:      "Example & Co",
	Email:         "ada@example.com",
	CodeActionURL: "/magic/code",
	CSRFToken:     "tok3n-AbC_123.xyz",
	Pending:       "p3nd1ng.T0ken",
}

// renderTempl is what templ generates: straight-line writes.
func renderTempl(w *bytes.Buffer, a *SentArgs) {
	w.WriteString(head)
	if a.CSRFToken != "" {
		w.WriteString(metaOpen)
		w.WriteString(html.EscapeString(a.CSRFToken))
		w.WriteString(metaClose)
	}
	w.WriteString(titleOpen)
	w.WriteString(html.EscapeString(a.SiteName))
	w.WriteString(styleToHeader)
	w.WriteString(html.EscapeString(a.SiteName))
	w.WriteString(afterHeader)
	if a.Email != "" {
		w.WriteString("<strong>")
		w.WriteString(html.EscapeString(a.Email))
		w.WriteString("</strong>")
	} else {
		w.WriteString("that address")
	}
	w.WriteString(afterEmail)
	w.WriteString(html.EscapeString(a.CodeActionURL))
	w.WriteString(afterAction)
	w.WriteString(html.EscapeString(a.CSRFToken))
	w.WriteString(afterCSRF)
	w.WriteString(html.EscapeString(a.Pending))
	w.WriteString(tail)
}

// The same page for html/template, built from the same static text.
var sentTemplate = template.Must(template.New("sent").Parse(
	head +
		`{{if .CSRFToken}}` + metaOpen + `{{.CSRFToken}}` + metaClose + `{{end}}` +
		titleOpen + `{{.SiteName}}` + styleToHeader + `{{.SiteName}}` + afterHeader +
		`{{if .Email}}<strong>{{.Email}}</strong>{{else}}that address{{end}}` +
		afterEmail + `{{.CodeActionURL}}` + afterAction + `{{.CSRFToken}}` + afterCSRF +
		`{{.Pending}}` + tail))

func renderStd(w *bytes.Buffer, a *SentArgs) {
	if err := sentTemplate.Execute(w, a); err != nil {
		panic(err)
	}
}

// Like the C buffer sink, both write into one recycled buffer: Go's best case.
func measure(name string, render func(*bytes.Buffer, *SentArgs), want []byte) {
	var page bytes.Buffer
	render(&page, &args)
	r := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		var w bytes.Buffer
		for i := 0; i < b.N; i++ {
			w.Reset()
			render(&w, &args)
		}
	})
	fmt.Printf("%s ns=%d bytes=%d allocs=%d size=%d same=%t\n", name, r.NsPerOp(),
		r.AllocedBytesPerOp(), r.AllocsPerOp(), page.Len(), bytes.Equal(page.Bytes(), want))
}

func main() {
	testing.Init()
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: tplbench C_OUTPUT.html")
		os.Exit(2)
	}
	want, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	measure("go-templ", renderTempl, want)
	measure("go-html-template", renderStd, want)
}
