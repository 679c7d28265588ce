// gosession is what a Go backend behind mod_magiclink does with the session
// cookie: open it with the real gorilla/securecookie (JSONEncoder) under the
// module's keys, then apply its own limits to the iat and seen claims.
// Built in GOPATH mode against Debian's golang-github-gorilla-securecookie-dev;
// test/integration/test_go_backend.py drives it with cookies the module set.
//
//	gosession -aud REALM [-name NAME] [-ttl SECS] [-idle SECS] [-now UNIX] KEYS VALUE
//
// KEYS is a key file in the module's format ("ID HASHKEY_HEX BLOCKKEY_HEX" per
// line, '#' comments) or one such line given literally (it contains a space);
// every key opens (securecookie.DecodeMulti), as in the module. REALM is the
// module's realm for the host the backend serves (MagicLinkRealm, else the
// origin of MagicLinkBaseURL): a session issued for another realm is refused.
// On success it prints {"email": ..., "iat": N, "seen": N, "aud": ...} on one
// line; on any refusal, one line on stderr saying why, and exit status 1.
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
)

// Session is what the module puts in the cookie: claims are JSON strings.
type Session struct {
	Email string `json:"email"`
	IAT   int64  `json:"iat"`  // sign-in time, unix seconds
	Seen  int64  `json:"seen"` // last renewal, unix seconds (re-sealed at most once a minute)
	Aud   string `json:"aud"`  // the realm it was issued for
}

// Limits mirror MagicLinkSessionTTL and MagicLinkSessionIdle.
type Limits struct {
	TTL  int64 // seconds from iat [604800]
	Idle int64 // seconds from seen [3600]
}

// Codecs builds one securecookie codec per key line. MaxAge bounds the seal's
// own timestamp (the last renewal), so the session TTL is the right bound.
func Codecs(keyText string, lim Limits) ([]securecookie.Codec, error) {
	var codecs []securecookie.Codec
	sc := bufio.NewScanner(strings.NewReader(keyText))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("key line %d: expected ID HASHKEY BLOCKKEY", n)
		}
		hashKey, err1 := hex.DecodeString(f[1])
		blockKey, err2 := hex.DecodeString(f[2])
		if err1 != nil || err2 != nil || len(hashKey) != 32 || len(blockKey) != 32 {
			return nil, fmt.Errorf("key line %d: keys must be 64 hex digits", n)
		}
		s := securecookie.New(hashKey, blockKey)
		s.SetSerializer(securecookie.JSONEncoder{})
		s.MaxAge(int(lim.TTL))
		codecs = append(codecs, s)
	}
	if len(codecs) == 0 {
		return nil, errors.New("no keys")
	}
	return codecs, nil
}

// Open decodes the cookie value and checks the session's realm and its own limits.
func Open(codecs []securecookie.Codec, name, value, aud string, lim Limits, now int64) (Session, error) {
	var claims map[string]string
	if err := securecookie.DecodeMulti(name, value, &claims, codecs...); err != nil {
		return Session{}, err
	}
	var s Session
	var err1, err2 error
	s.Email = claims["email"]
	s.Aud = claims["aud"]
	s.IAT, err1 = strconv.ParseInt(claims["iat"], 10, 64)
	s.Seen, err2 = strconv.ParseInt(claims["seen"], 10, 64)
	if s.Email == "" || err1 != nil || err2 != nil || s.IAT < 0 || s.Seen < 0 {
		return Session{}, errors.New("session: missing or malformed claims")
	}
	if s.Aud != aud {
		return Session{}, errors.New("session: issued for another realm")
	}
	if now-s.IAT > lim.TTL {
		return Session{}, errors.New("session: older than its lifetime (iat)")
	}
	if now-s.Seen > lim.Idle {
		return Session{}, errors.New("session: idle too long (seen)")
	}
	return s, nil
}

func main() {
	name := flag.String("name", "magiclink_session", "cookie name (MagicLinkCookieName)")
	aud := flag.String("aud", "", "the realm (MagicLinkRealm, else the origin of MagicLinkBaseURL)")
	ttl := flag.Int64("ttl", 604800, "MagicLinkSessionTTL, seconds")
	idle := flag.Int64("idle", 3600, "MagicLinkSessionIdle, seconds")
	now := flag.Int64("now", 0, "the time to judge by, unix seconds [now]")
	flag.Parse()
	if flag.NArg() != 2 || *aud == "" {
		fmt.Fprintln(os.Stderr, "usage: gosession -aud REALM [-name NAME] [-ttl SECS] [-idle SECS] [-now UNIX] KEYS VALUE")
		os.Exit(2)
	}
	keys := flag.Arg(0)
	if !strings.ContainsAny(keys, " \t") {
		b, err := os.ReadFile(keys)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gosession:", err)
			os.Exit(1)
		}
		keys = string(b)
	}
	lim := Limits{TTL: *ttl, Idle: *idle}
	codecs, err := Codecs(keys, lim)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gosession:", err)
		os.Exit(1)
	}
	t := *now
	if t == 0 {
		t = time.Now().Unix()
	}
	s, err := Open(codecs, *name, flag.Arg(1), *aud, lim, t)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gosession:", err)
		os.Exit(1)
	}
	out, _ := json.Marshal(s)
	fmt.Println(string(out))
}
