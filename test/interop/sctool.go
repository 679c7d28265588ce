// sctool seals and opens values with the real gorilla/securecookie (Debian's
// golang-github-gorilla-securecookie-dev, built in GOPATH mode) and its
// JSONEncoder, so the interop tests can check our C codec against it.
//
//	sctool seal [--time UNIX] [--iv HEX] KEYS NAME JSON
//	sctool open [--max-age SECS] KEYS NAME VALUE
//
// KEYS is a key file in our format ("ID HASHKEY_HEX BLOCKKEY_HEX" per line,
// '#' comments), or one such line given literally (it contains a space). The
// first key seals; every key opens (securecookie.DecodeMulti), as in the
// module. JSON is an object of strings; open prints the claims the way
// JSONEncoder writes them, which is also what `magiclink open` prints. Any
// failure: one line on stderr, exit status 1.
//
// Fixing the IV and the time. securecookie takes the IV from crypto/rand and
// the time from time.Now (its timeFunc hook is unexported), so:
//   - --iv alone runs the real securecookie.Encode with crypto/rand.Reader,
//     an exported variable, swapped for a reader that yields exactly the IV
//     and then fails, so an unexpected extra read cannot pass unnoticed. The
//     timestamp is Encode's own; the tests read it back out of the value.
//   - --time (with or without --iv) cannot go through Encode. The value is
//     built from the same stdlib pieces Encode uses (json.Encoder,
//     crypto/aes + cipher.NewCTR, hmac/sha256, base64.URLEncoding), and two
//     checks tie that replica to the library on every run: the replica made
//     with the timestamp and IV of a real Encode call must equal Encode's
//     output byte for byte, and securecookie.Decode must accept the replica's
//     value and return the same claims.
package main

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/gorilla/securecookie"
)

type key struct {
	id          string
	hash, block []byte
}

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "sctool: "+format+"\n", a...)
	os.Exit(1)
}

func parseKeys(spec string) ([]key, error) {
	text := spec
	if !strings.ContainsAny(spec, " \t") {
		b, err := os.ReadFile(spec)
		if err != nil {
			return nil, err
		}
		text = string(b)
	}
	var keys []key
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("line %d: expected ID HASHKEY BLOCKKEY", n)
		}
		h, err1 := hex.DecodeString(f[1])
		b, err2 := hex.DecodeString(f[2])
		if err1 != nil || err2 != nil || len(h) != 32 || len(b) != 32 {
			return nil, fmt.Errorf("line %d: keys must be 64 hex digits", n)
		}
		keys = append(keys, key{f[0], h, b})
	}
	if len(keys) == 0 {
		return nil, errors.New("no keys")
	}
	return keys, nil
}

func codec(k key, maxAge int) *securecookie.SecureCookie {
	return securecookie.New(k.hash, k.block).SetSerializer(securecookie.JSONEncoder{}).MaxAge(maxAge)
}

// ivReader hands out one IV, then refuses.
type ivReader struct{ iv []byte }

func (r *ivReader) Read(p []byte) (int, error) {
	if r.iv == nil {
		return 0, errors.New("sctool: securecookie read more randomness than one IV")
	}
	if len(p) != len(r.iv) {
		return 0, fmt.Errorf("sctool: securecookie asked for %d random bytes, IV has %d", len(p), len(r.iv))
	}
	n := copy(p, r.iv)
	r.iv = nil
	return n, nil
}

// encodeWithIV runs the real securecookie.Encode with iv as its randomness.
func encodeWithIV(k key, name string, claims map[string]string, iv []byte) (string, error) {
	saved := rand.Reader
	rand.Reader = &ivReader{iv}
	defer func() { rand.Reader = saved }()
	return codec(k, 0).Encode(name, claims)
}

// replica computes what Encode would return at time ts with this IV.
func replica(k key, name string, claims map[string]string, ts int64, iv []byte) (string, error) {
	var plain bytes.Buffer
	if err := json.NewEncoder(&plain).Encode(claims); err != nil { // JSONEncoder.Serialize
		return "", err
	}
	block, err := aes.NewCipher(k.block)
	if err != nil {
		return "", err
	}
	inner := make([]byte, len(iv)+plain.Len())
	copy(inner, iv)
	cipher.NewCTR(block, iv).XORKeyStream(inner[len(iv):], plain.Bytes())
	body := strconv.FormatInt(ts, 10) + "|" + base64.URLEncoding.EncodeToString(inner)
	mac := hmac.New(sha256.New, k.hash)
	mac.Write([]byte(name + "|" + body))
	out := base64.URLEncoding.EncodeToString(append([]byte(body+"|"), mac.Sum(nil)...))
	if len(out) > 4096 { // Encode's default MaxLength
		return "", errors.New("securecookie: the value is too long")
	}
	return out, nil
}

