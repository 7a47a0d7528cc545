package core

import (
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"hash"
	"sync"
)

// sessionKey is the keyed hash of a credential: what the cache, the
// collapsing map (and a shared tier) know a credential by. The credential
// itself is never kept.
type sessionKey [sha256.Size]byte

// The key function is SHA-256 over one 64-byte block of secret, then the
// length of the credential's encoding, then the encoding itself:
//
//	key = SHA-256(secret block || uint32 length || kind || credential)
//
// rather than HMAC-SHA-256. Why that is as strong for this use:
//
//   - The secret block is hashed once, in New; each request restores the
//     state after it (a precomputed midstate) and hashes only the
//     credential. Keyed this way, SHA-256 is a pseudorandom function of
//     the message as long as no valid message is a prefix of another (the
//     "cascade" construction, Bellare, Canetti and Krawczyk 1996), and the
//     length in front makes the encodings prefix-free. That is the property
//     HMAC's second, outer hash buys: without it, secret-prefix SHA-256
//     suffers length extension (from key(m) anyone could compute the key
//     of m || padding || x without the secret). Here it cannot apply even
//     when a key is seen, as the shared tier's keys may be.
//   - In-process the keys are never revealed anyway: they are map keys.
//
// What it saves: HMAC restores two states and compresses one more block
// (the outer hash) per request, so this key costs about what hashing the
// credential costs at all, which is the floor (BenchmarkHit measures it).

// keyer hashes credentials; pooled, so the hit path allocates nothing.
type keyer struct {
	d   hash.Hash
	u   encoding.BinaryUnmarshaler // d, to restore the keyed state
	mid []byte                     // the state after the secret block; shared, read-only
	buf []byte
	sum [sha256.Size]byte
}

// newKeyer returns the pool's New function for a secret. A secret longer
// than a block is hashed first, a shorter one padded with zeros (as HMAC
// does with its key).
func newKeyer(secret []byte) func() any {
	block := make([]byte, sha256.BlockSize)
	if len(secret) > sha256.BlockSize {
		s := sha256.Sum256(secret)
		secret = s[:]
	}
	copy(block, secret)
	h := sha256.New()
	h.Write(block)
	mid, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic("oryguard: sha256 state cannot be saved: " + err.Error()) // crypto/sha256 always can
	}
	clear(block)
	return func() any {
		d := sha256.New()
		k := &keyer{d: d, u: d.(encoding.BinaryUnmarshaler), mid: mid}
		k.reset()
		return k
	}
}

// reset puts the digest back in the keyed state. Restoring a saved state
// overwrites the digest's partial-block buffer too (the midstate has none),
// so the last bytes of the credential hashed before do not stay in the
// pooled digest.
func (k *keyer) reset() {
	if err := k.u.UnmarshalBinary(k.mid); err != nil {
		panic("oryguard: sha256 state cannot be restored: " + err.Error())
	}
}

// keyIn hashes the credential with a keyer from pool.
func keyIn(pool *sync.Pool, c *credential) sessionKey {
	k := pool.Get().(*keyer)
	out := k.key(c)
	pool.Put(k)
	return out
}

// key hashes exactly the credential's bytes, in one pass and one Write.
// The buffer is wiped after use, so no credential stays in memory.
func (k *keyer) key(c *credential) sessionKey {
	b := k.buf[:0]
	b = append(b, 0, 0, 0, 0) // the length, filled in below
	switch c.kind {
	case credToken, credBearer: // the same token, whichever header carried it
		b = append(b, 't')
		b = append(b, c.token...)
	default:
		b = append(b, 'c')
		for i := range c.n {
			p := c.pair(i)
			b = append(b, p.name...)
			b = append(b, '=')
			b = append(b, p.value...)
			b = append(b, ';')
		}
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	k.d.Write(b)
	k.d.Sum(k.sum[:0])
	k.reset()
	clear(b)
	if cap(b) <= 2*MaxCredentialLength {
		k.buf = b[:0]
	} else {
		k.buf = nil
	}
	out := sessionKey(k.sum)
	clear(k.sum[:])
	return out
}

// key hashes the credential under the per-process secret (key.go).
func (g *Guard) key(c *credential) sessionKey { return keyIn(&g.keyers, c) }
