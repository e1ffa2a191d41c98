package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker"
	"github.com/kunnskapskommunen/folkekommune/broker/extract"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
	"github.com/kunnskapskommunen/folkekommune/broker/synth"
)

// The key every pull of these tests pseudonymises with, so that pulls
// into different data folders give the same pseudonyms.
var killKey = strings.Repeat("5a", 32)

// pulledDigest summarises the pulled tables' data (not which source a row
// came from, nor its record id) of the database in dataDir, opened after
// the pull's process is gone.
func pulledDigest(t *testing.T, db *store.DB) string {
	t.Helper()
	d, err := extract.Digest(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func openDataDB(t *testing.T, dataDir string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(dataDir, broker.DBFile))
	if err != nil {
		t.Fatalf("open the database after the pull: %v", err)
	}
	return db
}

// referenceDigest pulls the file drop into a fresh database: what any
// pull of the same records must leave.
func referenceDigest(t *testing.T, drop string) string {
	t.Helper()
	db, err := store.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key, _ := hex.DecodeString(killKey)
	if _, err := extract.Pull(context.Background(), db, extract.NewFileDrop(drop), extract.Options{Key: key}); err != nil {
		t.Fatal(err)
	}
	return pulledDigest(t, db)
}

// pullKilledAt starts the pull as a process, waits until it pauses at
// stage and kills it with SIGKILL.
func pullKilledAt(t *testing.T, stage string, args ...string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), extract.PauseEnv+"="+stage, extract.KeyEnv+"="+killKey)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	paused := make(chan bool, 1)
	var said strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			said.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "pull paused at "+stage) {
				paused <- true
				io.Copy(io.Discard, stderr)
				return
			}
		}
		paused <- false
	}()
	select {
	case ok := <-paused:
		if !ok {
			cmd.Wait()
			t.Fatalf("the pull ended before %q:\n%s", stage, said.String())
		}
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the pull did not reach %q", stage)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred cleanup runs
		t.Fatal(err)
	}
	cmd.Wait()
}

func pullCmd(t *testing.T, args ...string) run {
	t.Helper()
	t.Setenv(extract.KeyEnv, killKey)
	return runCmd(t, "", args...)
}

func smallDrop(t *testing.T, seed uint64) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := synth.Generate(context.Background(), synth.Options{Out: dir, Seed: seed, Years: 2}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestAFileDropPullKilledAtAnyStageLeavesThePreviousDataAndTheNextRunLoads(t *testing.T) {
	if testing.Short() {
		t.Skip("runs pulls as processes")
	}
	first, second := smallDrop(t, 31), smallDrop(t, 32)
	want1, want2 := referenceDigest(t, first), referenceDigest(t, second)
	for _, stage := range []string{"raw gp_contact", "merged", "commit"} {
		t.Run("killed at "+stage, func(t *testing.T) {
			data := t.TempDir()
			if r := pullCmd(t, "pull", "--data", data, "--from", first); r.code != 0 {
				t.Fatalf("first pull: %s%s", r.stdout, r.stderr)
			}
			pullKilledAt(t, stage, "pull", "--data", data, "--from", second)

			db := openDataDB(t, data)
			if got := pulledDigest(t, db); got != want1 {
				t.Errorf("after the kill the tables are\n%s\nwant the first extract's\n%s", got, want1)
			}
			var running int
			db.QueryRow(`SELECT count(*) FROM extract WHERE status = 'running'`).Scan(&running)
			db.Close()
			if running != 1 {
				t.Errorf("%d extracts registered as running after the kill, want the killed one", running)
			}

			if r := pullCmd(t, "pull", "--data", data, "--from", second); r.code != 0 || !strings.Contains(r.stdout, "extract 3 loaded") {
				t.Fatalf("the pull after the kill: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			db = openDataDB(t, data)
			defer db.Close()
			if got := pulledDigest(t, db); got != want2 {
				t.Errorf("after the next run the tables are\n%s\nwant the second extract's\n%s", got, want2)
			}
			var status, message string
			if err := db.QueryRow(`SELECT status, message FROM extract WHERE id = 2`).Scan(&status, &message); err != nil {
				t.Fatal(err)
			}
			if status != "failed" || !strings.Contains(message, "interrupted") {
				t.Errorf("the killed pull is registered %s (%q), want failed as interrupted", status, message)
			}
		})
	}
}

func TestAFHIRPullKilledMidDownloadResumesItsExport(t *testing.T) {
	if testing.Short() {
		t.Skip("runs pulls as processes")
	}
	drop := smallDrop(t, 33)
	want := referenceDigest(t, drop)
	export := t.TempDir()
	if err := synth.WriteFHIR(context.Background(), drop, export, "2025-01-31T12:00:00Z"); err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := extract.FHIRPublicJWKS(key, "broker-1")
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "broker.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		stage                string
		downloadsAfterResume int // of the six outputs
	}{
		{"download Encounter", 2}, // Patient, Observation, Immunization and Encounter kept
		{"merged", 0},             // every output kept: the export is not asked again
	} {
		t.Run("killed at "+c.stage, func(t *testing.T) {
			srv := synth.NewFHIRServer(export, time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC))
			if err := srv.RegisterClient("folkekommune", jwks); err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewServer(srv)
			defer hs.Close()
			data := t.TempDir()
			args := []string{"pull", "--data", data, "--fhir", hs.URL, "--client-id", "folkekommune", "--key", keyFile, "--key-id", "broker-1"}
			pullKilledAt(t, c.stage, args...)
			killed := srv.Stats()

			r := pullCmd(t, args...)
			if r.code != 0 || !strings.Contains(r.stdout, " loaded in ") {
				t.Fatalf("the pull after the kill: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			st := srv.Stats()
			if st.KickOffs != 1 {
				t.Errorf("%d export kick-offs, want the one export resumed", st.KickOffs)
			}
			if got := st.Downloads - killed.Downloads; got != c.downloadsAfterResume {
				t.Errorf("the resumed pull downloaded %d outputs, want %d", got, c.downloadsAfterResume)
			}
			db := openDataDB(t, data)
			defer db.Close()
			if got := pulledDigest(t, db); got != want {
				t.Errorf("after the resumed pull the tables are\n%s\nwant the file drop's\n%s", got, want)
			}
			entries, _ := os.ReadDir(filepath.Join(data, "spool", ".pull"))
			if len(entries) != 0 {
				t.Errorf("the spool keeps %d files after the pull loaded", len(entries))
			}
		})
	}
}
