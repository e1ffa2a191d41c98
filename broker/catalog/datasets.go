package catalog

import (
	"fmt"
	"sort"
	"strconv"
)

// This file is the dataset catalogue: what a researcher or coordinator may
// ask the broker to count. A request names a dataset, one of its measures,
// some of its dimensions and filters on them; anything not listed here is
// refused before a query is built, so no text a user sends reaches SQL.

// Sensitivity levels of a dataset; the policy raises the protection for
// sensitive requests (diagnoses in sensitive ICPC-2 chapters) by itself.
const (
	SensitivityStandard  = "standard"
	SensitivitySensitive = "sensitive"
)

// Measure ids.
const (
	MeasurePersons = "persons" // distinct people in the cell
	MeasureEvents  = "events"  // contacts, vaccinations, decisions ... in the cell
)

// Category is one value of a dimension; Parent names the category it adds
// up into (Total for the top level).
type Category struct {
	Code   string `json:"code"`
	Label  Label  `json:"label"`
	Parent string `json:"parent,omitempty"`
}

// Dimension is a classification a table can be broken down by.
type Dimension struct {
	ID    string `json:"id"`
	Label Label  `json:"label"`
	// Categories is the code list, the total `_T` first. For "year" it is
	// empty: the years are those of the request's period.
	Categories []Category `json:"categories,omitempty"`
	// Hierarchy describes the levels when categories nest.
	Hierarchy string `json:"hierarchy,omitempty"`
	// Filterable dimensions may also restrict a table (filters).
	Filterable bool `json:"filterable"`
}

// MeasureDef is a count a dataset offers.
type MeasureDef struct {
	ID    string `json:"id"`
	Label Label  `json:"label"`
}

// Dataset is a pulled table offered for aggregate requests.
type Dataset struct {
	ID          string       `json:"id"`
	Label       Label        `json:"label"`
	Description Label        `json:"description"`
	Sensitivity string       `json:"sensitivity"`
	Measures    []MeasureDef `json:"measures"`
	Dimensions  []string     `json:"dimensions"`
}

var (
	persons = MeasureDef{MeasurePersons, Label{"Personer", "Persons"}}
	events  = MeasureDef{MeasureEvents, Label{"Hendelser", "Events"}}
)

// Datasets lists the catalogue. The ids and dimension ids are the ones the
// policy (policies/data.json) knows.
var Datasets = []Dataset{
	{
		ID: "population", Label: Label{"Befolkning", "Population"},
		Description: Label{"Bosatte per 1. januar hvert år etter bosted, alder og kjønn (folkeregisteret).",
			"Residents on 1 January of each year by residence, age and sex (population register)."},
		Sensitivity: SensitivityStandard, Measures: []MeasureDef{persons},
		Dimensions: []string{"municipality", "district", "age_broad", "age_10y", "age_5y", "sex", "year"},
	},
	{
		ID: "gp_contact", Label: Label{"Kontakter med fastlege og legevakt", "GP and emergency-room contacts"},
		Description: Label{"Kontakter i primærhelsetjenesten etter diagnose (ICPC-2), tjeneste og kontakttype; personer plasseres etter bosted 1. januar i kontaktåret.",
			"Primary-care contacts by diagnosis (ICPC-2), service and contact type; people are placed by their residence on 1 January of the contact's year."},
		Sensitivity: SensitivityStandard, Measures: []MeasureDef{persons, events},
		Dimensions: []string{"municipality", "district", "age_broad", "age_10y", "age_5y", "sex", "year", "icpc2_chapter", "service", "contact_type"},
	},
	{
		ID: "vaccination", Label: Label{"Vaksinasjoner i barnevaksinasjonsprogrammet", "Childhood-programme vaccinations"},
		Description: Label{"Vaksinedoser etter vaksine og dose; personer plasseres etter bosted 1. januar i vaksinasjonsåret.",
			"Vaccine doses by vaccine and dose; people are placed by their residence on 1 January of the vaccination's year."},
		Sensitivity: SensitivityStandard, Measures: []MeasureDef{persons, events},
		Dimensions: []string{"municipality", "district", "sex", "year", "vaccine", "dose"},
	},
	{
		ID: "growth", Label: Label{"Høyde og vekt ved rutinekontroller", "Height and weight at routine checks"},
		Description: Label{"Målinger på helsestasjon og i skolehelsetjenesten etter kontroll (4 år, 3. og 8. trinn).",
			"Measurements at the health station and in school health by check (age 4, grades 3 and 8)."},
		Sensitivity: SensitivityStandard, Measures: []MeasureDef{persons, events},
		Dimensions: []string{"municipality", "district", "sex", "year", "check_type"},
	},
	{
		ID: "care", Label: Label{"Vedtak om helse- og omsorgstjenester", "Care-service decisions"},
		Description: Label{"Personer med vedtak som gjelder i løpet av året, etter tjeneste (IPLOS).",
			"People with a decision in force during the year, by service (IPLOS)."},
		Sensitivity: SensitivityStandard, Measures: []MeasureDef{persons, events},
		Dimensions: []string{"municipality", "district", "age_broad", "age_10y", "age_5y", "sex", "year", "care_service"},
	},
}

// FirstYear and LastYear bound the periods a request may ask for.
const (
	FirstYear = 2000
	LastYear  = 2030
)

// DatasetByID finds a dataset.
func DatasetByID(id string) (Dataset, bool) {
	for _, d := range Datasets {
		if d.ID == id {
			return d, true
		}
	}
	return Dataset{}, false
}

