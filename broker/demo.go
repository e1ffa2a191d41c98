package broker

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/extract"
	"github.com/kunnskapskommunen/folkekommune/broker/inquiry"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
	"github.com/kunnskapskommunen/folkekommune/broker/requests"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
	"github.com/kunnskapskommunen/folkekommune/broker/synth"
	"github.com/kunnskapskommunen/folkekommune/indicators"
)

// DemoUser is one of the demo's users.
type DemoUser struct {
	ID           string
	Role         string
	Municipality string
}

// DemoUsers are the demo's users, one per role. The researcher is a
// member of the approved demo project FolkeKommune.
var DemoUsers = []DemoUser{
	{"forsker.kari", requests.RoleResearcher, ""},
	{"koordinator.bergen", requests.RoleCoordinator, "4601"},
	{"personvernombud.per", requests.RolePrivacyOfficer, ""},
	{"fou.bergen", requests.RoleFoUContact, "4601"},
	{"admin", requests.RoleAdmin, ""},
}

// DemoUsersFile is the file demo writes the tokens to, inside the data directory.
const DemoUsersFile = "demo-users.json"

// The demo's sources: the synthetic extract as a file drop, or served by
// the synthetic FHIR Bulk Data server on loopback.
const (
	DemoSourceFiles = "files"
	DemoSourceFHIR  = "fhir"
)

// DataOptions say how to fill an empty data directory.
type DataOptions struct {
	Scale synth.Scale
	Seed  uint64
	// Source is how the synthetic extract reaches the broker:
	// DemoSourceFiles (the default) or DemoSourceFHIR.
	Source string
	// Say, if set, reports progress in a sentence.
	Say func(format string, args ...any)
}

