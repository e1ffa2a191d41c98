package portfolio

import (
	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
)

// Term is one entry of a controlled vocabulary: a stable code and its labels.
type Term struct {
	Code  string        `json:"code"`
	Label catalog.Label `json:"label"`
}

// Vocabulary is a closed list of terms.
type Vocabulary []Term

// Has reports whether code is in the vocabulary.
func (v Vocabulary) Has(code string) bool {
	for _, t := range v {
		if t.Code == code {
			return true
		}
	}
	return false
}

// Codes lists the vocabulary's codes in order.
func (v Vocabulary) Codes() []string {
	out := make([]string, len(v))
	for i, t := range v {
		out[i] = t.Code
	}
	return out
}

// ProjectTypes are the kinds of project in the portfolio (plan measure 6.1.1:
// research, innovation and education, with the forms the seeds name).
var ProjectTypes = Vocabulary{
	{"research", catalog.Label{NB: "Forskning", EN: "Research"}},
	{"innovation", catalog.Label{NB: "Innovasjon", EN: "Innovation"}},
	{"education", catalog.Label{NB: "Utdanning og praksis", EN: "Education and placements"}},
	{"masters", catalog.Label{NB: "Masterprosjekt", EN: "Master's project"}},
	{"public_phd", catalog.Label{NB: "Offentlig ph.d.", EN: "Public-sector PhD"}},
	{"follow_up_research", catalog.Label{NB: "Følgeforskning", EN: "Follow-up research"}},
	{"knowledge_summary", catalog.Label{NB: "Kunnskapsoppsummering", EN: "Knowledge summary"}},
}

// Statuses are a project's life-cycle states. They follow the Research
// Council's application phases (planned → applied → granted or rejected)
// joined to Cristin/NVA's project status (NOTSTARTED, ACTIVE, CONCLUDED):
// planned and applied are NOTSTARTED, active is ACTIVE, completed is
// CONCLUDED.
var Statuses = Vocabulary{
	{"planned", catalog.Label{NB: "Planlagt", EN: "Planned"}},
	{"applied", catalog.Label{NB: "Søkt", EN: "Applied for funding"}},
	{"active", catalog.Label{NB: "Pågående", EN: "Active"}},
	{"completed", catalog.Label{NB: "Avsluttet", EN: "Completed"}},
	{"rejected", catalog.Label{NB: "Avslått", EN: "Rejected"}},
}

// CristinStatus maps a portfolio status to Cristin/NVA's project status.
func CristinStatus(status string) string {
	switch status {
	case "active":
		return "ACTIVE"
	case "completed":
		return "CONCLUDED"
	default:
		return "NOTSTARTED"
	}
}

// MunicipalityRoles say whether the municipality owns or takes part.
var MunicipalityRoles = Vocabulary{
	{"owner", catalog.Label{NB: "Prosjekteier", EN: "Project owner"}},
	{"partner", catalog.Label{NB: "Partner", EN: "Partner"}},
}

// PersonRoles are the roles of a person linked to a project: Cristin/NVA's
// project roles plus the collaboration's contact person.
var PersonRoles = Vocabulary{
	{"ProjectManager", catalog.Label{NB: "Prosjektleder", EN: "Project manager"}},
	{"LocalProjectManager", catalog.Label{NB: "Lokal prosjektleder", EN: "Local project manager"}},
	{"ProjectParticipant", catalog.Label{NB: "Prosjektdeltaker", EN: "Project participant"}},
	{"contact", catalog.Label{NB: "Kontaktperson i kommunen", EN: "Municipal contact"}},
}

// PartnerRoles are the roles of a partner institution (CERIF cfProj_OrgUnit
// classification, in Cristin's terms).
var PartnerRoles = Vocabulary{
	{"coordinator", catalog.Label{NB: "Koordinerende institusjon", EN: "Coordinating institution"}},
	{"partner", catalog.Label{NB: "Partner", EN: "Partner"}},
	{"funder", catalog.Label{NB: "Finansierende institusjon", EN: "Funding institution"}},
}

