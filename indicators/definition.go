package indicators

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
	"go.yaml.in/yaml/v3"
)

// Definition is one indicator as its YAML file declares it. The README in
// this folder documents every field with an example.
type Definition struct {
	ID          string       `yaml:"id"`
	Title       Text         `yaml:"title"`
	Description Text         `yaml:"description"`
	Reference   string       `yaml:"reference"` // the FHI or literature definition it follows
	Source      string       `yaml:"source"`    // dataset: population, growth, vaccination, gp_contact, care
	Age         AgeRange     `yaml:"age"`
	Population  []Condition  `yaml:"population"` // denominator: every condition must hold
	Numerator   []Condition  `yaml:"numerator"`  // numerator: population and every condition
	Count       string       `yaml:"count"`      // persons (default) or events
	Unit        string       `yaml:"unit"`       // percent or per_1000
	Period      string       `yaml:"period"`     // calendar_year, school_year or cohort
	HigherIs    string       `yaml:"higher_is"`  // better or worse
	Standardise string       `yaml:"standardise"`
	Smoothing   string       `yaml:"smoothing"` // none or moving_average_3
	Publish     PublishRule  `yaml:"publish"`
	File        string       `yaml:"-"` // where it was loaded from
	SHA256      string       `yaml:"-"` // of the file's bytes, stored with each run
	conds       []*condition // compiled Population then Numerator conditions
}

// Text is a text in Norwegian bokmål and English.
type Text struct {
	NB string `yaml:"nb" json:"nb"`
	EN string `yaml:"en" json:"en"`
}

// AgeRange is an inclusive range of ages in whole years on the period's
// reference date; Max nil means open ("80+").
type AgeRange struct {
	Min int  `yaml:"min"`
	Max *int `yaml:"max"`
}

// String writes the range the way the catalogue writes age bands.
func (a AgeRange) String() string {
	switch {
	case a.Max == nil:
		return fmt.Sprintf("%d+", a.Min)
	case *a.Max == a.Min:
		return fmt.Sprint(a.Min)
	}
	return fmt.Sprintf("%d-%d", a.Min, *a.Max)
}

// PublishRule is the suppression rule: a value whose numerator is above
// zero and below MinNumerator, or whose denominator is above zero and below
// MinDenominator, is withheld (primary), and disclosure control withholds
// what would reveal it (secondary).
type PublishRule struct {
	MinNumerator   int `yaml:"min_numerator"`
	MinDenominator int `yaml:"min_denominator"`
}

// Condition is one per-person predicate: the person has, in the period, at
// least one row of one pulled table that meets every field set. The fields
// are a closed vocabulary; each belongs to one table.
type Condition struct {
	// gp_contact
	ICPC2In      []string `yaml:"icpc2_in"`
	ICPC2Chapter []string `yaml:"icpc2_chapter"`
	Service      string   `yaml:"service"`
	ContactType  []string `yaml:"contact_type"`
	// growth
	GrowthCheck   string   `yaml:"growth_check"`
	ISOBMIAtLeast *float64 `yaml:"iso_bmi_at_least"`
	// vaccination
	Vaccine     string `yaml:"vaccine"`
	MinDoses    int    `yaml:"min_doses"`
	ByAgeMonths int    `yaml:"by_age_months"`
	// care_decision
	CareService []string `yaml:"care_service"`
}

// Names of the vocabulary, used in definitions and in error messages.
const (
	CountPersons = "persons"
	CountEvents  = "events"

	UnitPercent = "percent"
	UnitPer1000 = "per_1000"

	PeriodCalendarYear = "calendar_year"
	PeriodSchoolYear   = "school_year"
	PeriodCohort       = "cohort"

	SmoothingNone = "none"
	SmoothingMA3  = "moving_average_3"

	StandardiseNone = "none"
)

// datasets maps a definition's source to the table it reads.
var datasets = map[string]string{
	"population":  "person",
	"growth":      "growth",
	"vaccination": "vaccination",
	"gp_contact":  "gp_contact",
	"care":        "care_decision",
}

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// LoadError collects the problems of one or more definition files; each
// line names the file and the field.
type LoadError struct{ Problems []string }

func (e *LoadError) Error() string { return strings.Join(e.Problems, "\n") }

