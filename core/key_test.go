package core

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"testing"
)

// TestKeyConstruction pins the key function to what key.go argues for:
// SHA-256 over the secret block, the length, the kind and the credential.
func TestKeyConstruction(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 32)
	cases := []struct {
		name string
		c    credential
		enc  string
	}{
		{"token", credential{kind: credToken, token: "ory_st_abc"}, "tory_st_abc"},
		{"bearer is the same token", credential{kind: credBearer, token: "ory_st_abc"}, "tory_st_abc"},
		{"one cookie", credential{kind: credCookie, n: 1, cookies: [inlineCookies]cookiePair{{"ory_kratos_session", "v1"}}}, "cory_kratos_session=v1;"},
		{"two cookies", credential{kind: credCookie, n: 2, cookies: [inlineCookies]cookiePair{{"a", "1"}, {"b", "2"}}}, "ca=1;b=2;"},
	}
	k := newKeyer(secret)().(*keyer)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			block := make([]byte, sha256.BlockSize)
			copy(block, secret)
			msg := binary.BigEndian.AppendUint32(block, uint32(len(tc.enc)))
			want := sha256.Sum256(append(msg, tc.enc...))
			if got := k.key(&tc.c); got != sessionKey(want) {
				t.Errorf("key = %x, want %x", got, want)
			}
		})
	}
}

// TestKeyDependsOnSecretAndCredential: another secret or another credential
// gives another key, and a secret longer than a block is hashed first.
func TestKeyDependsOnSecretAndCredential(t *testing.T) {
	c := credential{kind: credToken, token: "ory_st_abc"}
	other := credential{kind: credToken, token: "ory_st_abd"}
	cookie := credential{kind: credCookie, n: 1, cookies: [inlineCookies]cookiePair{{"t", "ory_st_abc"}}}
	long := bytes.Repeat([]byte{1}, 100)
	a := newKeyer([]byte("secret-a"))().(*keyer)
	b := newKeyer([]byte("secret-b"))().(*keyer)
	l := newKeyer(long)().(*keyer)
	h := sha256.Sum256(long)
	lh := newKeyer(h[:])().(*keyer)
	for _, tc := range []struct {
		name string
		x, y sessionKey
		same bool
	}{
		{"same secret, same credential", a.key(&c), a.key(&c), true},
		{"other secret", a.key(&c), b.key(&c), false},
		{"other token", a.key(&c), a.key(&other), false},
		{"token vs cookie with the same bytes", a.key(&c), a.key(&cookie), false},
		{"long secret is its hash", l.key(&c), lh.key(&c), true},
	} {
		if (tc.x == tc.y) != tc.same {
			t.Errorf("%s: equal = %v, want %v", tc.name, tc.x == tc.y, tc.same)
		}
	}
}

// TestKeyerKeepsNoCredential: after a key is computed, neither the pooled
// buffer nor the pooled digest's state holds any byte of the credential.
func TestKeyerKeepsNoCredential(t *testing.T) {
	k := newKeyer([]byte("secret"))().(*keyer)
	for _, c := range []credential{
		{kind: credToken, token: "ory_st_0123456789abcdefghijklmnopqrstuvwxyz"},
		{kind: credCookie, n: 2, cookies: [inlineCookies]cookiePair{{"ory_kratos_session", string(bytes.Repeat([]byte("Zq"), 214))}, {"ory_session_x", "tail-bytes"}}},
	} {
		k.key(&c)
		if n := bytes.Count(k.buf[:cap(k.buf)], []byte{0}); n != cap(k.buf) {
			t.Errorf("%d of %d buffer bytes not wiped", cap(k.buf)-n, cap(k.buf))
		}
		state, err := k.d.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(state, k.mid) {
			t.Error("the digest is not back in the keyed state")
		}
		if k.sum != ([sha256.Size]byte{}) {
			t.Error("the keyer kept the key")
		}
	}
}
