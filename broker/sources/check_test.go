package sources

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/extract"
	"github.com/kunnskapskommunen/folkekommune/broker/synth"
)

func TestCheckReachesEachKindOfSourceWithoutPulling(t *testing.T) {
	dir := t.TempDir()
	keyPEM := testKeyPEM(t)
	os.WriteFile(filepath.Join(dir, "client.pem"), keyPEM, 0o600)
	signer, err := extract.LoadFHIRKey(filepath.Join(dir, "client.pem"))
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := extract.FHIRPublicJWKS(signer, "broker-1")
	if err != nil {
		t.Fatal(err)
	}
	fhir := synth.NewFHIRServer(t.TempDir(), time.Now())
	if err := fhir.RegisterClient("folkekommune", jwks); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(fhir)
	defer hs.Close()
	os.MkdirAll(filepath.Join(dir, "drop", "iplos"), 0o755)
	os.WriteFile(filepath.Join(dir, "drop", "iplos", "vedtak.csv"), []byte("header\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "sources.yaml"), []byte(`sources:
  - {name: drop, kind: filedrop, folder: drop, datasets: [care]}
  - {name: drop-missing-file, kind: filedrop, folder: drop, datasets: [care, gp_contact]}
  - {name: ehr, kind: fhir, base_url: `+hs.URL+`, client_id: folkekommune, key_id: broker-1, private_key_file: client.pem, datasets: [growth]}
  - {name: ehr-stranger, kind: fhir, base_url: `+hs.URL+`, client_id: stranger, key_id: broker-1, private_key_file: client.pem, datasets: [growth]}
`), 0o644)
	f, err := Load(filepath.Join(dir, "sources.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1 files", "has no kuhr/kontakter.csv or kuhr/kontakter.parquet (dataset gp_contact)", "access token granted", `source "ehr-stranger": FHIR token endpoint`}
	for i, s := range f.Sources {
		note, err := Check(context.Background(), s, BuildOptions{SpoolDir: t.TempDir()})
		got := note
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, want[i]) || (err == nil) != (i%2 == 0) {
			t.Errorf("check %s: %q, want %q", s.Name, got, want[i])
		}
	}
	if st := fhir.Stats(); st.KickOffs != 0 || st.Tokens != 1 {
		t.Errorf("the check exported or asked for tokens it should not have: %+v", st)
	}
}
