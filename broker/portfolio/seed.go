package portfolio

import (
	"context"
	"fmt"
)

// The demo portfolio: the projects the seeds name (FolkeKommune,
// Kunnskapsoppsummeringer med kommunene, Ungdom og sosiale medier,
// LIVE@Home, ALMUTH, SELFIE, Praksisnett, IMPAKT, the public-sector PhDs),
// with believable but invented details: people are fictional, amounts
// approximate, DOIs use Crossref's test prefix 10.5555 and ethics references
// are made up. Nothing here describes a real person.

var all9 = []Unit{{"4601", "public_health"}, {"4621", ""}, {"4624", ""}, {"4627", ""}, {"4628", ""}, {"4630", ""}, {"4631", ""}, {"4632", ""}, {"4634", ""}}

func demoProjects(members []string) []Project {
	return []Project{
		{
			Title:             "FolkeKommune",
			Summary:           "Innovasjonsprosjekt i offentlig sektor som utvikler trygg tilgang til kommunenes helsedata fra fagsystemene for forskning og styring, folkehelseindikatorer beregnet fra disse dataene, og måter å ta kunnskapen i bruk i folkehelsearbeidet (arbeidspakke H1–H3). Personvernet ivaretas med pseudonymisering, policy-kontroll og avsløringskontroll.",
			Type:              "innovation",
			HealthProjectType: "NONCLINICAL",
			Status:            "active",
			Start:             "2022-01-01", End: "2026-12-31",
			OwnerInstitution: "Bergen kommune, Byrådsavdeling for helse og omsorg", MunicipalityRole: "owner",
			Units: all9,
			Partners: []Partner{{"Universitetet i Bergen, HEMIL-senteret", "partner"}, {"Sikt – Kunnskapssektorens tjenesteleverandør", "partner"},
				{"Folkehelseinstituttet", "partner"}, {"Universitetet i Bergen, Institutt for samfunnspsykologi", "partner"}},
			People: []Person{{"ProjectManager", "Lene Bjørkås", "lene.bjorkas@bergen.kommune.no", "Bergen kommune"},
				{"ProjectParticipant", "Tor Haugland", "tor.haugland@uib.no", "Universitetet i Bergen"},
				{"contact", "Siri Folkestad", "siri.folkestad@bergen.kommune.no", "Bergen kommune, folkehelse"}},
			Members: members,
			Funding: []Funding{{"NFR", "Helsevel – innovasjonsprosjekt i offentlig sektor", 1_400_000, 2022}, {"NFR", "Helsevel – innovasjonsprosjekt i offentlig sektor", 1_400_000, 2023},
				{"NFR", "Helsevel – innovasjonsprosjekt i offentlig sektor", 1_400_000, 2024}, {"NFR", "Helsevel – innovasjonsprosjekt i offentlig sektor", 1_400_000, 2025},
				{"NFR", "Helsevel – innovasjonsprosjekt i offentlig sektor", 1_400_000, 2026}, {"OWN", "Egeninnsats kommunene", 2_100_000, 0}},
			Areas:           []string{"prevention", "welfare_technology", "organisation"},
			UserInvolvement: "Folkehelsekoordinatorer og en ungdomsrådsrepresentant deltar i referansegruppen og tester indikatorene.",
			Ethics:          Ethics{"REK", "2021/900001", "APPROVED", "2021-11-15"},
			DPIA:            "completed", LegalBasis: "hfl-35", Purpose: "research",
			Results: []Result{{"report", "Folkehelseindikatorer fra kommunale fagsystemer – metodenotat", "", "", 2024},
				{"knowledge_return", "Indikatorverksted med folkehelsekoordinatorene i kommunegruppen", "", "", 2025}},
		},
		{
			Title:   "Kunnskapsoppsummeringer med kommunene",
			Summary: "Kommuner på hele Vestlandet kan stille forslag til kunnskapsoppsummeringer og metodevurderinger. Forskningspartnerne leverer kunnskapsstøtte på viktige, aktuelle områder for kommunene, og resultatene legges ut åpent.",
			Type:    "knowledge_summary",
			Status:  "active",
			Start:   "2021-01-01", End: "2025-12-31",
			OwnerInstitution: "Bergen kommune", MunicipalityRole: "owner",
			Units:    all9,
			Partners: []Partner{{"Folkehelseinstituttet", "partner"}, {"Høgskulen på Vestlandet", "partner"}, {"KS", "funder"}},
			People:   []Person{{"ProjectManager", "Ingrid Vikane", "ingrid.vikane@bergen.kommune.no", "Bergen kommune"}},
			Funding:  []Funding{{"NFR", "Offentlig sektor-ph.d. og innovasjon", 5_500_000, 0}, {"KS", "", 400_000, 2025}},
			Areas:    []string{"clinical_practice", "organisation"},
			DPIA:     "not_required",
			Results: []Result{{"report", "Velferdsteknologi i hjemmetjenesten – en kunnskapsoppsummering", "10.5555/kk-ko-2024-01", "", 2024},
				{"report", "Tiltak mot ensomhet blant eldre – hurtigoppsummering", "10.5555/kk-ko-2025-02", "", 2025},
				{"knowledge_return", "Webinar for kommunegruppen om ensomhetstiltak", "", "", 2025}},
		},
		{
			Title:             "Ungdom og sosiale medier",
			Summary:           "Prosjektet undersøker hvordan ungdom bruker sosiale medier, og hvordan skolehelsetjenesten og helsestasjon for ungdom kan støtte god psykisk helse. Ungdom deltar som medforskere.",
			Type:              "research",
			HealthProjectType: "NONCLINICAL",
			Status:            "active",
			Start:             "2023-08-01", End: "2026-07-31",
			OwnerInstitution: "Bergen kommune", MunicipalityRole: "owner",
			Units:           []Unit{{"4601", "health_stations"}, {"4627", "health_stations"}},
			Partners:        []Partner{{"Universitetet i Bergen, HEMIL-senteret", "partner"}},
			People:          []Person{{"ProjectManager", "Mari Haukeland", "mari.haukeland@bergen.kommune.no", "Bergen kommune"}},
			Funding:         []Funding{{"HDIR", "Program for folkehelsearbeid i kommunene", 2_400_000, 0}},
			Areas:           []string{"prevention", "user_involvement"},
			UserInvolvement: "Seks ungdommer er ansatt som medforskere og deltar i analyse og formidling.",
			Ethics:          Ethics{"SIKT", "Sikt 2023/700002", "APPROVED", "2023-06-20"},
			DPIA:            "completed", LegalBasis: "gdpr-9-2-a",
			Results:   []Result{{"publication", "Sosiale medier og selvbilde blant ungdom i Vestland", "10.5555/usm-2025-01", "", 2025}},
			Positions: []Position{{"public_phd", "4601", 2024, 2027}},
		},
		{
			Title:             "LIVE@Home.Path",
			Summary:           "Intervensjonsstudie for hjemmeboende personer med demens og deres pårørende: en koordinator følger opp familien med LIVE-modellen (læring, innovasjon, frivillighet, evaluering) for å utsette innleggelse og styrke mestring.",
			Type:              "research",
			HealthProjectType: "OTHERCLINICAL",
			Status:            "completed",
			Start:             "2019-01-01", End: "2023-12-31",
			OwnerInstitution: "Universitetet i Bergen, Senter for alders- og sykehjemsmedisin", MunicipalityRole: "partner",
			Units:    []Unit{{"4601", "home_care"}, {"4627", "home_care"}, {"4630", "home_care"}},
			Partners: []Partner{{"Universitetet i Bergen", "coordinator"}},
			People:   []Person{{"ProjectManager", "Bente Aasmul", "bente.aasmul@uib.no", "Universitetet i Bergen"}},
			Funding:  []Funding{{"NFR", "BEDREHELSE", 16_000_000, 0}},
			Areas:    []string{"clinical_practice", "demography"},
			Ethics:   Ethics{"REK", "2018/900003", "APPROVED", "2018-10-01"},
			DPIA:     "completed", LegalBasis: "gdpr-9-2-a",
			Results: []Result{{"publication", "Koordinator-intervensjon for hjemmeboende med demens: en stegvis randomisert studie", "10.5555/livehome-2023-01", "", 2023},
				{"publication", "Pårørendes byrde etter LIVE@Home.Path", "10.5555/livehome-2024-02", "", 2024}},
		},
		{
			Title:             "ALMUTH – musikkterapi ved Alzheimers sykdom",
			Summary:           "Studien prøver ut individuell og gruppebasert musikkterapi for personer med Alzheimers sykdom i sykehjem og dagaktivitetstilbud, og måler effekter på livskvalitet og uro.",
			Type:              "research",
			HealthProjectType: "OTHERCLINICAL",
			Status:            "completed",
			Start:             "2019-06-01", End: "2024-06-30",
			OwnerInstitution: "NORCE, GAMUT – Griegakademiets senter for musikkterapiforskning", MunicipalityRole: "partner",
			Units:    []Unit{{"4601", "nursing_homes"}},
			Partners: []Partner{{"NORCE", "coordinator"}, {"Universitetet i Bergen", "partner"}},
			People:   []Person{{"ProjectManager", "Kjersti Myrvold", "kjersti.myrvold@norceresearch.no", "NORCE"}},
			Funding:  []Funding{{"NFR", "", 9_000_000, 0}},
			Areas:    []string{"clinical_practice"},
			Ethics:   Ethics{"REK", "2019/900004", "APPROVED", "2019-03-12"},
			DPIA:     "completed", LegalBasis: "gdpr-9-2-a",
			Results: []Result{{"publication", "Musikkterapi og uro hos personer med demens i sykehjem", "10.5555/almuth-2024-01", "", 2024}},
		},
		{
			Title:   "SELFIE – behandlingsmodeller for sammensatte lidelser",
			Summary: "Europeisk prosjekt som evaluerer integrerte behandlingsmodeller for personer med flere kroniske sykdommer (multimorbiditet), med en norsk case i Bergen.",
			Type:    "research",
			Status:  "completed",
			Start:   "2015-09-01", End: "2019-08-31",
			OwnerInstitution: "Erasmus Universiteit Rotterdam", MunicipalityRole: "partner",
			Units:    []Unit{{"4601", "home_care"}},
			Partners: []Partner{{"Erasmus Universiteit Rotterdam", "coordinator"}, {"Universitetet i Bergen", "partner"}},
			People:   []Person{{"LocalProjectManager", "Håkon Lie", "hakon.lie@uib.no", "Universitetet i Bergen"}},
			Funding:  []Funding{{"EU", "Horisont 2020", 3_200_000, 0}},
			Areas:    []string{"coordination", "interdisciplinary"},
			DPIA:     "completed", LegalBasis: "gdpr-9-2-a",
		},
		{
			Title:             "Praksisnett – forskningsnettverk for fastleger",
			Summary:           "Nasjonal forskningsinfrastruktur der fastlegekontor deltar i kliniske studier i allmennpraksis. Vestlandsnoden rekrutterer kontor i kommunene i Kunnskapskommunen.",
			Type:              "research",
			HealthProjectType: "OTHERCLINICAL",
			Status:            "active",
			Start:             "2018-01-01", End: "2028-12-31",
			OwnerInstitution: "Universitetet i Bergen, Institutt for global helse og samfunnsmedisin", MunicipalityRole: "partner",
			Units:    []Unit{{"4601", "gp_emergency"}, {"4631", "gp_emergency"}, {"4624", "gp_emergency"}},
			Partners: []Partner{{"Universitetet i Bergen", "coordinator"}},
			People:   []Person{{"LocalProjectManager", "Anders Grønås", "anders.gronas@uib.no", "Universitetet i Bergen"}},
			Funding:  []Funding{{"NFR", "Nasjonal satsing på forskningsinfrastruktur", 1_500_000, 2025}},
			Areas:    []string{"clinical_practice"},
			Ethics:   Ethics{"REK", "2017/900005", "APPROVED", "2017-11-30"},
			DPIA:     "completed", LegalBasis: "gdpr-9-2-a",
			Results: []Result{{"publication", "Rekruttering av fastlegekontor til kliniske studier", "10.5555/praksisnett-2025-01", "", 2025}},
		},
		{
			Title:   "IMPAKT – redusere gapet mellom kunnskap og praksis",
			Summary: "Senter for kunnskapsbasert praksis ved HVL prøver ut tiltak som hjelper ansatte i hjemmetjenesten og sykehjem å ta i bruk forskningsbasert kunnskap i daglig drift.",
			Type:    "education",
			Status:  "active",
			Start:   "2022-01-01", End: "2026-06-30",
			OwnerInstitution: "Høgskulen på Vestlandet", MunicipalityRole: "partner",
			Units:     []Unit{{"4601", "nursing_homes"}, {"4631", "home_care"}, {"4621", ""}},
			Partners:  []Partner{{"Høgskulen på Vestlandet", "coordinator"}},
			People:    []Person{{"ProjectManager", "Gunn Rasdal", "gunn.rasdal@hvl.no", "Høgskulen på Vestlandet"}},
			Funding:   []Funding{{"RFF", "Regionale forskningsfond Vestland", 1_200_000, 0}},
			Areas:     []string{"clinical_practice", "organisation"},
			DPIA:      "not_required",
			Results:   []Result{{"knowledge_return", "Kurs i kunnskapsbasert praksis for 40 ansatte", "", "", 2025}},
			Positions: []Position{{"adjunct", "4601", 2023, 2026}},
		},
		{
			Title:             "Lysterapi i sykehjem",
			Summary:           "Offentlig ph.d. om dynamisk lys i fellesarealer på sykehjem og virkningen på søvn, døgnrytme og uro hos beboere med demens.",
			Type:              "public_phd",
			HealthProjectType: "OTHERCLINICAL",
			Status:            "completed",
			Start:             "2017-01-01", End: "2021-12-31",
			OwnerInstitution: "Bergen kommune", MunicipalityRole: "owner",
			Units:    []Unit{{"4601", "nursing_homes"}},
			Partners: []Partner{{"Universitetet i Bergen", "partner"}},
			People:   []Person{{"ProjectParticipant", "Elin Dale", "", "Bergen kommune"}},
			Funding:  []Funding{{"NFR", "Offentlig sektor-ph.d.", 2_600_000, 0}, {"OWN", "", 1_305_000, 0}},
			Areas:    []string{"clinical_practice"},
			Ethics:   Ethics{"REK", "2016/900006", "APPROVED", "2016-09-01"},
			DPIA:     "completed", LegalBasis: "gdpr-9-2-a",
			Results:   []Result{{"phd_thesis", "Lys, søvn og uro i sykehjem", "", "", 2022}},
			Positions: []Position{{"public_phd", "4601", 2017, 2021}},
		},
		{
			Title:   "Tillit og faglighet i helse- og omsorgstjenesten",
			Summary: "Offentlig ph.d. som følger innføringen av tillitsreformen i hjemmetjenesten og studerer hvordan faglig skjønn og styring samspiller.",
			Type:    "public_phd",
			Status:  "active",
			Start:   "2023-01-01", End: "2026-12-31",
			OwnerInstitution: "Bergen kommune", MunicipalityRole: "owner",
			Units:    []Unit{{"4601", "home_care"}},
			Partners: []Partner{{"VID vitenskapelige høgskole", "partner"}},
			People:   []Person{{"ProjectParticipant", "Jonas Hope", "", "Bergen kommune"}},
			Funding:  []Funding{{"NFR", "Offentlig sektor-ph.d.", 2_700_000, 0}, {"OWN", "", 1_305_000, 0}},
			Areas:    []string{"organisation"},
			DPIA:     "completed", LegalBasis: "gdpr-9-2-a",
			Positions: []Position{{"public_phd", "4601", 2023, 2026}},
		},
		{
			Title:   "Følgeforskning på velferdsteknologi i Alver og Osterøy",
			Summary: "Følgeforskning på innføring av digitalt tilsyn og medisineringsstøtte i hjemmetjenesten: hva fungerer, for hvem, og hva koster det.",
			Type:    "follow_up_research",
			Status:  "applied",
			Start:   "2026-01-01", End: "2027-12-31",
			OwnerInstitution: "NORCE", MunicipalityRole: "partner",
			Units:    []Unit{{"4631", "home_care"}, {"4630", "home_care"}},
			Partners: []Partner{{"NORCE", "coordinator"}},
			People:   []Person{{"ProjectManager", "Silje Brekke", "silje.brekke@norceresearch.no", "NORCE"}},
			Funding:  []Funding{{"RFF", "Kvalifiseringsprosjekt", 2_000_000, 0}},
			Areas:    []string{"welfare_technology"},
			DPIA:     "in_progress",
		},
		{
			Title:   "Masterprosjekt: ernæringsoppfølging i hjemmetjenesten på Askøy",
			Summary: "Masteroppgave i klinisk ernæring som kartlegger rutiner for vekt og ernæringsscreening hos brukere av hjemmesykepleie.",
			Type:    "masters",
			Status:  "planned",
			Start:   "2026-01-15", End: "2026-06-15",
			OwnerInstitution: "Universitetet i Bergen", MunicipalityRole: "partner",
			Units:    []Unit{{"4627", "home_care"}},
			Partners: []Partner{{"Universitetet i Bergen", "coordinator"}},
			Areas:    []string{"clinical_practice"},
			DPIA:     "not_assessed",
		},
	}
}

