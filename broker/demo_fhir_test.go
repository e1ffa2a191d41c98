package broker

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kunnskapskommunen/folkekommune/broker/extract"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
	"github.com/kunnskapskommunen/folkekommune/broker/synth"
)

func pulledData(t *testing.T, db *store.DB) string {
	t.Helper()
	d, err := extract.Digest(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDemoWithTheFHIRSourcePullsThroughBulkDataWhatTheFilesHold(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and pulls the small population")
	}
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	x, err := PrepareData(ctx, db, dir, DataOptions{Scale: synth.Small, Seed: 9, Source: DemoSourceFHIR})
	if err != nil {
		t.Fatal(err)
	}
	var connector, status string
	if err := db.QueryRow(`SELECT connector, status FROM extract WHERE id = ?`, x).Scan(&connector, &status); err != nil {
		t.Fatal(err)
	}
	if connector != "fhir" || status != "loaded" {
		t.Fatalf("the demo's extract %d came by %s and is %s, want loaded over fhir", x, connector, status)
	}
	var runs int
	db.QueryRow(`SELECT count(*) FROM indicator_run WHERE extract_id = ?`, x).Scan(&runs)
	if runs == 0 {
		t.Error("no indicators computed on the FHIR extract")
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "spool", "demo-fhir")); len(entries) != 0 {
		t.Errorf("the FHIR spool keeps %d files after the demo's pull", len(entries))
	}

	// The file drop the export was made from, pulled with the same key,
	// gives the same tables.
	key, err := extract.LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := store.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	if _, err := extract.Pull(ctx, ref, extract.NewFileDrop(filepath.Join(dir, "extract")), extract.Options{Key: key}); err != nil {
		t.Fatal(err)
	}
	if got, want := pulledData(t, db), pulledData(t, ref); got != want {
		t.Errorf("the demo's FHIR pull gave\n%s\nthe file drop\n%s", got, want)
	}

	if _, err := PrepareData(ctx, db, dir, DataOptions{Scale: synth.Small, Source: "carrier-pigeon"}); err != nil {
		t.Fatalf("a prepared data folder is kept whatever the source: %v", err)
	}
	if _, err := PrepareData(ctx, openEmpty(t), t.TempDir(), DataOptions{Scale: synth.Small, Source: "carrier-pigeon"}); err == nil || !strings.Contains(err.Error(), `demo source "carrier-pigeon"`) {
		t.Errorf("an unknown demo source gave %v", err)
	}
}

func openEmpty(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
