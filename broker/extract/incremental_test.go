package extract

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/fnr"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
	"github.com/kunnskapskommunen/folkekommune/broker/synth"
)

// dataDigest digests the pulled tables' data columns (not which source
// a row came from, nor its record id), for comparing pulls through
// different connectors.
func dataDigest(t *testing.T, db *store.DB) string {
	t.Helper()
	d, err := Digest(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// export is a FHIR export on disk that a test changes between pulls, as
// a clinical system's data change: resources edited in place, added or
// withdrawn, each change stamped in meta.lastUpdated.
type export struct {
	t   *testing.T
	dir string
}

func (e export) path(typ string) string { return filepath.Join(e.dir, typ+".ndjson") }

func (e export) resources(typ string) []map[string]any {
	e.t.Helper()
	b, err := os.ReadFile(e.path(typ))
	if err != nil {
		e.t.Fatal(err)
	}
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, m)
	}
}

func (e export) write(typ string, rs []map[string]any) {
	e.t.Helper()
	var b bytes.Buffer
	for _, r := range rs {
		line, err := json.Marshal(r)
		if err != nil {
			e.t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(e.path(typ), b.Bytes(), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// edit changes the resource of typ with id by fn, stamped at, and returns
// the changed resource.
func (e export) edit(typ, id string, at time.Time, fn func(r map[string]any)) map[string]any {
	e.t.Helper()
	rs := e.resources(typ)
	for _, r := range rs {
		if r["id"] == id {
			fn(r)
			r["meta"] = map[string]any{"lastUpdated": at.Format(time.RFC3339)}
			e.write(typ, rs)
			return r
		}
	}
	e.t.Fatalf("no %s/%s in the export", typ, id)
	return nil
}

// add appends a resource of typ made from a copy of the resource with id
// like, changed by fn, stamped at.
func (e export) add(typ, like, id string, at time.Time, fn func(r map[string]any)) {
	e.t.Helper()
	rs := e.resources(typ)
	for _, r := range rs {
		if r["id"] == like {
			b, _ := json.Marshal(r)
			var c map[string]any
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			dec.Decode(&c)
			c["id"] = id
			c["meta"] = map[string]any{"lastUpdated": at.Format(time.RFC3339)}
			fn(c)
			e.write(typ, append(rs, c))
			return
		}
	}
	e.t.Fatalf("no %s/%s to copy", typ, like)
}

// remove takes the resource typ/id out of the export.
func (e export) remove(typ, id string) {
	e.t.Helper()
	rs := e.resources(typ)
	for i, r := range rs {
		if r["id"] == id {
			e.write(typ, append(rs[:i], rs[i+1:]...))
			return
		}
	}
	e.t.Fatalf("no %s/%s to remove", typ, id)
}

// conditionOf returns the id of the Condition of the Encounter with id.
func (e export) conditionOf(enc string) string {
	for _, c := range e.resources("Condition") {
		if ref, _ := c["encounter"].(map[string]any); ref != nil && ref["reference"] == "Encounter/"+enc {
			return c["id"].(string)
		}
	}
	e.t.Fatalf("Encounter/%s has no Condition", enc)
	return ""
}

// newIdentity returns a synthetic fødselsnummer no Patient of the export
// has.
func (e export) newIdentity(birth time.Time, male bool) string {
	e.t.Helper()
	taken := map[string]bool{}
	for _, p := range e.resources("Patient") {
		for _, id := range p["identifier"].([]any) {
			taken[id.(map[string]any)["value"].(string)] = true
		}
	}
	syn := fnr.NewSynthesizer()
	for {
		n, err := syn.New(birth, male)
		if err != nil {
			e.t.Fatal(err)
		}
		if !taken[n] {
			return n
		}
	}
}

// incrementalFixture is a small population served by a FHIR test server
// from a folder the test changes, and a source pulling it as "ehr".
type incrementalFixture struct {
	export
	srv  *synth.FHIRServer
	hs   *httptest.Server
	key  *ecdsa.PrivateKey
	jwks []byte
}

func newIncrementalFixture(t *testing.T, seed uint64) *incrementalFixture {
	t.Helper()
	drop, _ := generate(t, synth.Options{Seed: seed, BadShare: -1, Years: 2})
	dir := t.TempDir()
	if err := synth.WriteFHIR(context.Background(), drop, dir, updated.Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	key := mustKey(t)
	jwks, err := FHIRPublicJWKS(key, "broker-1")
	if err != nil {
		t.Fatal(err)
	}
	srv := synth.NewFHIRServer(dir, updated)
	if err := srv.RegisterClient("folkekommune", jwks); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &incrementalFixture{export: export{t, dir}, srv: srv, hs: hs, key: key, jwks: jwks}
}

func (f *incrementalFixture) source(t *testing.T, opt FHIROptions) *FHIRSource {
	t.Helper()
	opt.BaseURL, opt.ClientID, opt.Key, opt.KeyID = f.hs.URL, "folkekommune", f.key, "broker-1"
	if opt.SpoolDir == "" {
		opt.SpoolDir = t.TempDir()
	}
	src, err := NewFHIRSource(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// fullPull is the reference: the export's current state pulled whole
// into a fresh database.
func (f *incrementalFixture) fullPull(t *testing.T) string {
	t.Helper()
	db := openDB(t)
	if _, err := Pull(context.Background(), db, f.source(t, FHIROptions{}), Options{Key: testKey, SourceName: "ehr", Now: pullNow}); err != nil {
		t.Fatal(err)
	}
	return tableDigest(t, db)
}

func pullNow() time.Time { return time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC) }

func TestIncrementalFHIRPullsCountEveryRecordExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a synthetic FHIR export")
	}
	ctx := context.Background()
	f := newIncrementalFixture(t, 83)
	db := openDB(t)
	src := f.source(t, FHIROptions{})
	pull := func(t *testing.T) Result {
		t.Helper()
		res, err := Pull(ctx, db, src, Options{Key: testKey, SourceName: "ehr", Now: pullNow})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	sameAsFull := func(t *testing.T, what string) {
		t.Helper()
		if got, want := tableDigest(t, db), f.fullPull(t); got != want {
			t.Errorf("%s: the tables differ from a full pull of the same state:\nincremental %s\nfull        %s", what, got, want)
		}
	}

	first := pull(t)
	if first.Incremental || first.Mark != updated.Format(time.RFC3339) {
		t.Fatalf("first pull = incremental %v, mark %q; want a full pull marked %s", first.Incremental, first.Mark, updated.Format(time.RFC3339))
	}
	if n := count(t, db, `SELECT count(*) FROM gp_contact WHERE sid = (SELECT sid FROM source_key WHERE name = 'ehr') AND rid LIKE 'enc%'`); n != count(t, db, `SELECT count(*) FROM gp_contact`) || n == 0 {
		t.Fatalf("%d GP contacts carry their Encounter's id, want all", n)
	}

	// Step 1: contacts edited without their diagnoses, a new contact of a
	// Patient that did not change, a new person with a growth check, a
	// move, a vaccination entered in error, a care decision that now fails
	// validation.
	t1 := updated.Add(24 * time.Hour)
	for _, enc := range []string{"enc3", "enc5", "enc8"} {
		f.edit("Encounter", enc, t1, func(r map[string]any) {
			r["type"] = []any{map[string]any{"coding": []any{map[string]any{"system": FHIRSystemContactType, "code": "video"}}}}
		})
	}
	enc9 := f.resources("Encounter")[8]
	f.add("Encounter", enc9["id"].(string), "enc-new-1", t1, func(r map[string]any) {
		r["period"] = map[string]any{"start": "2025-03-04"}
	})
	f.add("Condition", f.conditionOf(enc9["id"].(string)), "con-new-1", t1, func(r map[string]any) {
		r["encounter"] = map[string]any{"reference": "Encounter/enc-new-1"}
		r["code"] = map[string]any{"coding": []any{map[string]any{"system": FHIRSystemICPC2, "code": "R74"}}}
	})
	newborn := f.newIdentity(time.Date(2024, 11, 5, 0, 0, 0, 0, time.UTC), false)
	f.add("Patient", "pat1", "pat-new-1", t1, func(r map[string]any) {
		r["identifier"] = []any{map[string]any{"system": FHIRSystemFNR, "value": newborn}}
		r["gender"], r["birthDate"] = "female", "2024-11-05"
		delete(r, "deceasedDateTime")
		r["address"] = []any{map[string]any{"extension": []any{map[string]any{"url": FHIRExtMunicipality,
			"valueCoding": map[string]any{"system": FHIRSystemMunicipality, "code": "4621"}}}, "period": map[string]any{"start": "2024-11-05"}}}
	})
	f.add("Immunization", "imm1", "imm-new-1", t1, func(r map[string]any) {
		r["patient"] = map[string]any{"reference": "Patient/pat-new-1"}
		r["occurrenceDateTime"] = "2025-04-01"
		r["vaccineCode"] = map[string]any{"coding": []any{map[string]any{"system": FHIRSystemVaccine, "code": "ROTA"}}}
		r["protocolApplied"] = []any{map[string]any{"doseNumberPositiveInt": json.Number("1")}}
	})
	f.edit("Patient", "pat2", t1, func(r map[string]any) {
		addr := r["address"].([]any)
		r["address"] = append(addr, map[string]any{"extension": []any{map[string]any{"url": FHIRExtMunicipality,
			"valueCoding": map[string]any{"system": FHIRSystemMunicipality, "code": "4627"}}}, "period": map[string]any{"start": "2024-01-13"}})
	})
	f.edit("Immunization", "imm2", t1, func(r map[string]any) { r["status"] = "entered-in-error" })
	f.edit("EpisodeOfCare", "epi1", t1, func(r map[string]any) {
		r["type"] = []any{map[string]any{"coding": []any{map[string]any{"system": FHIRSystemCare, "code": "no-such-service"}}}}
	})
	f.srv.SetUpdated(t1)
	before := count(t, db, `SELECT count(*) FROM gp_contact`)
	second := pull(t)
	if !second.Incremental || second.Mark != t1.Format(time.RFC3339) {
		t.Fatalf("second pull = incremental %v, mark %q; want incremental, marked %s", second.Incremental, second.Mark, t1.Format(time.RFC3339))
	}
	if !strings.Contains(f.srv.Stats().LastKickOff, "_since="+url.QueryEscape(updated.Format(time.RFC3339))) {
		t.Errorf("second kick-off %s does not ask for the changes since the first export", f.srv.Stats().LastKickOff)
	}
	if second.RowsRead > 20 {
		t.Errorf("the change set read %d rows, want only the changed resources' (about 12)", second.RowsRead)
	}
	if got := count(t, db, `SELECT count(*) FROM gp_contact`); got != before+1 {
		t.Errorf("%d GP contacts after adding one to %d", got, before)
	}
	if n := count(t, db, `SELECT count(*) FROM quarantine WHERE extract_id = ? AND dataset = 'care' AND reason = 'has an unknown code'`, second.ExtractID); n != 1 {
		t.Errorf("the care decision that now fails is quarantined %d times, want once", n)
	}
	sameAsFull(t, "after added, edited, withdrawn and now failing resources")

	// Step 2: a diagnosis changed with its contact; a Patient's identity
	// corrected is left out (its records keep the person they had).
	t2 := t1.Add(24 * time.Hour)
	f.edit("Encounter", "enc3", t2, func(r map[string]any) { r["period"] = map[string]any{"start": "2025-02-01"} })
	f.edit("Condition", f.conditionOf("enc3"), t2, func(r map[string]any) {
		r["code"] = map[string]any{"coding": []any{map[string]any{"system": FHIRSystemICPC2, "code": "K86"}}}
	})
	f.edit("EpisodeOfCare", "epi1", t2, func(r map[string]any) {
		r["type"] = []any{map[string]any{"coding": []any{map[string]any{"system": FHIRSystemCare, "code": "trygghetsalarm"}}}}
	})
	f.srv.SetUpdated(t2)
	if third := pull(t); !third.Incremental {
		t.Fatalf("third pull was not incremental")
	}
	if n := count(t, db, `SELECT count(*) FROM gp_contact WHERE rid = 'enc3' AND icpc2 = 'K86' AND contact_date = DATE '2025-02-01'`); n != 1 {
		t.Errorf("the contact changed with its diagnosis is there %d times, want once", n)
	}
	sameAsFull(t, "after a diagnosis changed with its contact and a failing record fixed")

	// Deleted resources lose their rows: the server lists them in the
	// change set's deleted outputs.
	t2b := t2.Add(time.Hour)
	con := f.conditionOf("enc5")
	f.remove("Encounter", "enc5")
	f.remove("Condition", con)
	f.remove("Observation", "obs2")
	f.srv.Delete("Encounter", "enc5", t2b)
	f.srv.Delete("Condition", con, t2b)
	f.srv.Delete("Observation", "obs2", t2b)
	f.srv.SetUpdated(t2b)
	if del := pull(t); !del.Incremental || del.RowsRead != 0 {
		t.Errorf("a change set of deletions only = %+v, want incremental with no rows", del)
	}
	if n := count(t, db, `SELECT count(*) FROM gp_contact WHERE rid = 'enc5'`); n != 0 {
		t.Errorf("the deleted Encounter still has %d rows", n)
	}
	sameAsFull(t, "after deletions")
	t2 = t2b

	// Nothing changed: nothing to do.
	if again := pull(t); !again.Unchanged {
		t.Errorf("a pull with no changes = %+v, want unchanged", again)
	}

	// An interrupted incremental pull moves nothing: the next one asks
	// for the same window again and loads it.
	t3 := t2.Add(24 * time.Hour)
	f.edit("Observation", "obs4", t3, func(r map[string]any) { r["effectiveDateTime"] = "2025-01-02" })
	f.add("Encounter", "enc4", "enc-new-2", t3, func(r map[string]any) { r["period"] = map[string]any{"start": "2025-05-05"} })
	f.add("Condition", f.conditionOf("enc4"), "con-new-2", t3, func(r map[string]any) {
		r["encounter"] = map[string]any{"reference": "Encounter/enc-new-2"}
	})
	f.srv.SetUpdated(t3)
	digest := tableDigest(t, db)
	_, err := Pull(ctx, db, src, Options{Key: testKey, SourceName: "ehr", Now: pullNow,
		beforeCommit: func(context.Context, *sql.Tx) error { return errors.New("the broker stopped") }})
	if err == nil {
		t.Fatal("the interrupted pull succeeded")
	}
	if tableDigest(t, db) != digest {
		t.Error("an interrupted incremental pull changed the tables")
	}
	st, err := ReadSourceState(ctx, db, "ehr")
	if err != nil {
		t.Fatal(err)
	}
	if st.Mark != t2.Format(time.RFC3339) || st.LastStatus != "failed" {
		t.Errorf("after the interrupted pull the state is mark %q, last %s; want the mark %s kept", st.Mark, st.LastStatus, t2.Format(time.RFC3339))
	}
	if again := pull(t); !again.Incremental || again.Mark != t3.Format(time.RFC3339) {
		t.Errorf("the pull after the interrupted one = %+v", again)
	}
	if !strings.Contains(f.srv.Stats().LastKickOff, "_since="+url.QueryEscape(t2.Format(time.RFC3339))) {
		t.Errorf("the pull after the interrupted one asked %s, want the same window again", f.srv.Stats().LastKickOff)
	}
	sameAsFull(t, "after an interrupted pull and its retry")

	// Forcing a full pull replaces the source's rows with the same.
	res, err := Pull(ctx, db, src, Options{Key: testKey, SourceName: "ehr", Now: pullNow, Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Incremental {
		t.Error("a forced full pull was incremental")
	}
	sameAsFull(t, "after a forced full pull")
}

func TestSourcesProvidingSomeDatasetsFillTheTablesSideBySide(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a synthetic FHIR export")
	}
	ctx := context.Background()
	f := newIncrementalFixture(t, 87)
	drop := filepath.Join(f.dir, "..", "drop")
	if _, err := synth.Generate(ctx, synth.Options{Out: drop, Seed: 87, BadShare: -1, Years: 2}); err != nil {
		t.Fatal(err)
	}
	whole := openDB(t)
	if _, err := Pull(ctx, whole, NewFileDrop(drop), Options{Key: testKey, Now: pullNow}); err != nil {
		t.Fatal(err)
	}

	db := openDB(t)
	register := Options{Key: testKey, Now: pullNow, SourceName: "register", Datasets: []Dataset{Population, Growth, Vaccination, Care}}
	if _, err := Pull(ctx, db, NewFileDrop(drop), register); err != nil {
		t.Fatal(err)
	}
	ehr := f.source(t, FHIROptions{Datasets: []Dataset{GPContact}})
	res, err := Pull(ctx, db, ehr, Options{Key: testKey, Now: pullNow, SourceName: "ehr"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || res.Files[0].Dataset != GPContact {
		t.Fatalf("the GP contact source loaded %+v, want its one dataset", res.Files)
	}
	if got, want := dataDigest(t, db), dataDigest(t, whole); got != want {
		t.Errorf("two sources side by side:\n%s\none source with everything:\n%s", got, want)
	}
	if n := count(t, db, `SELECT count(*) FROM gp_contact WHERE sid <> (SELECT sid FROM source_key WHERE name = 'ehr')`) + count(t, db, `SELECT count(*) FROM person WHERE sid <> (SELECT sid FROM source_key WHERE name = 'register')`); n != 0 {
		t.Errorf("%d rows owned by the wrong source", n)
	}

	// The register's next pull replaces its rows only.
	contacts := count(t, db, `SELECT count(*) FROM gp_contact`)
	if _, err := Pull(ctx, db, NewFileDrop(drop), Options{Key: testKey, Now: pullNow, SourceName: "register", Datasets: []Dataset{Population}}); err != nil {
		t.Fatal(err)
	}
	if got := count(t, db, `SELECT count(*) FROM gp_contact`); got != contacts {
		t.Errorf("a pull of the register left %d GP contacts of %d", got, contacts)
	}
	if got, want := dataDigest(t, db), dataDigest(t, whole); got != want {
		t.Errorf("after the register pulled its population alone:\n%s\nwant\n%s", got, want)
	}

	// A change set of the GP contact source refers to a Patient it does
	// not carry: the person is found through the source's earlier pull.
	t1 := updated.Add(time.Hour)
	f.add("Encounter", "enc7", "enc-new", t1, func(r map[string]any) { r["period"] = map[string]any{"start": "2025-05-05"} })
	f.add("Condition", f.conditionOf("enc7"), "con-new", t1, func(r map[string]any) {
		r["encounter"] = map[string]any{"reference": "Encounter/enc-new"}
	})
	f.srv.SetUpdated(t1)
	res, err = Pull(ctx, db, ehr, Options{Key: testKey, Now: pullNow, SourceName: "ehr"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Incremental || res.Loaded != 1 {
		t.Fatalf("the change set = %+v, want one row loaded incrementally", res)
	}
	if n := count(t, db, `SELECT count(*) FROM gp_contact a JOIN gp_contact b ON a.pid = b.pid WHERE a.rid = 'enc-new' AND b.rid = 'enc7'`); n != 1 {
		t.Errorf("the new contact is not placed on the person of the Patient's earlier contact")
	}

	for _, c := range []struct {
		name string
		src  Source
		opt  Options
		want string
	}{
		{"a second source of the population is refused", NewFileDrop(drop), Options{Key: testKey, SourceName: "other"},
			`the population is already provided by source "register"`},
		{"a source with none of the datasets asked for is refused", ehr, Options{Key: testKey, SourceName: "ehr", Datasets: []Dataset{Care}},
			"provides no dataset to pull"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := tableDigest(t, db)
			_, err := Pull(ctx, db, c.src, c.opt)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Pull error = %v, want one containing %q", err, c.want)
			}
			if tableDigest(t, db) != before {
				t.Error("a refused pull changed the tables")
			}
		})
	}
}

func TestAResumableDownloadIsReusedAfterAStopButNotAfterARefusal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a synthetic FHIR export")
	}
	f := newIncrementalFixture(t, 89)
	spool := t.TempDir()
	src := f.source(t, FHIROptions{SpoolDir: spool, Resume: true})
	db := openDB(t)
	opt := Options{Key: testKey, SourceName: "ehr", Now: pullNow}

	refused := opt
	refused.beforeCommit = func(context.Context, *sql.Tx) error { return errors.New("refused") }
	if _, err := Pull(context.Background(), db, src, refused); err == nil {
		t.Fatal("the refused pull loaded")
	}
	if entries, _ := os.ReadDir(spool); len(entries) != 0 {
		t.Errorf("a refused pull left %d files in the spool", len(entries))
	}

	// The broker stops during the load: the next run loads the spooled
	// export without asking the server again.
	ctx, cancel := context.WithCancel(context.Background())
	stopped := opt
	stopped.beforeCommit = func(context.Context, *sql.Tx) error { cancel(); return ctx.Err() }
	if _, err := Pull(ctx, db, src, stopped); !errors.Is(err, context.Canceled) {
		t.Fatalf("the stopped pull: %v", err)
	}
	kickOffs := f.srv.Stats().KickOffs
	if kickOffs != 2 {
		t.Errorf("%d kick-offs before the resumed pull, want one for the refused pull and one for the stopped", kickOffs)
	}
	res, err := Pull(context.Background(), db, src, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Unchanged || res.Loaded == 0 {
		t.Fatalf("the resumed pull = %+v", res)
	}
	if got := f.srv.Stats().KickOffs; got != kickOffs {
		t.Errorf("the resumed pull kicked off %d new exports, want none", got-kickOffs)
	}
	if entries, _ := os.ReadDir(spool); len(entries) != 0 {
		t.Errorf("the loaded pull left %d files in the spool", len(entries))
	}
}