// FundingSources are where the money comes from.
var FundingSources = Vocabulary{
	{"NFR", catalog.Label{NB: "Norges forskningsråd", EN: "Research Council of Norway"}},
	{"EU", catalog.Label{NB: "EU (Horisont Europa m.fl.)", EN: "European Union"}},
	{"HDIR", catalog.Label{NB: "Helsedirektoratet", EN: "Norwegian Directorate of Health"}},
	{"RFF", catalog.Label{NB: "Regionale forskningsfond", EN: "Regional research funds"}},
	{"STATSFORVALTER", catalog.Label{NB: "Statsforvalteren", EN: "County Governor"}},
	{"KS", catalog.Label{NB: "KS", EN: "KS (Norwegian Association of Local and Regional Authorities)"}},
	{"OWN", catalog.Label{NB: "Egenfinansiering", EN: "Own funding"}},
	{"OTHER", catalog.Label{NB: "Annen ekstern finansiering", EN: "Other external funding"}},
}

// External reports whether a funding source counts as external funding in
// the yearly report (everything but the partners' own money).
func External(source string) bool { return source != "OWN" }

// ApprovalAuthorities are the bodies that approve a health project, as in
// Cristin/NVA's project approvals.
var ApprovalAuthorities = Vocabulary{
	{"REK", catalog.Label{NB: "Regional komité for medisinsk og helsefaglig forskningsetikk", EN: "Regional Committee for Medical and Health Research Ethics"}},
	{"DIRHEALTH", catalog.Label{NB: "Helsedirektoratet (dispensasjon fra taushetsplikt)", EN: "Directorate of Health (exemption from confidentiality)"}},
	{"DATATILSYNET", catalog.Label{NB: "Datatilsynet", EN: "Norwegian Data Protection Authority"}},
	{"SIKT", catalog.Label{NB: "Sikt – personverntjenester", EN: "Sikt data protection services"}},
	{"NOMA", catalog.Label{NB: "Direktoratet for medisinske produkter", EN: "Norwegian Medical Products Agency"}},
}

// ApprovalStatuses are Cristin/NVA's approval statuses.
var ApprovalStatuses = Vocabulary{
	{"NOTAPPLIED", catalog.Label{NB: "Ikke søkt", EN: "Not applied"}},
	{"APPLIED", catalog.Label{NB: "Søkt", EN: "Applied"}},
	{"APPROVED", catalog.Label{NB: "Godkjent", EN: "Approved"}},
	{"DECLINED", catalog.Label{NB: "Avslått", EN: "Declined"}},
	{"NOTRELEVANT", catalog.Label{NB: "Ikke relevant", EN: "Not relevant"}},
}

// HealthProjectTypes are Cristin/NVA's kinds of health project.
var HealthProjectTypes = Vocabulary{
	{"DRUGSTUDY", catalog.Label{NB: "Legemiddelutprøving", EN: "Drug study"}},
	{"OTHERCLINICAL", catalog.Label{NB: "Annen klinisk studie", EN: "Other clinical study"}},
	{"NONCLINICAL", catalog.Label{NB: "Ikke-klinisk helseforskning", EN: "Non-clinical health research"}},
}

// DPIAStatuses are the states of a data-protection impact assessment (DPIA).
var DPIAStatuses = Vocabulary{
	{"not_assessed", catalog.Label{NB: "Ikke vurdert", EN: "Not assessed"}},
	{"not_required", catalog.Label{NB: "Ikke påkrevd", EN: "Not required"}},
	{"in_progress", catalog.Label{NB: "Under arbeid", EN: "In progress"}},
	{"completed", catalog.Label{NB: "Gjennomført", EN: "Completed"}},
}

// LegalBases are the grounds for processing health data, with the codes
// the broker's policies use (policies/data.json, which the privacy officer
// keeps), plus consent, which covers a project's own data collection but
// never a release from the broker.
var LegalBases = Vocabulary{
	{"hfl-35", catalog.Label{NB: "Helseforskningsloven § 35 (dispensasjon fra taushetsplikt, vedtatt av REK)", EN: "Health Research Act s. 35 (exemption from confidentiality, granted by REK)"}},
	{"gdpr-9-2-j", catalog.Label{NB: "Personvernforordningen art. 9 nr. 2 bokstav j (forskning)", EN: "GDPR Art. 9(2)(j) (research)"}},
	{"hpl-26", catalog.Label{NB: "Helsepersonelloven § 26 (kvalitetssikring og evaluering)", EN: "Health Personnel Act s. 26 (quality assurance and evaluation)"}},
	{"pjl-6", catalog.Label{NB: "Pasientjournalloven § 6 (behandlingsrettede helseregistre)", EN: "Patient Records Act s. 6 (treatment-related health registries)"}},
	{"fhl-5", catalog.Label{NB: "Folkehelseloven § 5 (oversikt over helsetilstand)", EN: "Public Health Act s. 5 (overview of the population's health)"}},
	{"hol-3-3", catalog.Label{NB: "Helse- og omsorgstjenesteloven § 3-3 (helsefremmende og forebyggende arbeid)", EN: "Health and Care Services Act s. 3-3 (health promotion and prevention)"}},
	{"gdpr-9-2-a", catalog.Label{NB: "Samtykke (personvernforordningen art. 9 nr. 2 bokstav a)", EN: "Consent (GDPR Art. 9(2)(a))"}},
}

