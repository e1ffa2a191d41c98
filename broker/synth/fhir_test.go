package synth

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

func TestWriteFHIRCarriesEveryRowOnceAndIsDeterministic(t *testing.T) {
	drop := t.TempDir()
	sum, err := Generate(context.Background(), Options{Out: drop, Seed: 5, BadShare: 0.02})
	if err != nil {
		t.Fatal(err)
	}
	a, b := t.TempDir(), t.TempDir()
	for _, out := range []string{a, b} {
		if err := WriteFHIR(context.Background(), drop, out, "2025-01-31T12:00:00Z"); err != nil {
			t.Fatal(err)
		}
	}
	counts := map[string]int64{}
	addresses := int64(0)
	for _, typ := range FHIRTypes {
		x, _ := os.ReadFile(filepath.Join(a, typ+".ndjson"))
		y, _ := os.ReadFile(filepath.Join(b, typ+".ndjson"))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs on the same drop", typ)
		}
		sc := bufio.NewScanner(bytes.NewReader(x))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var r struct {
				ResourceType string
				Address      []json.RawMessage
			}
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.ResourceType != typ {
				t.Fatalf("%s line %q: %v", typ, sc.Text(), err)
			}
			counts[typ]++
			addresses += int64(len(r.Address))
		}
	}
	for typ, file := range map[string]string{"Observation": FileGrowth, "Immunization": FileVaccination, "Encounter": FileContacts, "EpisodeOfCare": FileCare} {
		if counts[typ] != sum.Files[file] {
			t.Errorf("%d %s resources for %d rows of %s", counts[typ], typ, sum.Files[file], file)
		}
	}
	if addresses != sum.Files[FilePopulation] {
		t.Errorf("%d Patient addresses for %d population rows", addresses, sum.Files[FilePopulation])
	}
	if counts["Patient"] < int64(sum.Persons) || counts["Patient"] > int64(sum.Persons)*11/10 {
		t.Errorf("%d Patients for %d persons", counts["Patient"], sum.Persons)
	}
	// Contacts whose ICPC-2 code was blanked have no Condition; none are.
	if counts["Condition"] != counts["Encounter"] {
		t.Errorf("%d Conditions for %d Encounters", counts["Condition"], counts["Encounter"])
	}
}

func TestFHIRServerAuthorisesOnlyValidClientAssertions(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	pub, _ := jwk.Import(key.Public())
	pub.Set(jwk.KeyIDKey, "k1")
	pub.Set(jwk.AlgorithmKey, jwa.ES384())
	set := jwk.NewSet()
	set.AddKey(pub)
	jwks, _ := json.Marshal(set)
	srv := NewFHIRServer(t.TempDir(), time.Now())
	if err := srv.RegisterClient("broker", jwks); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	tokenURL := hs.URL + "/auth/token"
	sign := func(k *ecdsa.PrivateKey, iss, aud string, ttl time.Duration) string {
		tok, _ := jwt.NewBuilder().Issuer(iss).Subject(iss).Audience([]string{aud}).IssuedAt(time.Now()).
			Expiration(time.Now().Add(ttl)).JwtID("j1").Build()
		jk, _ := jwk.Import(k)
		jk.Set(jwk.KeyIDKey, "k1")
		b, err := jwt.Sign(tok, jwt.WithKey(jwa.ES384(), jk))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, c := range []struct {
		name      string
		grant     string
		assertion string
		want      int
	}{
		{"valid assertion", "client_credentials", sign(key, "broker", tokenURL, 4*time.Minute), 200},
		{"wrong audience", "client_credentials", sign(key, "broker", hs.URL+"/other", 4*time.Minute), 400},
		{"expired", "client_credentials", sign(key, "broker", tokenURL, -time.Minute), 400},
		{"lives too long", "client_credentials", sign(key, "broker", tokenURL, time.Hour), 400},
		{"unregistered key", "client_credentials", sign(other, "broker", tokenURL, 4*time.Minute), 400},
		{"unknown client", "client_credentials", sign(key, "stranger", tokenURL, 4*time.Minute), 400},
		{"wrong grant", "password", sign(key, "broker", tokenURL, 4*time.Minute), 400},
		{"not a JWT", "client_credentials", "hello", 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			form := url.Values{"grant_type": {c.grant}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
				"client_assertion": {c.assertion}, "scope": {"system/*.read"}}
			resp, err := http.PostForm(tokenURL, form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				AccessToken string `json:"access_token"`
				Error       string `json:"error"`
			}
			json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != c.want || (c.want == 200) != (body.AccessToken != "") {
				t.Fatalf("status %d, token %q, error %q; want status %d", resp.StatusCode, body.AccessToken, body.Error, c.want)
			}
			if c.want != 200 {
				return
			}
			// The token opens the export; no token does not.
			for _, auth := range []string{"", "Bearer " + body.AccessToken} {
				req, _ := http.NewRequest(http.MethodGet, hs.URL+"/$export?_type=Patient", nil)
				req.Header.Set("Prefer", "respond-async")
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				want := http.StatusUnauthorized
				if auth != "" {
					want = http.StatusAccepted
				}
				if resp.StatusCode != want || (want == 202 && !strings.Contains(resp.Header.Get("Content-Location"), "/status/")) {
					t.Errorf("kick-off with %q: %s, want %d with a status URL", auth, resp.Status, want)
				}
			}
		})
	}
}
