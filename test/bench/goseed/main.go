package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// goseed -mode optimized|baseline -keys KEYFILE -pages DIR -addr 127.0.0.1:PORT -static DIR
//
//	serves until killed
//
// goseed -mode M -keys KEYFILE -pages DIR -mint N -nonce NONCE [-email ADDR]
//
//	prints N link tokens bound to NONCE (for POST verify benchmarks: each
//	token works once)
func main() {
	mode := flag.String("mode", "optimized", "baseline or optimized")
	keys := flag.String("keys", "", "key file (first line: ID HASH_HEX BLOCK_HEX)")
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	static := flag.String("static", ".", "document root for /private/ and /public/")
	site := flag.String("site", "mod_magiclink bench", "site name on pages")
	pages := flag.String("pages", "", "pages rendered by `bench_core --render DIR`")
	mint := flag.Int("mint", 0, "print this many link tokens and exit")
	nonce := flag.String("nonce", "", "browser nonce the minted tokens are bound to")
	email := flag.String("email", "bench@example.com", "address in minted tokens")
	flag.Parse()

	s, err := NewSeed(*mode, *keys, *site, *static, *pages)
	if err != nil {
		fmt.Fprintln(os.Stderr, "goseed:", err)
		os.Exit(2)
	}
	if *mint > 0 {
		out := bufio.NewWriterSize(os.Stdout, 1<<16)
		now := time.Now().Unix()
		for i := 0; i < *mint; i++ {
			_, _, token, _, err := s.Issue(*email, *nonce, "/", now)
			if err != nil {
				fmt.Fprintln(os.Stderr, "goseed:", err)
				os.Exit(1)
			}
			out.WriteString(token)
			out.WriteByte('\n')
		}
		out.Flush()
		return
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "goseed:", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout: 120 * time.Second}
	fmt.Fprintf(os.Stderr, "goseed %s listening on %s\n", *mode, ln.Addr())
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "goseed:", err)
		os.Exit(1)
	}
}