var demoNeeds = []Need{
	{Title: "Bedre samhandlingsverktøy mellom kommune og sykehus", Description: "Hvilke verktøy og rutiner gir trygge overganger ved utskriving?", Municipality: "_T", IdentifiedOn: "2019-03-22"},
	{Title: "Leve hele livet: ernæring og måltider for eldre", Municipality: "_T", ServiceArea: "home_care", IdentifiedOn: "2019-03-22"},
	{Title: "Boformer for eldre med omsorgsbehov", Municipality: "_T", IdentifiedOn: "2019-03-22"},
	{Title: "Effekt av velferdsteknologi i hjemmetjenesten", Municipality: "4631", ServiceArea: "home_care", IdentifiedOn: "2023-09-01"},
	{Title: "Psykisk helse blant ungdom og bruk av sosiale medier", Municipality: "4601", ServiceArea: "health_stations", IdentifiedOn: "2022-05-10"},
	{Title: "Lokale folkehelsedata for planarbeid", Municipality: "_T", ServiceArea: "public_health", IdentifiedOn: "2020-11-01"},
}

// needLinks say which demo projects answer which demo needs (by title).
var needLinks = map[string][]string{
	"FolkeKommune":             {"Lokale folkehelsedata for planarbeid"},
	"Ungdom og sosiale medier": {"Psykisk helse blant ungdom og bruk av sosiale medier"},
	"Følgeforskning på velferdsteknologi i Alver og Osterøy":         {"Effekt av velferdsteknologi i hjemmetjenesten"},
	"Masterprosjekt: ernæringsoppfølging i hjemmetjenesten på Askøy": {"Leve hele livet: ernæring og måltider for eldre"},
}