// Load reads every *.yaml file of fsys's root. Definitions that are valid
// are returned even when others are refused; err is then a *LoadError
// listing the refused files, so that one bad file does not stop the rest
// from computing.
func Load(fsys fs.FS) ([]*Definition, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list indicator definitions: %w", err)
	}
	sort.Strings(names)
	var defs []*Definition
	var problems []string
	seen := map[string]string{}
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		d, err := Parse(name, b)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if other, dup := seen[d.ID]; dup {
			problems = append(problems, fmt.Sprintf("%s: id: %q is already defined in %s", name, d.ID, other))
			continue
		}
		seen[d.ID] = name
		defs = append(defs, d)
	}
	if len(problems) > 0 {
		return defs, &LoadError{Problems: problems}
	}
	return defs, nil
}

var yamlUnknownField = regexp.MustCompile(`line (\d+): field (\S+) not found in type \S+`)

// Parse decodes and validates one definition file's bytes; name is the
// file name used in error messages.
func Parse(name string, b []byte) (*Definition, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var d Definition
	if err := dec.Decode(&d); err != nil {
		msg := err.Error()
		if m := yamlUnknownField.FindStringSubmatch(msg); m != nil {
			return nil, fmt.Errorf("%s: line %s: unknown field %q (the format allows only the fields in indicators/README.md)", name, m[1], m[2])
		}
		msg = strings.TrimPrefix(strings.ReplaceAll(msg, "\n ", ""), "yaml: ")
		return nil, fmt.Errorf("%s: %s", name, msg)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("%s: holds more than one YAML document; put one indicator in each file", name)
	}
	d.File = name
	sum := sha256.Sum256(b)
	d.SHA256 = hex.EncodeToString(sum[:])
	if err := d.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if want := strings.TrimSuffix(path.Base(name), ".yaml"); d.ID != want {
		return nil, fmt.Errorf("%s: id: %q must match the file name %q", name, d.ID, want)
	}
	return &d, nil
}

