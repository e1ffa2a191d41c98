// Package extract pulls extracts from the municipalities' clinical systems
// into the broker's DuckDB: a source connector hands over records, every
// record is validated (identity check digits, code lists, dates, required
// fields), identities are replaced by keyed HMAC pseudonyms at the border,
// only what indicators need is kept, and the whole extract is loaded in one
// transaction so that a pull is all or nothing. Bad rows go to a quarantine
// with their file, line and reason, never with a raw identifier.
//
// # Sources own their rows
//
// A pull is of one source: a configured source (Options.SourceName, from
// the sources file) or the one-off pulls of the command line (""). Every
// row of the pulled tables carries its source (src) and, for a source with
// record ids, the id of the record it came from (rid: FHIR Resource.id of
// the Patient, Observation, Immunization, Encounter or EpisodeOfCare). A
// source may provide only some datasets (the population register by file
// drop, GP contacts over FHIR, care decisions from an SQL replica); a pull
// touches only its source's rows of the datasets it provides, so several
// sources fill the same tables side by side. The population (one row per
// person) may come from one source only. The registry (extract), the
// no-op check (the parts' fingerprint) and the high-water mark are per
// source: ReadSourceState.
//
// A pull is a full snapshot or a change set. A full snapshot replaces the
// source's rows of its datasets. An IncrementalSource (FHIR) is asked,
// after its first pull, only for what changed since its high-water mark
// (the transactionTime of the last loaded export, stored with the data in
// the same transaction, so that an interrupted pull leaves it where it was
// and the next pull asks for the same window again): the rows of every
// record in the change set are replaced, which makes a pull idempotent
// and counts each record once however often it changes. A record that
// now fails validation is quarantined and its earlier row removed (the
// source's current version of it is wrong, so no version of it is
// counted; a full pull of the same state gives the same tables), and one
// now skipped (entered in error, cancelled) loses its row too. Records of
// a change set that refer to a Patient that did not change are placed by
// the person the source's earlier records of that Patient gave; an
// Encounter changed without its Condition keeps its diagnosis.
//
// # Interrupted pulls
//
// Nothing of a pull is visible before its commit; a pull the broker was
// stopped in (kill -9 included) is registered as running and marked failed
// on the source's next pull. A FHIR source with Resume keeps its export's
// status URL and every downloaded, verified output in its own spool
// folder, and the next run continues that export while the server still
// has it.
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
