package extract

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var spoolKey = sync.OnceValues(func() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P384(), rand.Reader) })

var updateFHIRGolden = flag.Bool("update-fhir", false, "rewrite testdata/fhir golden files")

// spooled returns a FHIR source whose spool is dir, as if Parts had
// downloaded it there.
func spooled(t testing.TB, dir string) *FHIRSource {
	t.Helper()
	key, err := spoolKey()
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewFHIRSource(FHIROptions{BaseURL: "https://ehr.example/fhir", ClientID: "folkekommune", Key: key})
	if err != nil {
		t.Fatal(err)
	}
	src.spool = dir
	src.Skipped = map[string]int64{}
	return src
}

func readAll(t testing.TB, src *FHIRSource) (string, error) {
	var b strings.Builder
	for _, l := range Layouts {
		fmt.Fprintf(&b, "# %s %s\n", l.Dataset, strings.Join(l.Header, ","))
		err := src.Read(context.Background(), Part{Dataset: l.Dataset}, func(line int64, rec []string) error {
			if len(rec) != len(l.Header) {
				t.Fatalf("%s record has %d fields, want %d", l.Dataset, len(rec), len(l.Header))
			}
			fmt.Fprintf(&b, "%d: %s\n", line, strings.Join(rec, ","))
			return nil
		})
		if err != nil {
			return b.String(), err
		}
	}
	return b.String(), nil
}

// The fixture holds one resource per mapping rule: dateTimes cut to
// dates, metres and grams converted, references by identifier and by
// (absolute) literal reference, references that resolve to nobody,
// unknown code systems carried as "system|code", skipped statuses, an
// Encounter's first Condition, observations that are not growth checks.
func TestFHIRResourcesMapToTheFileDropRecords(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "fhir", "mapping")
	src := spooled(t, dir)
	got, err := readAll(t, src)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join(dir, "records.golden")
	if *updateFHIRGolden {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("records differ from %s:\n%s", golden, got)
	}
	wantSkipped := map[string]int64{"Observation": 2, "Immunization": 1, "Encounter": 1, "Condition": 1}
	for typ, n := range wantSkipped {
		if src.Skipped[typ] != n {
			t.Errorf("%d %s resources skipped, want %d", src.Skipped[typ], typ, n)
		}
	}
}

func TestLoadFHIRKeyAcceptsP384AndRSAAndRefusesOthers(t *testing.T) {
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	pk8 := func(k any) []byte { b, _ := x509.MarshalPKCS8PrivateKey(k); return b }
	sec1, _ := x509.MarshalECPrivateKey(ec384)
	notPEM := filepath.Join(dir, "plain.txt")
	os.WriteFile(notPEM, []byte("not a key"), 0o600)
	for _, c := range []struct {
		name, path, wantErr string
	}{
		{"P-384 in PKCS#8", write("ec.pem", "PRIVATE KEY", pk8(ec384)), ""},
		{"P-384 in SEC 1", write("sec1.pem", "EC PRIVATE KEY", sec1), ""},
		{"RSA in PKCS#1", write("rsa.pem", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), ""},
		{"P-256 is not for ES384", write("p256.pem", "PRIVATE KEY", pk8(ec256)), "want an EC P-384 or RSA key"},
		{"not PEM", notPEM, "is not a PEM file"},
		{"missing", filepath.Join(dir, "none.pem"), "no such file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadFHIRKey(c.path)
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("LoadFHIRKey = %v, want error containing %q", err, c.wantErr)
			}
		})
	}
}

// FuzzFHIRRead feeds arbitrary NDJSON as every output type: Read must
// return records or an error naming the output, never panic.
func FuzzFHIRRead(f *testing.F) {
	for _, typ := range []string{"Patient", "Observation", "Immunization", "Encounter", "Condition", "EpisodeOfCare"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "fhir", "mapping", typ+".ndjson"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"resourceType":"Patient","address":[{"extension":[{"url":"x"}]}]}`))
	f.Add([]byte("{\"resourceType\":\"Encounter\",\"class\":null,\"type\":[{}]}\n{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		for _, typ := range []string{"Patient", "Observation", "Immunization", "Encounter", "Condition", "EpisodeOfCare"} {
			body := strings.ReplaceAll(string(data), `"resourceType":"Patient"`, `"resourceType":"`+typ+`"`)
			if err := os.WriteFile(filepath.Join(dir, typ+".ndjson"), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		src := spooled(t, dir)
		if _, err := readAll(t, src); err != nil && !strings.HasPrefix(err.Error(), "FHIR output ") {
			t.Fatalf("error does not name the output: %v", err)
		}
	})
}

func TestFHIRDecodeErrorsNeverQuoteAnIdentityNumber(t *testing.T) {
	dir := t.TempDir()
	lines := map[string]string{
		"Patient":     `{"resourceType":"Patient","id":"p9","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":01817012345}]}`,
		"Observation": `{"resourceType":"Observation","id":"o9","subject":{"identifier":{"value":["01817012345"]}}}`,
	}
	for _, typ := range []string{"Patient", "Observation", "Immunization", "Encounter", "Condition", "EpisodeOfCare"} {
		os.WriteFile(filepath.Join(dir, typ+".ndjson"), []byte(lines[typ]+"\n"), 0o644)
	}
	for _, ds := range []Dataset{Population, Growth} {
		src := spooled(t, dir)
		if ds == Growth {
			os.WriteFile(filepath.Join(dir, "Patient.ndjson"), nil, 0o644)
		}
		err := src.Read(context.Background(), Part{Dataset: ds}, func(int64, []string) error { return nil })
		if err == nil || !strings.HasPrefix(err.Error(), "FHIR output ") {
			t.Fatalf("%s: error %v, want one naming the output", ds, err)
		}
		if elevenDigits.MatchString(err.Error()) {
			t.Errorf("%s: error quotes an identity number: %v", ds, err)
		}
	}
}