// Has reports whether the dataset offers the dimension.
func (d Dataset) Has(dim string) bool {
	for _, x := range d.Dimensions {
		if x == dim {
			return true
		}
	}
	return false
}

// HasMeasure reports whether the dataset offers the measure.
func (d Dataset) HasMeasure(m string) bool {
	for _, x := range d.Measures {
		if x.ID == m {
			return true
		}
	}
	return false
}

// Dimensions by id.
var dimensions = map[string]Dimension{}

// DimensionByID finds a dimension of the catalogue.
func DimensionByID(id string) (Dimension, bool) {
	d, ok := dimensions[id]
	return d, ok
}

// DimensionIDs lists every dimension id, sorted.
func DimensionIDs() []string {
	out := make([]string, 0, len(dimensions))
	for id := range dimensions {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// UnknownDistrict is the code of Bergen residents whose district is not
// known, so that Bergen still equals the sum of its districts.
const UnknownDistrict = "4601_U"

// AgeBand is an inclusive range of whole years; Max < 0 means open ("80+").
type AgeBand struct {
	Code     string
	Min, Max int
}

// AgeBands are the bands of each age dimension, in order.
var AgeBands = map[string][]AgeBand{
	"age_broad": {{"0-17", 0, 17}, {"18-66", 18, 66}, {"67-79", 67, 79}, {"80+", 80, -1}},
	"age_10y":   bands(10),
	"age_5y":    bands(5),
}

// bands are width-year bands from 0, the last open at 90.
func bands(width int) []AgeBand {
	var out []AgeBand
	for lo := 0; lo < 90; lo += width {
		out = append(out, AgeBand{fmt.Sprintf("%d-%d", lo, lo+width-1), lo, lo + width - 1})
	}
	return append(out, AgeBand{"90+", 90, -1})
}

func flat(id string, label Label, codes []Code) Dimension {
	d := Dimension{ID: id, Label: label, Filterable: true, Categories: []Category{{Code: Total, Label: Label{"I alt", "Total"}}}}
	for _, c := range codes {
		d.Categories = append(d.Categories, Category{Code: c.Code, Label: c.Label, Parent: Total})
	}
	return d
}

func init() {
	total := Category{Code: Total, Label: Label{"Kunnskapskommunen Helse Omsorg Vest", "Kunnskapskommunen Helse Omsorg Vest"}}
	muni := Dimension{ID: "municipality", Label: Label{"Kommune", "Municipality"}, Filterable: true,
		Categories: []Category{total}, Hierarchy: "municipality → _T"}
	for _, m := range Municipalities {
		muni.Categories = append(muni.Categories, Category{Code: m.Code, Label: Label{m.Name, m.Name}, Parent: Total})
	}
	district := Dimension{ID: "district", Label: Label{"Kommune og bydel", "Municipality and district"},
		Categories: append([]Category(nil), muni.Categories...), Hierarchy: "district → municipality (Bergen) → _T"}
	for _, d := range Districts {
		district.Categories = append(district.Categories, Category{Code: d.Code, Label: Label{d.Name, d.Name}, Parent: BergenCode})
	}
	district.Categories = append(district.Categories, Category{Code: UnknownDistrict, Label: Label{"Bergen, ukjent bydel", "Bergen, district unknown"}, Parent: BergenCode})
	all := []Dimension{muni, district,
		flat("sex", Label{"Kjønn", "Sex"}, Sex),
		{ID: "year", Label: Label{"År", "Year"}},
		flat("icpc2_chapter", Label{"ICPC-2-kapittel", "ICPC-2 chapter"}, ICPC2Chapters),
		flat("service", Label{"Tjeneste", "Service"}, Services),
		flat("contact_type", Label{"Kontakttype", "Contact type"}, ContactTypes),
		flat("care_service", Label{"Omsorgstjeneste", "Care service"}, CareServices),
		flat("check_type", Label{"Kontroll (alder eller skoletrinn)", "Check (age or school grade)"}, CheckTypes),
	}
	var vaccines []Code
	for _, v := range Vaccines {
		vaccines = append(vaccines, v.Code)
	}
	all = append(all, flat("vaccine", Label{"Vaksine", "Vaccine"}, vaccines))
	var doses []Code
	for n := 1; n <= 3; n++ {
		doses = append(doses, Code{strconv.Itoa(n), Label{fmt.Sprintf("Dose %d", n), fmt.Sprintf("Dose %d", n)}})
	}
	all = append(all, flat("dose", Label{"Dose", "Dose"}, doses))
	ageLabels := map[string]Label{
		"age_broad": {"Aldersgrupper (0-17, 18-66, 67-79, 80+)", "Age groups (0-17, 18-66, 67-79, 80+)"},
		"age_10y":   {"Alder, tiårsgrupper", "Age, 10-year bands"},
		"age_5y":    {"Alder, femårsgrupper", "Age, 5-year bands"},
	}
	for id, bs := range AgeBands {
		var codes []Code
		for _, b := range bs {
			codes = append(codes, Code{b.Code, Label{b.Code + " år", b.Code + " years"}})
		}
		d := flat(id, ageLabels[id], codes)
		d.Filterable = false // a filter on an age band would let differencing single out a band; break down instead
		all = append(all, d)
	}
	for _, d := range all {
		if d.ID == "year" || d.ID == "district" {
			d.Filterable = false
		}
		dimensions[d.ID] = d
	}
}

// Codes is the set of category codes of a dimension, the total included.
func (d Dimension) Codes() map[string]bool {
	s := make(map[string]bool, len(d.Categories))
	for _, c := range d.Categories {
		s[c.Code] = true
	}
	return s
}