// FieldError names the definition field that is wrong.
type FieldError struct {
	Field string // dotted path, e.g. numerator[0].icpc2_in
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// under prefixes the field of a FieldError.
func under(prefix string, err error) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		if fe.Field == "" {
			return &FieldError{Field: prefix, Msg: fe.Msg}
		}
		return &FieldError{Field: prefix + "." + fe.Field, Msg: fe.Msg}
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

func (d *Definition) validate() error {
	if !idPattern.MatchString(d.ID) {
		return fieldErr("id", "%q must be lower-case letters, digits and _ (at most 63)", d.ID)
	}
	for field, s := range map[string]string{"title.nb": d.Title.NB, "title.en": d.Title.EN, "description.nb": d.Description.NB, "description.en": d.Description.EN} {
		if strings.TrimSpace(s) == "" {
			return fieldErr(field, "is required")
		}
	}
	if _, ok := datasets[d.Source]; !ok {
		return fieldErr("source", "unknown dataset %q (want population, growth, vaccination, gp_contact or care)", d.Source)
	}
	if d.Age.Min < 0 || d.Age.Min > 120 {
		return fieldErr("age.min", "%d is outside 0–120", d.Age.Min)
	}
	if d.Age.Max != nil && (*d.Age.Max < d.Age.Min || *d.Age.Max > 120) {
		return fieldErr("age.max", "%d must lie between age.min (%d) and 120", *d.Age.Max, d.Age.Min)
	}
	if d.Count == "" {
		d.Count = CountPersons
	}
	if d.Count != CountPersons && d.Count != CountEvents {
		return fieldErr("count", "unknown %q (want persons or events)", d.Count)
	}
	if d.Unit != UnitPercent && d.Unit != UnitPer1000 {
		return fieldErr("unit", "unknown %q (want percent or per_1000)", d.Unit)
	}
	if d.Count == CountEvents && d.Unit == UnitPercent {
		return fieldErr("unit", "events can exceed persons, so an event count is a rate per_1000, not a percent")
	}
	switch d.Period {
	case PeriodCalendarYear, PeriodSchoolYear:
	case PeriodCohort:
		if d.Age.Max == nil || *d.Age.Max != d.Age.Min {
			return fieldErr("age", "a cohort indicator needs a single age (min = max), the age the cohort reaches in the year")
		}
	default:
		return fieldErr("period", "unknown %q (want calendar_year, school_year or cohort)", d.Period)
	}
	if d.HigherIs != "better" && d.HigherIs != "worse" {
		return fieldErr("higher_is", "unknown %q (want better or worse)", d.HigherIs)
	}
	if d.Standardise == "" {
		d.Standardise = StandardiseNone
	}
	if d.Standardise != StandardiseNone {
		if _, ok := standards[d.Standardise]; !ok {
			return fieldErr("standardise", "unknown standard population %q (want none or %s)", d.Standardise, strings.Join(standardNames(), ", "))
		}
		if d.Age.Min%5 != 0 || (d.Age.Max != nil && (*d.Age.Max+1)%5 != 0) {
			return fieldErr("age", "age standardisation uses 5-year bands, so the range %s must start at a multiple of 5 and end just before one (or be open)", d.Age)
		}
	}
	if d.Smoothing == "" {
		d.Smoothing = SmoothingNone
	}
	if d.Smoothing != SmoothingNone && d.Smoothing != SmoothingMA3 {
		return fieldErr("smoothing", "unknown %q (want none or moving_average_3)", d.Smoothing)
	}
	if d.Publish.MinNumerator < 1 {
		return fieldErr("publish.min_numerator", "must be at least 1")
	}
	if d.Publish.MinDenominator < 1 {
		return fieldErr("publish.min_denominator", "must be at least 1")
	}
	if len(d.Numerator) == 0 {
		return fieldErr("numerator", "needs at least one condition")
	}
	d.conds = nil
	tables := map[string]bool{}
	for i := range d.Population {
		c, err := compileCondition(d, &d.Population[i], false)
		if err != nil {
			return under(fmt.Sprintf("population[%d]", i), err)
		}
		tables[c.table] = true
		d.conds = append(d.conds, c)
	}
	for i := range d.Numerator {
		c, err := compileCondition(d, &d.Numerator[i], true)
		if err != nil {
			return under(fmt.Sprintf("numerator[%d]", i), err)
		}
		tables[c.table] = true
		d.conds = append(d.conds, c)
	}
	if d.Count == CountEvents && len(d.Numerator) != 1 {
		return fieldErr("numerator", "an event count needs exactly one condition (the events counted)")
	}
	if d.Source != "population" && !tables[datasets[d.Source]] {
		return fieldErr("source", "%s is not read by any condition", d.Source)
	}
	return nil
}

// condition is a Condition compiled against the catalogue: the table it
// reads and the filters (SQL over fixed column names, values as bound
// parameters).
type condition struct {
	table     string
	numerator bool
	filters   []string // "column op ?" built from fixed column names
	args      []any
	bmiColumn string // iotf_cutoff column for iso_bmi_at_least, or ""
	minDoses  int
	byAge     int // months, vaccination only
}

func compileCondition(d *Definition, c *Condition, numerator bool) (*condition, error) {
	out := &condition{numerator: numerator}
	var used []string
	use := func(table, field string) {
		if out.table == "" {
			out.table = table
		}
		if out.table != table {
			used = append(used, field)
		}
	}
	var errs []error
	bad := func(field, format string, args ...any) { errs = append(errs, fieldErr(field, format, args...)) }

	if len(c.ICPC2In) > 0 {
		use("gp_contact", "icpc2_in")
		for _, code := range c.ICPC2In {
			if !catalog.ValidICPC2(code) {
				bad("icpc2_in", "%q is not an ICPC-2 symptom or diagnosis code", code)
			}
		}
		out.filters = append(out.filters, "icpc2 IN ("+enumPlaceholders("icpc2_enum", len(c.ICPC2In))+")")
		for _, code := range c.ICPC2In {
			out.args = append(out.args, code)
		}
	}
	if len(c.ICPC2Chapter) > 0 {
		use("gp_contact", "icpc2_chapter")
		chapters := catalog.Set(catalog.ICPC2Chapters)
		for _, ch := range c.ICPC2Chapter {
			if !chapters[ch] {
				bad("icpc2_chapter", "%q is not an ICPC-2 chapter", ch)
			}
		}
		// A chapter is a range of the stored ENUM, whose values are the
		// catalogue's codes in sorted order (migration 0008): comparing
		// positions is what the hand-written SQL's constants compile to,
		// where substr would turn 12 million codes back into text.
		var ranges []string
		for _, ch := range c.ICPC2Chapter {
			first, last := chapterRange(ch)
			ranges = append(ranges, "icpc2 BETWEEN TRY_CAST(? AS icpc2_enum) AND TRY_CAST(? AS icpc2_enum)")
			out.args = append(out.args, first, last)
		}
		out.filters = append(out.filters, "("+strings.Join(ranges, " OR ")+")")
	}
	if c.Service != "" {
		use("gp_contact", "service")
		if !catalog.Set(catalog.Services)[c.Service] {
			bad("service", "%q is not a service (want gp or emergency)", c.Service)
		}
		out.filters = append(out.filters, "service = TRY_CAST(? AS gp_service_enum)")
		out.args = append(out.args, c.Service)
	}
	if len(c.ContactType) > 0 {
		use("gp_contact", "contact_type")
		for _, ct := range c.ContactType {
			if !catalog.Set(catalog.ContactTypes)[ct] {
				bad("contact_type", "%q is not a contact type", ct)
			}
			out.args = append(out.args, ct)
		}
		out.filters = append(out.filters, "contact_type IN ("+enumPlaceholders("contact_type_enum", len(c.ContactType))+")")
	}
	if c.GrowthCheck != "" {
		use("growth", "growth_check")
		if !catalog.Set(catalog.CheckTypes)[c.GrowthCheck] {
			bad("growth_check", "%q is not a growth check (want age4, grade3 or grade8)", c.GrowthCheck)
		}
		out.filters = append(out.filters, "check_type = ?")
		out.args = append(out.args, c.GrowthCheck)
	}
	if c.ISOBMIAtLeast != nil {
		use("growth", "iso_bmi_at_least")
		switch *c.ISOBMIAtLeast {
		case 25:
			out.bmiColumn = "bmi25"
		case 30:
			out.bmiColumn = "bmi30"
		default:
			bad("iso_bmi_at_least", "%v has no IOTF cut-off (want 25 for overweight incl. obesity or 30 for obesity)", *c.ISOBMIAtLeast)
		}
	}
	if c.Vaccine != "" || c.MinDoses != 0 || c.ByAgeMonths != 0 {
		use("vaccination", "vaccine")
		var vac *catalog.Vaccine
		for i := range catalog.Vaccines {
			if catalog.Vaccines[i].Code.Code == c.Vaccine {
				vac = &catalog.Vaccines[i]
			}
		}
		switch {
		case vac == nil:
			bad("vaccine", "%q is not a vaccine of the programme", c.Vaccine)
		case c.MinDoses < 1 || c.MinDoses > vac.Doses:
			bad("min_doses", "%d is outside 1–%d, the doses the programme gives of %s", c.MinDoses, vac.Doses, c.Vaccine)
		}
		if c.ByAgeMonths < 1 || c.ByAgeMonths > 240 {
			bad("by_age_months", "%d must be between 1 and 240", c.ByAgeMonths)
		}
		if d.Period != PeriodCohort {
			bad("vaccine", "a vaccination condition counts doses by an age, so the indicator's period must be cohort")
		}
		out.filters = append(out.filters, "vaccine = ?")
		out.args = append(out.args, c.Vaccine)
		out.minDoses, out.byAge = c.MinDoses, c.ByAgeMonths
	}
	if len(c.CareService) > 0 {
		use("care_decision", "care_service")
		for _, s := range c.CareService {
			if !catalog.Set(catalog.CareServices)[s] {
				bad("care_service", "%q is not a care service", s)
			}
			out.args = append(out.args, s)
		}
		out.filters = append(out.filters, "service_type IN ("+placeholders(len(c.CareService))+")")
	}
	if len(used) > 0 {
		bad(used[0], "belongs to another table than %s: one condition describes rows of one table; use two conditions", out.table)
	}
	if out.table == "" {
		errs = append(errs, fieldErr("", "is empty; name at least one field"))
	}
	if out.table != "" && out.table != "vaccination" && d.Period == PeriodCohort {
		bad("period", "a cohort indicator can only use vaccination conditions")
	}
	if (out.table == "gp_contact" || out.table == "care_decision") && d.Period == PeriodSchoolYear {
		bad("period", "contacts and care decisions are counted by calendar_year, not school_year")
	}
	if d.Count == CountEvents && numerator && out.table != "gp_contact" {
		bad("count", "only contacts can be counted as events")
	}
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return out, nil
}

// enumPlaceholders binds n codes as values of the stored ENUM type typ
// (migration 0008), so that DuckDB compares the stored one- or two-byte
// values instead of turning each row's code into text. TRY_CAST keeps the
// meaning of a text comparison: a code outside the type matches nothing.
func enumPlaceholders(typ string, n int) string {
	return strings.TrimSuffix(strings.Repeat("TRY_CAST(? AS "+typ+"), ", n), ", ")
}

// chapterRange is the first and last code of ICPC-2 chapter ch.
func chapterRange(ch string) (first, last string) {
	for _, code := range catalog.ICPC2Codes() {
		if code[:1] != ch {
			continue
		}
		if first == "" {
			first = code
		}
		last = code
	}
	return first, last
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
