// Package catalog holds the code lists the broker understands: the
// municipalities and Bergen's districts, sex, age bands, ICPC-2, vaccines,
// care services and contact types. Validation at the border, the synthetic
// generator, indicators and request specifications all draw on these lists,
// so a code that is not here cannot enter the database or a query.
package catalog

import (
	"sort"
)

// Total is the SDMX code for a dimension's total category.
const Total = "_T"

// Label is a text in Norwegian bokmål and English.
type Label struct {
	NB string `json:"nb"`
	EN string `json:"en"`
}

// Municipality is one of the collaboration's municipalities.
type Municipality struct {
	Code       string // kommunenummer (2024)
	Name       string
	Population int // approximate inhabitants, 2024; drives the synthetic generator
}

// Municipalities are the nine of Kunnskapskommunen Helse Omsorg Vest.
var Municipalities = []Municipality{
	{"4601", "Bergen", 285000},
	{"4621", "Voss herad", 16000},
	{"4624", "Bjørnafjorden", 25500},
	{"4627", "Askøy", 30000},
	{"4628", "Vaksdal", 3900},
	{"4630", "Osterøy", 8200},
	{"4631", "Alver", 30000},
	{"4632", "Austrheim", 2900},
	{"4634", "Masfjorden", 1700},
}

// BergenCode is the kommunenummer of Bergen, the only municipality with districts.
const BergenCode = "4601"

// District is one of Bergen's eight bydeler.
type District struct {
	Code       string // 4601xx
	Name       string
	Population int
}

// Districts are Bergen's bydeler.
var Districts = []District{
	{"460101", "Arna", 14500},
	{"460102", "Bergenhus", 42000},
	{"460103", "Fana", 42000},
	{"460104", "Fyllingsdalen", 31500},
	{"460105", "Laksevåg", 40000},
	{"460106", "Ytrebygda", 30500},
	{"460107", "Årstad", 40000},
	{"460108", "Åsane", 44500},
}

var (
	municipalityByCode = map[string]Municipality{}
	districtByCode     = map[string]District{}
)

func init() {
	for _, m := range Municipalities {
		municipalityByCode[m.Code] = m
	}
	for _, d := range Districts {
		districtByCode[d.Code] = d
	}
}

// MunicipalityByCode finds a municipality by kommunenummer.
func MunicipalityByCode(code string) (Municipality, bool) {
	m, ok := municipalityByCode[code]
	return m, ok
}

// DistrictByCode finds a Bergen district by its code.
func DistrictByCode(code string) (District, bool) {
	d, ok := districtByCode[code]
	return d, ok
}

// Sex codes follow SDMX: M, F and _T.
var Sex = []Code{
	{"M", Label{"Menn", "Males"}},
	{"F", Label{"Kvinner", "Females"}},
}

// Code is an entry of a flat code list.
type Code struct {
	Code  string
	Label Label
}

// CheckTypes are the routine growth checks in health station and school health.
var CheckTypes = []Code{
	{"age4", Label{"4-årskontroll", "Check at age 4"}},
	{"grade3", Label{"3. trinn", "3rd grade"}},
	{"grade8", Label{"8. trinn", "8th grade"}},
}

// Vaccines are the vaccines of the Norwegian childhood immunisation
// programme, with the number of doses the programme gives.
var Vaccines = []Vaccine{
	{Code{"ROTA", Label{"Rotavirusvaksine", "Rotavirus"}}, 2},
	{Code{"DTAP-IPV-HIB-HEPB", Label{"Difteri, stivkrampe, kikhoste, polio, Hib og hepatitt B", "Diphtheria, tetanus, pertussis, polio, Hib and hepatitis B"}}, 3},
	{Code{"PCV", Label{"Pneumokokkvaksine", "Pneumococcal conjugate"}}, 3},
	{Code{"MMR", Label{"Meslinger, kusma og røde hunder", "Measles, mumps and rubella"}}, 2},
	{Code{"DTAP-IPV", Label{"Difteri, stivkrampe, kikhoste og polio (oppfriskning)", "Diphtheria, tetanus, pertussis and polio (booster)"}}, 2},
	{Code{"HPV", Label{"Humant papillomavirus", "Human papillomavirus"}}, 2},
}

// Vaccine is a vaccine of the programme.
type Vaccine struct {
	Code
	Doses int
}

