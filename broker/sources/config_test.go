package sources

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/extract"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// withSecrets copies a sources file into a temporary folder beside the
// credential files it names, each with the given mode (git keeps no
// modes, so the testdata cannot hold them).
func withSecrets(t *testing.T, src string, secrets map[string]os.FileMode) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "sources.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, mode := range secrets {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o700)
		content := []byte("secret\n")
		if strings.HasSuffix(name, ".pem") {
			content = testKeyPEM(t)
		}
		if err := os.WriteFile(p, content, mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
	}
	return path
}

// testKeyPEM is a new EC P-384 private key in PEM, as SMART Backend
// Services wants.
func testKeyPEM(t *testing.T) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func TestTheExampleSourcesFileIsValid(t *testing.T) {
	path := withSecrets(t, "testdata/sources.yaml", map[string]os.FileMode{"keys/fhir-client.pem": 0o600, "keys/iplos.password": 0o400})
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Sources) != 3 {
		t.Fatalf("%d sources", len(f.Sources))
	}
	drop, fhir, sql := f.Sources[0], f.Sources[1], f.Sources[2]
	dir := filepath.Dir(path)
	if drop.Kind != FileDrop || drop.Folder != filepath.Join(dir, "drop/folkeregister") || drop.Line != 6 {
		t.Errorf("folkeregister: %+v", drop)
	}
	if got := drop.Schedule.String(); got != "every 24h at 02:00 Europe/Oslo" {
		t.Errorf("folkeregister schedule %q", got)
	}
	if fhir.Location() != "https://fhir.bergen.kommune.no/fhir/Group/folkekommune-4601" || !fhir.Incremental ||
		fhir.Timeout != 4*time.Hour || fhir.Retry != (Retry{5, 2 * time.Minute, 20 * time.Minute}) ||
		len(fhir.Datasets) != 3 || fhir.Datasets[2] != extract.GPContact {
		t.Errorf("bergen-fhir: %+v", fhir)
	}
	if sql.Location() != "postgres://replica.iplos.local:5432/rapport" || sql.StatementTimeout != 10*time.Minute ||
		!strings.Contains(sql.Queries[extract.Care], "FROM rapport.vedtak") || sql.Timeout != DefaultTimeout || sql.Retry != DefaultRetry {
		t.Errorf("iplos-replica: %+v", sql)
	}
	dsn, err := sql.dsn()
	if err != nil || dsn != "postgres://:secret@replica.iplos.local:5432/rapport?sslmode=require" {
		t.Errorf("dsn with the password file: %q %v", dsn, err)
	}
}

