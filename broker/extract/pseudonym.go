package extract

import (
	"bytes"
	"context"
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
	"sync"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/kunnskapskommunen/folkekommune/broker/fnr"
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
// pseudonym) instead of merging two people. Safe for concurrent use: DuckDB
// calls it from all its threads at once (pull_identity).
type Pseudonymiser struct {
	key, rkKey []byte
	hashers    sync.Pool // of *keyedHashes
	// Collisions counts distinct identities that met an already used
	// pseudonym; a pull refuses to load when it is not zero.
	Collisions int
}

// keyedHashes is one goroutine's HMAC states: an HMAC is reset to its keyed
// state in a few nanoseconds, but built from the key in about a
// microsecond.
type keyedHashes struct {
	mac, rk hash.Hash
	sum     []byte
}

// NewPseudonymiser keys a pseudonymiser. The record-key secret for the
// cell-key method is derived from the same key under another label, so
// one secret protects both.
func NewPseudonymiser(key []byte) *Pseudonymiser {
	derive := hmac.New(sha256.New, key)
	derive.Write([]byte("folkekommune record key v1"))
	p := &Pseudonymiser{key: bytes.Clone(key), rkKey: derive.Sum(nil)}
	p.hashers.New = func() any {
		return &keyedHashes{
			mac: hmac.New(sha256.New, p.key),
			rk:  hmac.New(sha256.New, p.rkKey),
			sum: make([]byte, 0, sha256.Size),
		}
	}
	return p
}

var pidLabel = []byte("pid\x00")

// PID returns the pseudonym of an identity number.
func (p *Pseudonymiser) PID(id string) uint64 {
	h := p.hashers.Get().(*keyedHashes)
	defer p.hashers.Put(h)
	return h.pid(id)
}

// RecordKey is the person's cell-key record key, uniform on [0, 2^32),
// stable across pulls for as long as the key is.
func (p *Pseudonymiser) RecordKey(pid uint64) uint32 {
	h := p.hashers.Get().(*keyedHashes)
	defer p.hashers.Put(h)
	return h.recordKey(pid)
}

func (h *keyedHashes) pid(id string) uint64 {
	h.mac.Reset()
	h.mac.Write(pidLabel)
	h.mac.Write([]byte(id))
	h.sum = h.mac.Sum(h.sum[:0])
	return binary.BigEndian.Uint64(h.sum)
}

func (h *keyedHashes) recordKey(pid uint64) uint32 {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], pid)
	h.rk.Reset()
	h.rk.Write(b[:])
	h.sum = h.rk.Sum(h.sum[:0])
	return binary.BigEndian.Uint32(h.sum)
}

// identityFunc is the pull's SQL function pull_identity(fødselsnummer): the
// number's pseudonym, birth date, sex and record key, or its problem. It
// runs inside DuckDB's parallel execution, so the distinct identities of an
// extract never travel to Go and back. The key is not in the function: a
// statement finds the pull's Pseudonymiser in the context it runs under
// (withPseudonymiser), and one run under any other context cannot even be
// planned, so the function is no oracle for whoever else shares the
// database.
type identityFunc struct{}

type pseudonymiserKey struct{}

// withPseudonymiser lets the statements run under ctx call pull_identity.
func withPseudonymiser(ctx context.Context, p *Pseudonymiser) context.Context {
	return context.WithValue(ctx, pseudonymiserKey{}, p)
}

var identityType = func() duckdb.TypeInfo {
	t := func(typ duckdb.Type) duckdb.TypeInfo {
		info, err := duckdb.NewTypeInfo(typ)
		if err != nil {
			panic(err)
		}
		return info
	}
	var entries []duckdb.StructEntry
	for _, f := range []struct {
		name string
		typ  duckdb.Type
	}{{"pid", duckdb.TYPE_UBIGINT}, {"problem", duckdb.TYPE_VARCHAR}, {"birth", duckdb.TYPE_DATE}, {"male", duckdb.TYPE_BOOLEAN}, {"record_key", duckdb.TYPE_UINTEGER}} {
		e, err := duckdb.NewStructEntry(t(f.typ), f.name)
		if err != nil {
			panic(err)
		}
		entries = append(entries, e)
	}
	info, err := duckdb.NewStructInfo(entries[0], entries[1:]...)
	if err != nil {
		panic(err)
	}
	return info
}()

func (*identityFunc) Config() duckdb.ScalarFuncConfig {
	varchar, _ := duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
	return duckdb.ScalarFuncConfig{InputTypeInfos: []duckdb.TypeInfo{varchar}, ResultTypeInfo: identityType}
}

var errNoPseudonymiser = errors.New("pull_identity is only available to the pull that registered it")

func (*identityFunc) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{
		ScalarBinder: func(ctx context.Context, _ []duckdb.ScalarUDFArg) (context.Context, error) {
			if _, ok := ctx.Value(pseudonymiserKey{}).(*Pseudonymiser); !ok {
				return nil, errNoPseudonymiser
			}
			return ctx, nil
		},
		ChunkContextExecutor: func(ctx context.Context, chunk *duckdb.ChunkIteratorState) error {
			p, ok := ctx.Value(pseudonymiserKey{}).(*Pseudonymiser)
			if !ok {
				return errNoPseudonymiser
			}
			h := p.hashers.Get().(*keyedHashes)
			defer p.hashers.Put(h)
			// SetResult copies the fields into DuckDB's vectors at once,
			// so one map serves the whole chunk.
			res := map[string]any{"pid": nil, "problem": nil, "birth": nil, "male": nil, "record_key": nil}
			for row, err := range chunk.Rows() {
				if err != nil {
					return err
				}
				s, _ := (*row.GetValuePtr(0)).(string)
				info, err := fnr.Parse(s)
				if err != nil {
					res["pid"], res["problem"], res["birth"], res["male"], res["record_key"] = nil, err.Error(), nil, nil, nil
				} else {
					pid := h.pid(s)
					res["pid"], res["problem"], res["birth"], res["male"], res["record_key"] = pid, nil, info.Birth, info.Male, h.recordKey(pid)
				}
				if err := row.SetResult(res); err != nil {
					return err
				}
			}
			return nil
		},
	}
}
