package indicators

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"sync"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
	"github.com/kunnskapskommunen/folkekommune/broker/cube"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

// Comparisons of a unit with the cluster.
const (
	Better       = "better"
	Worse        = "worse"
	NoDifference = "no_difference"
	NotTestable  = "not_testable"
)

// StatusMissing marks a value whose source data are missing for the
// period: it is reported as missing, never as zero, and carries no numbers.
const StatusMissing cube.Status = "missing"

// UnknownDistrict is the geo code of Bergen residents whose district is
// not known, so that Bergen still equals the sum of its districts. It is
// the catalogue's code, so indicators and requested tables name it alike.
const UnknownDistrict = catalog.UnknownDistrict

// Options choose what Compute computes.
type Options struct {
	// ExtractID is the extract version the results belong to; 0 means the
	// latest loaded extract (or 0 if the database has none, as in tests
	// that insert rows directly).
	ExtractID int64
	// FromYear and ToYear bound the periods; zero means the ten years
	// ending with the latest year that has any event.
	FromYear, ToYear int
	// Progress, if set, is called after each indicator.
	Progress func(done, total int, id string)
}

// Value is one computed indicator value.
type Value struct {
	Period      string
	Geo         string
	Sex         string
	Numerator   int64
	Denominator int64
	Crude       float64 // in the definition's unit; NaN when not computable
	Std         float64 // NaN unless standardised
	Lower       float64 // 95 % interval of the main value
	Upper       float64
	Comparison  string
	Status      cube.Status
}

// Main is the value the indicator reports: the standardised rate when
// the definition standardises, the crude rate otherwise.
func (v *Value) Main() float64 {
	if !math.IsNaN(v.Std) {
		return v.Std
	}
	return v.Crude
}

// Result is one indicator computed on one extract.
type Result struct {
	Definition *Definition
	ExtractID  int64
	Periods    []string // in order
	Missing    []string // periods whose source data are missing
	Values     []Value  // by period, then geo, then sex, in Geography()/Sexes() order
	// Time spent counting in DuckDB, in disclosure control and storing.
	CountTime, ProtectTime, StoreTime time.Duration
}

// Geography is the geo dimension of every indicator table: the cluster,
// its municipalities, and Bergen's districts under Bergen.
func Geography() []cube.Category {
	out := []cube.Category{{Code: cube.Total, Label: cube.Label{NB: "Kunnskapskommunen Helse Omsorg Vest", EN: "Kunnskapskommunen Helse Omsorg Vest (all nine)"}}}
	for _, m := range catalog.Municipalities {
		out = append(out, cube.Category{Code: m.Code, Label: cube.Label{NB: m.Name, EN: m.Name}, Parent: cube.Total})
	}
	for _, d := range catalog.Districts {
		out = append(out, cube.Category{Code: d.Code, Label: cube.Label{NB: d.Name, EN: d.Name}, Parent: catalog.BergenCode})
	}
	return out
}

// Sexes is the sex dimension: both sexes, then males and females.
func Sexes() []cube.Category {
	return []cube.Category{
		{Code: cube.Total, Label: cube.Label{NB: "Begge kjønn", EN: "Both sexes"}},
		{Code: "M", Label: cube.Label{NB: "Menn", EN: "Males"}, Parent: cube.Total},
		{Code: "F", Label: cube.Label{NB: "Kvinner", EN: "Females"}, Parent: cube.Total},
	}
}

// strata holds, for one geo unit and year, numerator and denominator by
// sex (0 = M, 1 = F) and age band.
type strata [2][Bands]struct{ num, den int64 }

func (s *strata) add(o *strata) {
	for x := range s {
		for b := range s[x] {
			s[x][b].num += o[x][b].num
			s[x][b].den += o[x][b].den
		}
	}
}