// TestEveryProblemIsNamedWithItsSourceFieldAndLine checks that one
// validation pass reports every problem of a file, one sentence each,
// as the golden file lists them.
func TestEveryProblemIsNamedWithItsSourceFieldAndLine(t *testing.T) {
	path := withSecrets(t, "testdata/bad/every-problem.yaml", map[string]os.FileMode{"keys/open.pem": 0o644})
	_, err := Load(path)
	if err == nil {
		t.Fatal("no error")
	}
	got := strings.ReplaceAll(err.Error(), filepath.Dir(path), "DIR") + "\n"
	golden := "testdata/bad/every-problem.golden"
	if *update {
		os.WriteFile(golden, []byte(got), 0o644)
	}
	want, _ := os.ReadFile(golden)
	if got != string(want) {
		t.Errorf("problems:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(got, "hemmelig") {
		t.Error("a message shows the DSN's password")
	}
}

func TestSmallFileProblems(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"empty", "", "is empty"},
		{"not YAML", "sources: [", "is not valid YAML"},
		{"a list at the top", "- name: x", "line 1: must be a mapping"},
		{"no sources", "other: 1", `line 1: "other" is not a setting of the sources file`},
		{"sources not a list", "sources: {}", "line 1: sources must be a list"},
		{"a source not a mapping", "sources: [x]", "line 1: sources must list sources as mappings"},
		{"no source", "sources: []", "line 1: sources lists no source"},
		{"a nested dataset", "sources:\n  - name: x\n    kind: filedrop\n    folder: y\n    datasets: [care, [growth]]", `line 5: source "x": datasets must list dataset names`},
		{"a name that is a list", "sources:\n  - name: [x]\n    kind: filedrop", "line 2: name must be a text"},
		{"a DSN pgx cannot read", "sources:\n  - name: x\n    kind: sql\n    dsn: postgres://h:99999/d\n    datasets: {care: SELECT 1}", `line 4: source "x": dsn cannot be used: SQL replica: the DSN is not a PostgreSQL connection string: invalid port`},
		{"no name", "sources:\n  - kind: filedrop\n    folder: x\n    datasets: [care]", "line 2: name is missing"},
		{"no kind", "sources:\n  - name: x", `line 2: source "x": kind is missing`},
		{"typo suggests", "sources:\n  - name: x\n    kind: filedrop\n    foldr: y\n    datasets: [care]", `line 4: source "x": "foldr" is not a field of a source (did you mean "folder"?)`},
		{"sql datasets as a list", "sources:\n  - name: x\n    kind: sql\n    dsn: postgres://h/d\n    datasets: [care]", `line 5: source "x": datasets of an sql source must map each dataset to its query`},
		{"dsn and dsn_env", "sources:\n  - name: x\n    kind: sql\n    dsn: postgres://h/d\n    dsn_env: HOME\n    datasets: {care: SELECT 1}", `line 5: source "x": dsn_env and dsn are both given`},
		{"key=value DSN with password", "sources:\n  - name: x\n    kind: sql\n    dsn: host=h password=p\n    datasets: {care: SELECT 1}", `dsn holds a password`},
		{"schedule zone", "sources:\n  - name: x\n    kind: filedrop\n    folder: y\n    datasets: [care]\n    schedule: {every: 1h, zone: Mars/Olympus}", `line 6: source "x": schedule.zone "Mars/Olympus" is not a time zone`},
		{"key not a PEM file", "sources:\n  - name: x\n    kind: fhir\n    base_url: https://f/fhir\n    client_id: c\n    key_id: k\n    private_key_file: " + notPEM(t) + "\n    datasets: [care]", `line 7: source "x": private_key_file cannot be used: FHIR client key`},
		{"secret file missing", "sources:\n  - name: x\n    kind: fhir\n    base_url: https://f/fhir\n    client_id: c\n    private_key_file: /nonexistent/key.pem\n    datasets: [care]", `line 6: source "x": private_key_file /nonexistent/key.pem cannot be read`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), "/etc/sources.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "/etc/sources.yaml: ") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func notPEM(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "key.pem")
	os.WriteFile(p, []byte("not a key"), 0o600)
	return p
}

func TestLocationNeverShowsCredentials(t *testing.T) {
	t.Setenv("FOLKEKOMMUNE_TEST_DSN", "postgres://broker:hemmelig@db.example:5433/rapport?sslmode=require")
	for _, s := range []*Source{
		{Kind: SQL, DSNEnv: "FOLKEKOMMUNE_TEST_DSN"},
		{Kind: SQL, DSN: "host=db.example port=5433 user=broker password=hemmelig dbname=rapport"},
	} {
		loc := s.Location()
		if strings.Contains(loc, "hemmelig") || strings.Contains(loc, "broker") || !strings.Contains(loc, "db.example") {
			t.Errorf("location %q", loc)
		}
	}
}

func FuzzParse(f *testing.F) {
	b, _ := os.ReadFile("testdata/sources.yaml")
	f.Add(string(b))
	b, _ = os.ReadFile("testdata/bad/every-problem.yaml")
	f.Add(string(b))
	f.Fuzz(func(t *testing.T, s string) {
		file, err := Parse([]byte(s), "fuzz.yaml")
		if err == nil {
			for _, src := range file.Sources {
				if src.Name == "" || src.Kind == "" || len(src.Datasets) == 0 {
					t.Fatalf("accepted an incomplete source %+v", src)
				}
			}
		}
	})
}
