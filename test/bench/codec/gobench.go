// gobench: the Go side of bench_codec. The same work with gorilla/securecookie
// (JSONEncoder, the Go demo's setup) through testing.Benchmark:
//
//	gobench KEYFILE [ROUNDS]
//
// prints "# go version ..." and then "NAME NS_PER_OP BYTES_PER_OP ALLOCS_PER_OP"
// per case, the median of ROUNDS (default 3) runs, for bench_codec to read.
// Case names match bench_codec's: seal, open, seal+open, and the pieces
// open_raw (Decode with NopEncoder: MAC, age, decrypt, no JSON), json_parse
// and json_write (JSONEncoder's Deserialize and Serialize alone), and the
// pieces of a seal as securecookie does them: iv (GenerateRandomKey), hmac
// (hmac.New per call, as createMac) and ctr (cipher.NewCTR per call).
package main

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/securecookie"
)

const name = "magic"

var (
	email = "alice@example.com"
	csrf  = "pQ8uK3mZ0vY7rT2xW9aB4cD6eF1gH5jL8nS0qU3wX7y"
)

func firstKey(path string) (hash, block []byte) {
	f, err := os.Open(path)
	if err != nil {
		fail(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) == 3 && !strings.HasPrefix(fl[0], "#") {
			h, err1 := hex.DecodeString(fl[1])
			b, err2 := hex.DecodeString(fl[2])
			if err1 != nil || err2 != nil {
				fail(fmt.Errorf("%s: bad key line", path))
			}
			return h, b
		}
	}
	fail(fmt.Errorf("%s: no key", path))
	return nil, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gobench:", err)
	os.Exit(1)
}

// A handler builds the claims per request; so does every op here.
func claims() map[string]string {
	return map[string]string{"email": email, "csrf": csrf}
}

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: gobench KEYFILE [ROUNDS]"))
	}
	rounds := 3
	if len(os.Args) > 2 {
		rounds, _ = strconv.Atoi(os.Args[2])
	}
	hash, block := firstKey(os.Args[1])
	sc := securecookie.New(hash, block).SetSerializer(securecookie.JSONEncoder{})
	raw := securecookie.New(hash, block).SetSerializer(securecookie.NopEncoder{})
	value, err := sc.Encode(name, claims())
	if err != nil {
		fail(err)
	}
	plain, err := securecookie.JSONEncoder{}.Serialize(claims())
	if err != nil {
		fail(err)
	}
	aesBlock, err := aes.NewCipher(block)
	if err != nil {
		fail(err)
	}
	macInput := make([]byte, len(value)*3/4-sha256.Size-1)
	check := func(err error) {
		if err != nil {
			fail(err)
		}
	}

	cases := []struct {
		name string
		fn   func(b *testing.B)
	}{
		{"seal", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				_, err := sc.Encode(name, claims())
				check(err)
			}
		}},
		{"open", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var m map[string]string
				check(sc.Decode(name, value, &m))
			}
		}},
		{"seal+open", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				v, err := sc.Encode(name, claims())
				check(err)
				var m map[string]string
				check(sc.Decode(name, v, &m))
			}
		}},
		{"open_raw", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var p []byte
				check(raw.Decode(name, value, &p))
			}
		}},
		{"json_parse", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var m map[string]string
				check(securecookie.JSONEncoder{}.Deserialize(plain, &m))
			}
		}},
		{"json_write", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				_, err := securecookie.JSONEncoder{}.Serialize(claims())
				check(err)
			}
		}},
		{"iv", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if securecookie.GenerateRandomKey(aes.BlockSize) == nil {
					fail(fmt.Errorf("no randomness"))
				}
			}
		}},
		{"hmac", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				h := hmac.New(sha256.New, hash)
				h.Write([]byte(name + "|"))
				h.Write(macInput)
				h.Sum(nil)
			}
		}},
		{"ctr", func(b *testing.B) {
			iv := make([]byte, aes.BlockSize)
			for i := 0; i < b.N; i++ {
				cipher.NewCTR(aesBlock, iv).XORKeyStream(plain, plain)
			}
		}},
	}

	fmt.Printf("# %s, GOMAXPROCS=%d\n", runtime.Version(), runtime.GOMAXPROCS(0))
	for _, c := range cases {
		var res []testing.BenchmarkResult
		for r := 0; r < rounds; r++ {
			res = append(res, testing.Benchmark(func(b *testing.B) {
				b.ReportAllocs()
				c.fn(b)
			}))
		}
		sort.Slice(res, func(i, j int) bool {
			return float64(res[i].T)/float64(res[i].N) < float64(res[j].T)/float64(res[j].N)
		})
		m := res[len(res)/2]
		fmt.Printf("%s %.1f %d %d\n", c.name, float64(m.T.Nanoseconds())/float64(m.N),
			m.AllocedBytesPerOp(), m.AllocsPerOp())
	}
}