// Purposes are what data from the broker would be used for, as the
// policies distinguish them (each has its own legal bases and REK rule).
var Purposes = Vocabulary{
	{"research", catalog.Label{NB: "Forskning", EN: "Research"}},
	{"quality_improvement", catalog.Label{NB: "Kvalitetsforbedring", EN: "Quality improvement"}},
	{"governance", catalog.Label{NB: "Styring og planlegging", EN: "Governance and planning"}},
}

// ServiceAreas are the municipal service units (etater/tjenesteområder) that
// projects and inquiries concern and that R&D contacts are appointed for.
var ServiceAreas = Vocabulary{
	{"home_care", catalog.Label{NB: "Hjemmetjenester", EN: "Home-based care"}},
	{"nursing_homes", catalog.Label{NB: "Sykehjem og institusjon", EN: "Nursing homes"}},
	{"health_stations", catalog.Label{NB: "Helsestasjon og skolehelsetjeneste", EN: "Health stations and school health"}},
	{"gp_emergency", catalog.Label{NB: "Fastlege og legevakt", EN: "GPs and emergency care"}},
	{"mental_health", catalog.Label{NB: "Psykisk helse og rus", EN: "Mental health and substance use"}},
	{"disability", catalog.Label{NB: "Tjenester til personer med funksjonsnedsettelse", EN: "Services for people with disabilities"}},
	{"public_health", catalog.Label{NB: "Folkehelse", EN: "Public health"}},
	{"rehabilitation", catalog.Label{NB: "Rehabilitering og habilitering", EN: "Rehabilitation"}},
}

// PriorityAreas are the collaboration's high-priority areas (innsatsområder)
// as the seeds list them.
var PriorityAreas = Vocabulary{
	{"clinical_practice", catalog.Label{NB: "Klinisk praksis", EN: "Clinical practice"}},
	{"organisation", catalog.Label{NB: "Organisasjon og ledelse", EN: "Organisation and management"}},
	{"welfare_technology", catalog.Label{NB: "Digitale verktøy og velferdsteknologi", EN: "Digital tools and welfare technology"}},
	{"demography", catalog.Label{NB: "Demografiske endringer", EN: "Demographic change"}},
	{"prevention", catalog.Label{NB: "Forebyggende og helsefremmende tiltak", EN: "Prevention and health promotion"}},
	{"coordination", catalog.Label{NB: "Samhandling", EN: "Coordination of services"}},
	{"interdisciplinary", catalog.Label{NB: "Tverrfaglig og helhetlig tjenesteutvikling", EN: "Interdisciplinary service development"}},
	{"user_involvement", catalog.Label{NB: "Brukermedvirkning", EN: "User involvement"}},
}

// ResultKinds are the kinds of result a project reports.
var ResultKinds = Vocabulary{
	{"publication", catalog.Label{NB: "Vitenskapelig publikasjon", EN: "Scientific publication"}},
	{"report", catalog.Label{NB: "Rapport", EN: "Report"}},
	{"knowledge_return", catalog.Label{NB: "Kunnskap tilbakeført til tjenestene", EN: "Knowledge returned to the services"}},
	{"phd_thesis", catalog.Label{NB: "Doktoravhandling", EN: "PhD thesis"}},
}

// PositionKinds are academic positions tied to the municipalities.
var PositionKinds = Vocabulary{
	{"public_phd", catalog.Label{NB: "Offentlig ph.d.", EN: "Public-sector PhD"}},
	{"phd", catalog.Label{NB: "Ph.d.-stipendiat", EN: "PhD candidate"}},
	{"postdoc", catalog.Label{NB: "Postdoktor", EN: "Postdoctoral fellow"}},
	{"combined", catalog.Label{NB: "Kombinert stilling", EN: "Combined position"}},
	{"adjunct", catalog.Label{NB: "Bistilling", EN: "Adjunct position"}},
}
