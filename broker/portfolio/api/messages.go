package api

import (
	"strings"

	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
)

// The public form's readers are Norwegian: a refused field is explained in
// bokmål beside the English message. The domain's problems are English
// sentences of a few fixed shapes; each shape has its Norwegian phrase.

var fieldLabels = map[string]string{
	"title": "Tittel", "kind": "Type prosjekt", "description": "Beskrivelse", "institution": "Institusjon",
	"researcher_name": "Navn", "researcher_email": "E-post", "funding": "Finansiering", "funding_status": "Status for finansiering",
	"resources_needed": "Ressurser fra kommunen", "knowledge_return": "Tilbakeføring av kunnskap", "target_groups": "Målgrupper",
	"ethics_status": "Etisk godkjenning", "ethics_reference": "Saksnummer for etisk godkjenning", "start": "Startdato", "end": "Sluttdato",
	"units": "Kommuner og tjenesteområder", "needs": "Kunnskapsbehov", "website": "Nettsted", "started_at": "Skjema",
	"inquiry": "Henvendelsen", "summary": "Sammendrag", "owner_institution": "Prosjekteier", "municipality_role": "Kommunens rolle",
	"email": "E-post", "name": "Navn", "municipality": "Kommune", "service_area": "Tjenesteområde", "status": "Status",
	"identified_on": "Dato identifisert", "answer": "Svar", "assessment": "Vurdering", "note": "Merknad", "message": "Melding",
	"action": "Handling", "body": "Innhold", "year": "År", "format": "Format", "id": "Id",
}

var problemPhrases = []struct{ contains, nb string }{
	{"is required when", "må fylles ut når den etiske godkjenningen er gitt"},
	{"is required", "må fylles ut"},
	{"tick at least one", "kryss av for minst én kommune"},
	{"name at least one", "må ha minst én oppføring"},
	{"characters in all", "er for lang til sammen; kort ned teksten"},
	{"characters; at most", "er for lang"},
	{"contains HTML or script", "kan bare inneholde ren tekst, ikke HTML eller skript"},
	{"control character", "inneholder ugyldige tegn"},
	{"not valid UTF-8", "inneholder ugyldige tegn"},
	{"is not an e-mail address", "er ikke en gyldig e-postadresse"},
	{"is not a municipality", "er ikke en kommune i samarbeidet"},
	{"is not a service area", "er ikke et kjent tjenesteområde"},
	{"is not one of", "har en ukjent verdi"},
	{"is before", "kan ikke være før startdatoen"},
	{"is not a date", "er ikke en dato på formen ÅÅÅÅ-MM-DD"},
	{"is listed twice", "er oppgitt to ganger"},
	{"has already been received", "er allerede mottatt fra denne e-postadressen"},
	{"is already", "finnes allerede"},
	{"inquiries a day", "for mange henvendelser fra samme e-postadresse i dag; prøv igjen i morgen"},
	{"must be left empty", "skal stå tomt"},
	{"too quickly", "ble sendt for raskt; prøv igjen"},
	{"does not exist", "finnes ikke"},
	{"must be a JSON", "har feil type"},
	{"is not a field", "er ikke et felt i skjemaet"},
	{"is not valid JSON", "kunne ikke leses"},
	{"tell the researcher why", "må begrunnes overfor forskeren"},
	{"is not a year", "er ikke et årstall"},
}

// norwegian explains an input problem in bokmål, naming the field by its
// label in the form.
func norwegian(ie *portfolio.InputError) string {
	base := ie.Field
	if i := strings.IndexAny(base, "[."); i >= 0 {
		base = base[:i]
	}
	label, ok := fieldLabels[base]
	if !ok {
		label = ie.Field
	}
	phrase := "er ikke gyldig"
	for _, p := range problemPhrases {
		if strings.Contains(ie.Problem, p.contains) {
			phrase = p.nb
			break
		}
	}
	return label + ": " + phrase + "."
}

// Norwegian is norwegian for the web pages' public inquiry form, so that a
// refused field reads the same in the browser as in the API's answer.
func Norwegian(ie *portfolio.InputError) string { return norwegian(ie) }