func timestampOf(value string) (int64, error) {
	b, err := base64.URLEncoding.DecodeString(value)
	if err != nil {
		return 0, err
	}
	i := bytes.IndexByte(b, '|')
	if i < 0 {
		return 0, errors.New("no timestamp")
	}
	return strconv.ParseInt(string(b[:i]), 10, 64)
}

// checkedReplica builds the value for (ts, iv) and proves the construction
// against the library first (see the comment at the top).
func checkedReplica(k key, name string, claims map[string]string, ts int64, iv []byte) string {
	probeIV := iv
	if probeIV == nil {
		probeIV = securecookie.GenerateRandomKey(aes.BlockSize)
	}
	real, err := encodeWithIV(k, name, claims, probeIV)
	if err != nil {
		fail("seal: %v", err)
	}
	realTS, err := timestampOf(real)
	if err != nil {
		fail("seal: cannot read back Encode's timestamp: %v", err)
	}
	if mine, err := replica(k, name, claims, realTS, probeIV); err != nil || mine != real {
		fail("seal: replica diverges from securecookie.Encode (%v)", err)
	}

	if iv == nil {
		iv = securecookie.GenerateRandomKey(aes.BlockSize)
	}
	out, err := replica(k, name, claims, ts, iv)
	if err != nil {
		fail("seal: %v", err)
	}
	var back map[string]string
	if err := codec(k, 0).Decode(name, out, &back); err != nil {
		fail("seal: securecookie.Decode refuses the replica: %v", err)
	}
	if !reflect.DeepEqual(back, claims) {
		fail("seal: securecookie.Decode returns other claims than were sealed")
	}
	return out
}

func takeOpt(args []string, flag string) (string, []string, bool) {
	if len(args) >= 2 && args[0] == flag {
		return args[1], args[2:], true
	}
	return "", args, false
}

func cmdSeal(args []string) {
	var ts int64
	var iv []byte
	haveTime := false
	for len(args) > 0 && strings.HasPrefix(args[0], "--") {
		if v, rest, ok := takeOpt(args, "--time"); ok {
			t, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				fail("seal: --time takes Unix seconds")
			}
			ts, haveTime, args = t, true, rest
		} else if v, rest, ok := takeOpt(args, "--iv"); ok {
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != aes.BlockSize {
				fail("seal: --iv takes 32 hex digits")
			}
			iv, args = b, rest
		} else {
			fail("seal: unknown option %s", args[0])
		}
	}
	if len(args) != 3 {
		fail("seal: expected KEYS NAME JSON")
	}
	keys, err := parseKeys(args[0])
	if err != nil {
		fail("keys: %v", err)
	}
	var claims map[string]string
	if err := json.Unmarshal([]byte(args[2]), &claims); err != nil || claims == nil {
		fail("seal: JSON is not an object of strings (%v)", err)
	}
	var out string
	switch {
	case haveTime:
		out = checkedReplica(keys[0], args[1], claims, ts, iv)
	case iv != nil:
		out, err = encodeWithIV(keys[0], args[1], claims, iv)
	default:
		out, err = codec(keys[0], 0).Encode(args[1], claims)
	}
	if err != nil {
		fail("seal: %v", err)
	}
	fmt.Println(out)
}

func cmdOpen(args []string) {
	maxAge := 86400 * 30 // securecookie's default, and magiclink's
	if v, rest, ok := takeOpt(args, "--max-age"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fail("open: --max-age takes seconds")
		}
		maxAge, args = n, rest
	}
	if len(args) != 3 {
		fail("open: expected KEYS NAME VALUE")
	}
	keys, err := parseKeys(args[0])
	if err != nil {
		fail("keys: %v", err)
	}
	codecs := make([]securecookie.Codec, len(keys))
	for i, k := range keys {
		codecs[i] = codec(k, maxAge)
	}
	var claims map[string]string
	if err := securecookie.DecodeMulti(args[1], args[2], &claims, codecs...); err != nil {
		fail("open: %v", err)
	}
	if claims == nil {
		// A sealed JSON null decodes without error into a nil map; the
		// module would refuse it, so say so instead of printing "null".
		fail("open: payload is null, not an object")
	}
	if err := json.NewEncoder(os.Stdout).Encode(claims); err != nil {
		fail("open: %v", err)
	}
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: sctool seal|open ...")
	}
	switch os.Args[1] {
	case "seal":
		cmdSeal(os.Args[2:])
	case "open":
		cmdOpen(os.Args[2:])
	default:
		fail("unknown command %q", os.Args[1])
	}
}
