// Package synth generates deterministic synthetic extracts of the nine
// municipalities' clinical systems, written as those systems would hand
// them over: one folder per source system, CSV (or Parquet) with the
// systems' own Norwegian column names and codes.
//
// The population is simulated year by year (births, deaths, moves in, out
// and within the cluster) from an age and sex structure close to Norway's,
// and events are drawn for every person-year of residence at rates that
// depend on age, sex, municipality and calendar year, so that indicators
// computed from the extract have differences to show. A configurable share
// of rows is deliberately broken the way real exports break: wrong check
// digits, unknown codes, impossible dates, missing fields, duplicated rows.
//
// The same seed and scale always give byte-identical files.
package synth

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// Scale chooses the size of the synthetic population.
type Scale string

// The scales.
const (
	Small    Scale = "small"    // a few thousand people, for tests
	Cluster  Scale = "cluster"  // the nine municipalities at their real size, about 402 000
	National Scale = "national" // about 5.5 million, for benchmarks
)

// factor scales the municipalities' real populations.
func (s Scale) factor() (float64, error) {
	switch s {
	case Small:
		return 4000.0 / 402200.0, nil
	case Cluster:
		return 1, nil
	case National:
		return 5_500_000.0 / 402200.0, nil
	}
	return 0, fmt.Errorf("unknown scale %q (want small, cluster or national)", s)
}

// Format is the file format of the written extract.
type Format string

// The formats.
const (
	CSV     Format = "csv"
	Parquet Format = "parquet"
)

// Options configure a generation run.
type Options struct {
	Out      string // folder to write into; created if missing
	Seed     uint64
	Scale    Scale
	Format   Format  // csv (default) or parquet
	EndYear  int     // last year with events; default 2024
	Years    int     // number of years with events; default 10
	BadShare float64 // share of rows deliberately broken; default 0.002, negative for none
	// Progress, if set, is called with the fraction of the simulation done.
	Progress func(done float64)
}

func (o *Options) defaults() error {
	if o.Out == "" {
		return fmt.Errorf("no output folder given")
	}
	if o.Scale == "" {
		o.Scale = Small
	}
	if o.Format == "" {
		o.Format = CSV
	}
	if o.Format != CSV && o.Format != Parquet {
		return fmt.Errorf("unknown format %q (want csv or parquet)", o.Format)
	}
	if o.EndYear == 0 {
		o.EndYear = 2024
	}
	if o.Years == 0 {
		o.Years = 10
	}
	if o.Years < 1 || o.Years > 50 {
		return fmt.Errorf("years must be between 1 and 50, got %d", o.Years)
	}
	if o.BadShare == 0 {
		o.BadShare = 0.002
	}
	if o.BadShare < 0 {
		o.BadShare = 0
	}
	if o.BadShare > 0.5 {
		return fmt.Errorf("bad-row share must be at most 0.5, got %g", o.BadShare)
	}
	_, err := o.Scale.factor()
	return err
}

// Summary counts what a run wrote.
type Summary struct {
	Persons int              // distinct persons in the population register extract
	Files   map[string]int64 // rows written per file (relative path), duplicates included
	Broken  map[string]int64 // deliberately broken rows per file, by kind "file/kind"
}

// Files of the extract, relative to the output folder, without extension.
const (
	FilePopulation  = "folkeregister/personer"
	FileGrowth      = "helsestasjon/vekst"
	FileVaccination = "helsestasjon/vaksinasjon"
	FileContacts    = "kuhr/kontakter"
	FileCare        = "iplos/vedtak"
)

// Header of each file, as the source systems name their columns.
var Headers = map[string][]string{
	FilePopulation:  {"fodselsnummer", "fodselsdato", "kjonn", "kommunenummer", "bydel", "innflyttet", "utflyttet", "dodsdato"},
	FileGrowth:      {"fodselsnummer", "kommunenummer", "kontroll", "maledato", "hoyde_cm", "vekt_kg"},
	FileVaccination: {"fodselsnummer", "kommunenummer", "vaksine", "dose", "vaksinasjonsdato"},
	FileContacts:    {"fodselsnummer", "kommunenummer", "kontaktdato", "icpc2", "tjeneste", "kontakttype"},
	FileCare:        {"fodselsnummer", "kommunenummer", "tjeneste", "vedtak_fra", "vedtak_til"},
}

// FileOrder is the files in a stable order.
var FileOrder = []string{FilePopulation, FileGrowth, FileVaccination, FileContacts, FileCare}

// Generate writes a synthetic extract to opt.Out.
func Generate(ctx context.Context, opt Options) (Summary, error) {
	if err := opt.defaults(); err != nil {
		return Summary{}, err
	}
	factor, _ := opt.Scale.factor()
	w, err := newWriters(opt)
	if err != nil {
		return Summary{}, err
	}
	sim := newSimulation(opt, factor, w)
	if err := sim.run(ctx); err != nil {
		w.abort()
		return Summary{}, err
	}
	if err := w.close(); err != nil {
		return Summary{}, err
	}
	if opt.Format == Parquet {
		if err := convertToParquet(ctx, opt.Out); err != nil {
			return Summary{}, err
		}
	}
	return Summary{Persons: len(sim.persons), Files: w.rows, Broken: w.broken}, nil
}

// date helpers: the simulation works in days since 1900-01-01 (int32).
var epoch = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

type day int32

func dayOf(t time.Time) day   { return day(t.Sub(epoch).Hours() / 24) }
func (d day) time() time.Time { return epoch.AddDate(0, 0, int(d)) }
func ymd(y, m, dd int) day    { return dayOf(time.Date(y, time.Month(m), dd, 0, 0, 0, 0, time.UTC)) }

// appendDate writes d as YYYY-MM-DD.
func appendDate(b []byte, d day) []byte {
	t := d.time()
	y, m, dd := t.Date()
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = append(b, byte('0'+int(m)/10), byte('0'+int(m)%10), '-')
	return append(b, byte('0'+dd/10), byte('0'+dd%10))
}

// poisson draws from a Poisson distribution (Knuth for small means,
// normal approximation above 30).
func poisson(r *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 30 {
		n := int(math.Round(mean + math.Sqrt(mean)*r.NormFloat64()))
		if n < 0 {
			return 0
		}
		return n
	}
	l := math.Exp(-mean)
	k, p := 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func mkdirs(out string) error {
	for _, f := range FileOrder {
		if err := os.MkdirAll(filepath.Join(out, filepath.Dir(f)), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(f), err)
		}
	}
	return nil
}