// PrepareData makes sure db holds a loaded extract and computed
// indicators: when it holds no extract, a synthetic one is generated into
// DIR/extract and pulled; when the latest extract has no indicators, they
// are computed. It returns the extract version.
func PrepareData(ctx context.Context, db *store.DB, dataDir string, opt DataOptions) (int64, error) {
	say := opt.Say
	if say == nil {
		say = func(string, ...any) {}
	}
	x, err := requests.LatestExtract(ctx, db)
	if err != nil {
		return 0, err
	}
	if x == 0 {
		if opt.Source != "" && opt.Source != DemoSourceFiles && opt.Source != DemoSourceFHIR {
			return 0, fmt.Errorf("demo source %q: want %s or %s", opt.Source, DemoSourceFiles, DemoSourceFHIR)
		}
		key, err := extract.LoadKey(dataDir)
		if err != nil {
			return 0, err
		}
		out := filepath.Join(dataDir, "extract")
		say("generating a %s synthetic extract in %s", opt.Scale, out)
		if _, err := synth.Generate(ctx, synth.Options{Out: out, Seed: opt.Seed, Scale: opt.Scale}); err != nil {
			return 0, fmt.Errorf("generate the synthetic extract: %w", err)
		}
		var res extract.Result
		switch opt.Source {
		case "", DemoSourceFiles:
			say("pulling it into the database")
			res, err = extract.Pull(ctx, db, extract.NewFileDrop(out), extract.Options{Key: key})
		case DemoSourceFHIR:
			res, err = pullDemoFHIR(ctx, db, dataDir, out, key, say)
		default:
			return 0, fmt.Errorf("demo source %q: want %s or %s", opt.Source, DemoSourceFiles, DemoSourceFHIR)
		}
		if err != nil {
			return 0, fmt.Errorf("pull the synthetic extract: %w", err)
		}
		say("extract %d: %d rows loaded, %d quarantined", res.ExtractID, res.Loaded, res.Quarantined)
		x = res.ExtractID
	}
	defs, err := indicators.Builtin()
	if err != nil {
		return 0, err
	}
	var computed int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM indicator_run WHERE extract_id = ?`, x).Scan(&computed); err != nil {
		return 0, fmt.Errorf("check the indicators: %w", err)
	}
	if computed < len(defs) {
		say("computing %d indicators", len(defs))
		if _, err := indicators.Compute(ctx, db, defs, indicators.Options{ExtractID: x}); err != nil {
			return 0, fmt.Errorf("compute the indicators: %w", err)
		}
	}
	return x, nil
}

// pullDemoFHIR serves the synthetic extract in drop as FHIR resources from
// the synthetic Bulk Data server on a loopback port, for the length of
// the pull, and pulls it through the FHIR connector: SMART Backend
// Services with a key made for the occasion, $export, polling, NDJSON
// downloads to DIR/spool/demo-fhir.
func pullDemoFHIR(ctx context.Context, db *store.DB, dataDir, drop string, key []byte, say func(string, ...any)) (extract.Result, error) {
	export := filepath.Join(dataDir, "fhir-export")
	say("writing it as FHIR resources in %s", export)
	if err := synth.WriteFHIR(ctx, drop, export, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return extract.Result{}, err
	}
	clientKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return extract.Result{}, fmt.Errorf("make the demo's FHIR client key: %w", err)
	}
	jwks, err := extract.FHIRPublicJWKS(clientKey, "demo")
	if err != nil {
		return extract.Result{}, err
	}
	fhirSrv := synth.NewFHIRServer(export, time.Now())
	if err := fhirSrv.RegisterClient("folkekommune-demo", jwks); err != nil {
		return extract.Result{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return extract.Result{}, fmt.Errorf("start the demo FHIR server: %w", err)
	}
	hs := &http.Server{Handler: fhirSrv, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	base := "http://" + ln.Addr().String()
	spool := filepath.Join(dataDir, "spool", "demo-fhir")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		return extract.Result{}, fmt.Errorf("create the FHIR spool: %w", err)
	}
	src, err := extract.NewFHIRSource(extract.FHIROptions{BaseURL: base, ClientID: "folkekommune-demo", Key: clientKey, KeyID: "demo",
		SpoolDir: spool, Resume: true, PollInterval: 100 * time.Millisecond})
	if err != nil {
		return extract.Result{}, err
	}
	defer src.Close()
	say("pulling it from the FHIR Bulk Data server at %s", base)
	res, err := extract.Pull(ctx, db, src, extract.Options{Key: key})
	if err != nil {
		return res, err
	}
	if err := os.RemoveAll(export); err != nil {
		return res, fmt.Errorf("remove the FHIR export: %w", err)
	}
	return res, nil
}

// SeedDemo creates the demo users' tokens (new ones on every run; the
// old demo tokens are revoked), seeds the portfolio with the demo
// projects (FolkeKommune approved for data access, the researcher and the
// coordinator its members) and the inquiries, and returns role → token.
func (s *Server) SeedDemo(ctx context.Context) (map[string]string, error) {
	tokens := map[string]string{}
	for _, u := range DemoUsers {
		if _, err := s.tokens.Revoke(ctx, "", u.ID); err != nil {
			return nil, err
		}
		_, tok, err := s.tokens.Create(ctx, u.ID, u.Role, u.Municipality)
		if err != nil {
			return nil, fmt.Errorf("demo user %s: %w", u.ID, err)
		}
		tokens[u.Role] = tok
	}
	// The researcher and Bergen's coordinator are members of FolkeKommune.
	if _, err := portfolio.SeedDemo(ctx, s.portfolio, DemoUsers[0].ID, DemoUsers[1].ID); err != nil {
		return nil, fmt.Errorf("seed the demo portfolio: %w", err)
	}
	if _, err := inquiry.SeedDemo(ctx, s.inquiries); err != nil {
		return nil, fmt.Errorf("seed the demo inquiries: %w", err)
	}
	return tokens, nil
}

// DemoProject is the id of the approved demo project FolkeKommune, 0 if
// the portfolio has none.
func (s *Server) DemoProject(ctx context.Context) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT coalesce(min(id), 0) FROM project WHERE title = 'FolkeKommune'`).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("find the demo project: %w", err)
	}
	return id, nil
}

// WriteDemoUsers writes role → token to DIR/demo-users.json, readable by
// the owner only.
func WriteDemoUsers(dataDir string, tokens map[string]string) (string, error) {
	b, err := json.MarshalIndent(tokens, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dataDir, DemoUsersFile)
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}
