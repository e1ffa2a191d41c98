// Package extract pulls extracts from the municipalities' clinical systems
// into the broker's DuckDB: a source connector hands over records, every
// record is validated (identity check digits, code lists, dates, required
// fields), identities are replaced by keyed HMAC pseudonyms at the border,
// only what indicators need is kept, and the whole extract is loaded in one
// transaction so that a pull is all or nothing. Bad rows go to a quarantine
// with their file, line and reason, never with a raw identifier.
package extract

// Dataset names a table family in the broker's schema.
type Dataset string

// The datasets a pull fills.
const (
	Population  Dataset = "population"
	Growth      Dataset = "growth"
	Vaccination Dataset = "vaccination"
	GPContact   Dataset = "gp_contact"
	Care        Dataset = "care"
)

// The file-drop layout: one folder per source system, one file per
// dataset, named without extension here (.csv or .parquet on disk).
const (
	FilePopulation  = "folkeregister/personer"
	FileGrowth      = "helsestasjon/vekst"
	FileVaccination = "helsestasjon/vaksinasjon"
	FileContacts    = "kuhr/kontakter"
	FileCare        = "iplos/vedtak"
)

// Layout is one dataset's place in a file drop and the header its file
// must carry, as the source systems name their columns.
type Layout struct {
	Dataset Dataset
	File    string
	Header  []string
}

// Layouts lists the datasets in load order.
var Layouts = []Layout{
	{Population, FilePopulation, []string{"fodselsnummer", "fodselsdato", "kjonn", "kommunenummer", "bydel", "innflyttet", "utflyttet", "dodsdato"}},
	{Growth, FileGrowth, []string{"fodselsnummer", "kommunenummer", "kontroll", "maledato", "hoyde_cm", "vekt_kg"}},
	{Vaccination, FileVaccination, []string{"fodselsnummer", "kommunenummer", "vaksine", "dose", "vaksinasjonsdato"}},
	{GPContact, FileContacts, []string{"fodselsnummer", "kommunenummer", "kontaktdato", "icpc2", "tjeneste", "kontakttype"}},
	{Care, FileCare, []string{"fodselsnummer", "kommunenummer", "tjeneste", "vedtak_fra", "vedtak_til"}},
}

// Source codes the systems use, mapped to the catalogue's codes.
var (
	sexCodes     = map[string]string{"M": "M", "K": "F"}
	checkCodes   = map[string]string{"4ar": "age4", "3trinn": "grade3", "8trinn": "grade8"}
	serviceCodes = map[string]string{"fastlege": "gp", "legevakt": "emergency"}
	contactCodes = map[string]string{"konsultasjon": "consultation", "enkel": "simple", "video": "video", "e-konsultasjon": "econsultation", "sykebesok": "home_visit"}
	careCodes    = map[string]string{"hjemmesykepleie": "home_nursing", "praktisk_bistand": "practical_assistance", "korttidsopphold": "short_term_nursing_home", "langtidsopphold": "long_term_nursing_home", "dagaktivitet": "day_care", "trygghetsalarm": "safety_alarm"}
)