// SeedDemo fills an empty portfolio with the demo projects and knowledge
// needs, as the system actor, audited like any change. members are broker
// users who may request data for FolkeKommune (the demo's researcher). It
// does nothing when the portfolio already has projects.
func SeedDemo(ctx context.Context, r *Registry, members ...string) ([]Project, error) {
	var n int
	if err := r.db.QueryRowContext(ctx, `SELECT count(*) FROM project`).Scan(&n); err != nil {
		return nil, fmt.Errorf("seed demo portfolio: %w", err)
	}
	if n > 0 {
		return nil, nil
	}
	needID := map[string]int64{}
	for _, need := range demoNeeds {
		saved, err := r.AddNeed(ctx, System, need)
		if err != nil {
			return nil, fmt.Errorf("seed need %q: %w", need.Title, err)
		}
		needID[need.Title] = saved.ID
	}
	var out []Project
	for _, p := range demoProjects(members) {
		for _, title := range needLinks[p.Title] {
			p.Needs = append(p.Needs, needID[title])
		}
		saved, err := r.Create(ctx, System, p)
		if err != nil {
			return out, fmt.Errorf("seed project %q: %w", p.Title, err)
		}
		out = append(out, saved)
	}
	// FolkeKommune is approved for data access, so that the demo's
	// researcher can request aggregates at once.
	for _, p := range out {
		if p.Title != "FolkeKommune" || len(p.Members) == 0 {
			continue
		}
		for _, action := range []string{"request_access", "approve_access"} {
			if _, err := r.Transition(ctx, System, p.ID, action, "Demo: godkjent ved oppstart"); err != nil {
				return out, fmt.Errorf("seed data access for %q: %w", p.Title, err)
			}
		}
	}
	return out, nil
}