// CareServices are IPLOS-like municipal care service types.
var CareServices = []Code{
	{"home_nursing", Label{"Hjemmesykepleie", "Home nursing"}},
	{"practical_assistance", Label{"Praktisk bistand", "Practical assistance"}},
	{"short_term_nursing_home", Label{"Korttidsopphold i institusjon", "Short-term nursing-home stay"}},
	{"long_term_nursing_home", Label{"Langtidsopphold i institusjon", "Long-term nursing-home stay"}},
	{"day_care", Label{"Dagaktivitetstilbud", "Day care"}},
	{"safety_alarm", Label{"Trygghetsalarm", "Safety alarm"}},
}

// Services are the primary-care services a KUHR contact can come from.
var Services = []Code{
	{"gp", Label{"Fastlege", "Regular GP"}},
	{"emergency", Label{"Legevakt", "Emergency room"}},
}

// ContactTypes are KUHR-like kinds of contact.
var ContactTypes = []Code{
	{"consultation", Label{"Konsultasjon", "Consultation"}},
	{"simple", Label{"Enkel kontakt", "Simple contact"}},
	{"video", Label{"Videokonsultasjon", "Video consultation"}},
	{"econsultation", Label{"E-konsultasjon", "E-consultation"}},
	{"home_visit", Label{"Sykebesøk", "Home visit"}},
}

// ICPC2Chapters are the 17 chapters of ICPC-2.
var ICPC2Chapters = []Code{
	{"A", Label{"Allment og uspesifisert", "General and unspecified"}},
	{"B", Label{"Blod, bloddannende organer og immunsystemet", "Blood, blood-forming organs and immune mechanism"}},
	{"D", Label{"Fordøyelsesorganene", "Digestive"}},
	{"F", Label{"Øye", "Eye"}},
	{"H", Label{"Øre", "Ear"}},
	{"K", Label{"Hjerte-karsystemet", "Cardiovascular"}},
	{"L", Label{"Muskel- og skjelettsystemet", "Musculoskeletal"}},
	{"N", Label{"Nervesystemet", "Neurological"}},
	{"P", Label{"Psykisk", "Psychological"}},
	{"R", Label{"Luftveier", "Respiratory"}},
	{"S", Label{"Hud", "Skin"}},
	{"T", Label{"Endokrine, ernærings- og metabolske", "Endocrine, metabolic and nutritional"}},
	{"U", Label{"Urinveier", "Urological"}},
	{"W", Label{"Svangerskap, fødsel og familieplanlegging", "Pregnancy, childbearing, family planning"}},
	{"X", Label{"Kvinnelige kjønnsorganer", "Female genital"}},
	{"Y", Label{"Mannlige kjønnsorganer", "Male genital"}},
	{"Z", Label{"Sosiale problemer", "Social problems"}},
}

var icpc2Chapter = map[byte]bool{}

func init() {
	for _, c := range ICPC2Chapters {
		icpc2Chapter[c.Code[0]] = true
	}
}

// ValidICPC2 reports whether code is a well-formed ICPC-2 symptom or
// diagnosis code: a chapter letter followed by 01–29 (symptoms and
// complaints) or 70–99 (diagnoses). Process codes (30–69) are not
// diagnoses and are refused in a contact's diagnosis field.
func ValidICPC2(code string) bool {
	if len(code) != 3 || !icpc2Chapter[code[0]] {
		return false
	}
	d1, d2 := code[1], code[2]
	if d1 < '0' || d1 > '9' || d2 < '0' || d2 > '9' {
		return false
	}
	n := int(d1-'0')*10 + int(d2-'0')
	return (n >= 1 && n <= 29) || (n >= 70 && n <= 99)
}

// Set turns a code list into a membership set.
func Set(codes []Code) map[string]bool {
	s := make(map[string]bool, len(codes))
	for _, c := range codes {
		s[c.Code] = true
	}
	return s
}

// MunicipalityCodes are the kommunenummer in code order.
func MunicipalityCodes() []string {
	out := make([]string, 0, len(Municipalities))
	for _, m := range Municipalities {
		out = append(out, m.Code)
	}
	sort.Strings(out)
	return out
}

// ICPC2Codes lists every code ValidICPC2 accepts, in order.
func ICPC2Codes() []string {
	var out []string
	for _, c := range ICPC2Chapters {
		for n := 1; n <= 99; n++ {
			code := c.Code + string(rune('0'+n/10)) + string(rune('0'+n%10))
			if ValidICPC2(code) {
				out = append(out, code)
			}
		}
	}
	return out
}
