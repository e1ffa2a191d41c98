package extract

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeyEnv is the environment variable that may carry the pseudonymisation
// key (hex, at least 32 bytes), for deployments that keep it in a secret
// store rather than a file.
const KeyEnv = "FOLKEKOMMUNE_PSEUDONYM_KEY"

// KeyFile is the key's file name inside the data directory.
const KeyFile = "pseudonym.key"

// LoadKey returns the pseudonymisation key: from KeyEnv if set, else from
// DIR/pseudonym.key, which is created with 32 random bytes and mode 0600 on
// first use. A key file readable by others is refused: whoever holds the
// key can re-identify every pseudonym by hashing candidate numbers.
func LoadKey(dataDir string) ([]byte, error) {
	if v := strings.TrimSpace(os.Getenv(KeyEnv)); v != "" {
		key, err := hex.DecodeString(v)
		if err != nil || len(key) < 32 {
			return nil, fmt.Errorf("%s must be at least 32 bytes in hex", KeyEnv)
		}
		return key, nil
	}
	path := filepath.Join(dataDir, KeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("create pseudonymisation key: %w", err)
		}
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory %s: %w", dataDir, err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
		if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
			f.Close()
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
		return key, f.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by others (mode %04o); run chmod 600 on it", path, st.Mode().Perm())
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < 32 {
		return nil, fmt.Errorf("%s does not hold a key of at least 32 bytes in hex", path)
	}
	return key, nil
}

// Pseudonymiser turns identity numbers into stable pseudonyms. The
// pseudonym is the first 64 bits of HMAC-SHA256(key, "pid" || number): at
// 5.5 million persons the chance of any collision is below one in a
// million, and the pull detects one if it happens (two identities, one
// pseudonym) instead of merging two people. A pull sees each person many
// times, so pseudonyms are cached per pull. Not safe for concurrent use.
type Pseudonymiser struct {
	mac   hash.Hash
	rk    hash.Hash
	cache map[string]uint64
	seen  map[uint64]struct{}
	sum   []byte
	// Collisions counts distinct identities that met an already used
	// pseudonym; a pull refuses to load when it is not zero.
	Collisions int
}

// NewPseudonymiser keys a pseudonymiser. The record-key secret for the
// cell-key method is derived from the same key under another label, so
// one secret protects both.
func NewPseudonymiser(key []byte) *Pseudonymiser {
	derive := hmac.New(sha256.New, key)
	derive.Write([]byte("folkekommune record key v1"))
	return &Pseudonymiser{
		mac:   hmac.New(sha256.New, key),
		rk:    hmac.New(sha256.New, derive.Sum(nil)),
		cache: make(map[string]uint64, 1<<16),
		seen:  make(map[uint64]struct{}, 1<<16),
		sum:   make([]byte, 0, sha256.Size),
	}
}

var pidLabel = []byte("pid\x00")

// PID returns the pseudonym of an identity number.
func (p *Pseudonymiser) PID(id string) uint64 {
	if v, ok := p.cache[id]; ok {
		return v
	}
	p.mac.Reset()
	p.mac.Write(pidLabel)
	p.mac.Write([]byte(id))
	p.sum = p.mac.Sum(p.sum[:0])
	v := binary.BigEndian.Uint64(p.sum)
	if _, dup := p.seen[v]; dup {
		p.Collisions++
	}
	p.seen[v] = struct{}{}
	// id may point into a reused read buffer (Parquet); keep a copy.
	p.cache[strings.Clone(id)] = v
	return v
}

// RecordKey is the person's cell-key record key, uniform on [0, 2^32),
// stable across pulls for as long as the key is.
func (p *Pseudonymiser) RecordKey(pid uint64) uint32 {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], pid)
	p.rk.Reset()
	p.rk.Write(b[:])
	p.sum = p.rk.Sum(p.sum[:0])
	return binary.BigEndian.Uint32(p.sum)
}