// Compute computes every definition on the database's current extract and
// stores the results under the extract version, replacing earlier results
// for the same version. A definition that fails to compute does not stop
// the others; the error lists every failure.
func Compute(ctx context.Context, db *store.DB, defs []*Definition, opt Options) ([]*Result, error) {
	if opt.ExtractID == 0 {
		var id sql.NullInt64
		if err := db.QueryRowContext(ctx, `SELECT max(id) FROM extract WHERE status = 'loaded'`).Scan(&id); err != nil {
			return nil, fmt.Errorf("find the latest extract: %w", err)
		}
		opt.ExtractID = id.Int64
	}
	if opt.ToYear == 0 {
		var last sql.NullInt64
		if err := db.QueryRowContext(ctx, lastYearQuery).Scan(&last); err != nil {
			return nil, fmt.Errorf("find the latest year with events: %w", err)
		}
		if !last.Valid {
			return nil, fmt.Errorf("the database holds no events: pull an extract first")
		}
		opt.ToYear = int(last.Int64)
	}
	if opt.FromYear == 0 {
		opt.FromYear = opt.ToYear - 9
	}
	if opt.FromYear > opt.ToYear {
		return nil, fmt.Errorf("years: from %d is after to %d", opt.FromYear, opt.ToYear)
	}
	// One connection for the whole computation: it holds the temporary
	// person_year table every indicator reads.
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("compute indicators: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, personYearSQL, opt.FromYear-2, opt.ToYear, opt.ToYear); err != nil {
		return nil, fmt.Errorf("place the population in years %d–%d: %w", opt.FromYear-2, opt.ToYear, err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS person_year`)
	c := &computation{conn: conn, opt: opt, coverage: map[string]map[int]bool{}}
	var results []*Result
	var errs []error
	for i, d := range defs {
		r, err := c.indicator(ctx, d)
		if err != nil {
			if ctx.Err() != nil {
				return results, ctx.Err()
			}
			errs = append(errs, fmt.Errorf("indicator %s: %w", d.ID, err))
		} else {
			results = append(results, r)
		}
		if opt.Progress != nil {
			opt.Progress(i+1, len(defs), d.ID)
		}
	}
	return results, errors.Join(errs...)
}

type computation struct {
	conn     *sql.Conn
	opt      Options
	coverage map[string]map[int]bool // dataset/period → covered years
}

// covered lists the years (from two before the first period) in which a
// dataset holds data; cached per dataset and period kind.
func (c *computation) covered(ctx context.Context, dataset, period string) (map[int]bool, error) {
	key := dataset + "/" + period
	if cov, ok := c.coverage[key]; ok {
		return cov, nil
	}
	q, args := coverageQuery(dataset, period, c.opt.FromYear-2, c.opt.ToYear)
	rows, err := c.conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find the years %s covers: %w", dataset, err)
	}
	defer rows.Close()
	cov := map[int]bool{}
	for rows.Next() {
		var y int
		if err := rows.Scan(&y); err != nil {
			return nil, err
		}
		cov[y] = true
	}
	c.coverage[key] = cov
	return cov, rows.Err()
}

func (c *computation) indicator(ctx context.Context, d *Definition) (*Result, error) {
	from, to := c.opt.FromYear, c.opt.ToYear
	window := 1
	if d.Smoothing == SmoothingMA3 {
		window = 3
	}
	first := from - window + 1
	cov, err := c.covered(ctx, d.Source, d.Period)
	if err != nil {
		return nil, err
	}
	if d.Source != "population" {
		// The population register must cover the year too.
		pop, err := c.covered(ctx, "population", d.Period)
		if err != nil {
			return nil, err
		}
		both := map[int]bool{}
		for y := range cov {
			both[y] = pop[y]
		}
		cov = both
	}

	started := time.Now()
	q, args := strataQuery(d, first, to)
	rows, err := c.conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("count: %w", err)
	}
	// byUnit[year][geo] are the strata of each geo unit.
	byUnit := map[int]map[string]*strata{}
	unit := func(y int, geo string) *strata {
		m := byUnit[y]
		if m == nil {
			m = map[string]*strata{}
			byUnit[y] = m
		}
		s := m[geo]
		if s == nil {
			s = &strata{}
			m[geo] = s
		}
		return s
	}
	unknownDistrict := false
	for rows.Next() {
		var (
			year, bnd int
			muni, sex string
			district  sql.NullString
			den       int64
			num       sql.NullInt64
		)
		if err := rows.Scan(&year, &muni, &district, &sex, &bnd, &den, &num); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read counts: %w", err)
		}
		if _, ok := catalog.MunicipalityByCode(muni); !ok {
			continue // outside the cluster: not part of any unit
		}
		x := 0
		if sex == "F" {
			x = 1
		}
		add := func(geo string) {
			s := unit(year, geo)
			s[x][bnd].num += num.Int64
			s[x][bnd].den += den
		}
		add(muni)
		add(cube.Total)
		if muni == catalog.BergenCode {
			if _, ok := catalog.DistrictByCode(district.String); ok {
				add(district.String)
			} else {
				unknownDistrict = true
				add(UnknownDistrict)
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read counts: %w", err)
	}

	countTime := time.Since(started)
	geos := Geography()
	if unknownDistrict {
		geos = append(geos, unknownDistrictCategory())
	}
	res := &Result{Definition: d, ExtractID: c.opt.ExtractID, CountTime: countTime}
	mult := 100.0
	if d.Unit == UnitPer1000 {
		mult = 1000
	}
	var weights [Bands]float64
	if d.Standardise != StandardiseNone {
		weights = bandWeights(d)
	}
	var toProtect [][2]int // spans of res.Values, one per period
	for y := from; y <= to; y++ {
		period := strconv.Itoa(y)
		missing := false
		for w := y - window + 1; w <= y; w++ {
			missing = missing || !cov[w]
		}
		if window > 1 {
			period = fmt.Sprintf("%d-%d", y-window+1, y)
		}
		res.Periods = append(res.Periods, period)
		if missing {
			res.Missing = append(res.Missing, period)
		}
		start := len(res.Values)
		for _, g := range geos {
			var pooled strata
			for w := y - window + 1; w <= y; w++ {
				if s := byUnit[w][g.Code]; s != nil {
					pooled.add(s)
				}
			}
			for _, sx := range Sexes() {
				v := Value{Period: period, Geo: g.Code, Sex: sx.Code}
				if missing {
					v.Crude, v.Std, v.Lower, v.Upper = math.NaN(), math.NaN(), math.NaN(), math.NaN()
					v.Comparison, v.Status = NotTestable, StatusMissing
				} else {
					v.rates(d, &pooled, weights, mult)
				}
				res.Values = append(res.Values, v)
			}
		}
		if !missing {
			compare(d, res.Values[start:])
			toProtect = append(toProtect, [2]int{start, len(res.Values)})
		}
	}
	// Periods are protected independently, so they run in parallel: the
	// LP audit, not DuckDB, dominates small tables.
	started = time.Now()
	errs := make([]error, len(toProtect))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, span := range toProtect {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			vals := res.Values[span[0]:span[1]]
			if err := protectPeriod(ctx, d, geos, vals); err != nil {
				errs[i] = fmt.Errorf("protect %s: %w", vals[0].Period, err)
			}
		}()
	}
	wg.Wait()
	res.ProtectTime = time.Since(started)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	started = time.Now()
	if err := c.store(ctx, res); err != nil {
		return nil, err
	}
	res.StoreTime = time.Since(started)
	return res, nil
}

// bandWeights are the standard population's shares of the bands the age
// range covers, summing to 1.
func bandWeights(d *Definition) [Bands]float64 {
	std := standards[d.Standardise]
	var w [Bands]float64
	var sum float64
	hi := Bands - 1
	if d.Age.Max != nil {
		hi = band(*d.Age.Max)
	}
	for b := band(d.Age.Min); b <= hi; b++ {
		w[b] = std[b]
		sum += std[b]
	}
	for b := range w {
		w[b] /= sum
	}
	return w
}

// rates fills the numbers, rates and interval of v from the pooled strata.
func (v *Value) rates(d *Definition, s *strata, weights [Bands]float64, mult float64) {
	sexes := []int{0, 1}
	switch v.Sex {
	case "M":
		sexes = []int{0}
	case "F":
		sexes = []int{1}
	}
	var strata []stratum
	for _, x := range sexes {
		for b := 0; b < Bands; b++ {
			v.Numerator += s[x][b].num
			v.Denominator += s[x][b].den
			// Both sexes together: each sex gets half the standard population.
			strata = append(strata, stratum{num: float64(s[x][b].num), den: float64(s[x][b].den), weight: weights[b] / float64(len(sexes))})
		}
	}
	v.Crude, v.Std, v.Lower, v.Upper = math.NaN(), math.NaN(), math.NaN(), math.NaN()
	if v.Denominator > 0 {
		n, dd := float64(v.Numerator), float64(v.Denominator)
		v.Crude = n / dd * mult
		var lo, hi float64
		if d.Count == CountEvents {
			lo, hi = poissonExact(n, dd)
		} else {
			lo, hi = wilson(n, dd)
		}
		v.Lower, v.Upper = lo*mult, hi*mult
	}
	if d.Standardise != StandardiseNone && v.Denominator > 0 {
		r, lo, hi := dsr(strata)
		v.Std, v.Lower, v.Upper = r*mult, lo*mult, hi*mult
	}
	v.Status = cube.Published
	// An empty unit (no population) discloses nobody and stays published
	// with its rate undefined.
	if (v.Numerator > 0 && v.Numerator < int64(d.Publish.MinNumerator)) || (v.Denominator > 0 && v.Denominator < int64(d.Publish.MinDenominator)) {
		v.Status = cube.Primary
	}
}

// compare flags each unit against the cluster of the same period and sex,
// as FHI's profiles do: significantly different when the unit's 95 %
// interval does not contain the cluster's value.
func compare(d *Definition, vals []Value) {
	ref := map[string]float64{}
	for _, v := range vals {
		if v.Geo == cube.Total {
			ref[v.Sex] = v.Main()
		}
	}
	for i := range vals {
		v := &vals[i]
		r := ref[v.Sex]
		switch {
		case v.Geo == cube.Total || math.IsNaN(r) || math.IsNaN(v.Main()) || math.IsNaN(v.Lower) || math.IsNaN(v.Upper):
			v.Comparison = NotTestable
		case v.Lower > r:
			v.Comparison = map[bool]string{true: Better, false: Worse}[d.HigherIs == "better"]
		case v.Upper < r:
			v.Comparison = map[bool]string{true: Worse, false: Better}[d.HigherIs == "better"]
		default:
			v.Comparison = NoDifference
		}
	}
}

// store replaces the indicator's results for the extract version in one
// transaction.
func (c *computation) store(ctx context.Context, r *Result) error {
	conn := c.conn
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("store results: %w", err)
	}
	err := func() error {
		for _, q := range []string{`DELETE FROM indicator_value WHERE extract_id = ? AND indicator = ?`, `DELETE FROM indicator_run WHERE extract_id = ? AND indicator = ?`} {
			if _, err := conn.ExecContext(ctx, q, r.ExtractID, r.Definition.ID); err != nil {
				return err
			}
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO indicator_run VALUES (?, ?, ?, ?, ?, ?)`,
			r.ExtractID, r.Definition.ID, r.Definition.SHA256, time.Now().UTC(), r.Periods[0], r.Periods[len(r.Periods)-1]); err != nil {
			return err
		}
		return appendRows(ctx, conn, "indicator_value", func(a *duckdb.Appender) error {
			for _, v := range r.Values {
				var num, den any
				if v.Status != StatusMissing {
					num, den = v.Numerator, v.Denominator
				}
				if err := a.AppendRow(int32(r.ExtractID), r.Definition.ID, v.Period, v.Geo, v.Sex, num, den,
					nullable(v.Crude), nullable(v.Std), nullable(v.Lower), nullable(v.Upper), v.Comparison, string(v.Status)); err != nil {
					return err
				}
			}
			return nil
		})
	}()
	if err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return fmt.Errorf("store results of %s: %w", r.Definition.ID, err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("store results of %s: %w", r.Definition.ID, err)
	}
	return nil
}

func nullable(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return f
}

// appendRows bulk-loads table on conn (inside its open transaction) with a
// DuckDB appender.
func appendRows(ctx context.Context, conn *sql.Conn, table string, fn func(a *duckdb.Appender) error) error {
	return conn.Raw(func(driverConn any) error {
		dc, ok := driverConn.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("appender on %s: connection is %T, not DuckDB", table, driverConn)
		}
		a, err := duckdb.NewAppender(dc, "", "", table)
		if err != nil {
			return fmt.Errorf("appender on %s: %w", table, err)
		}
		if err := fn(a); err != nil {
			a.Close()
			return err
		}
		if err := a.CloseWithCancel(ctx); err != nil {
			return fmt.Errorf("flush appender on %s: %w", table, err)
		}
		return nil
	})
}

// unknownDistrictCategory is Bergen's "district unknown", under Bergen.
func unknownDistrictCategory() cube.Category {
	return cube.Category{Code: UnknownDistrict, Label: cube.Label{NB: "Bergen, ukjent bydel", EN: "Bergen, district unknown"}, Parent: catalog.BergenCode}
}
