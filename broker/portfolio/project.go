// Package portfolio is the collaboration's register of research, innovation
// and education projects that the municipalities take part in (plan measure
// 6.1.1) and of the municipalities' knowledge needs. It is the basis of the
// yearly report to the city council, and it is where the broker learns which
// projects may request data: a project's data-access approval, with its
// ethics approval, legal basis and members, is what the policies read.
//
// Vocabularies are those Norwegian research administration already uses:
// Cristin/NVA's project status, roles, approval authorities and statuses and
// health-project types; the Research Council's application phases; CERIF's
// role-typed links between a project and people, organisations, funding and
// results. Every status change goes through one transition table
// (ProjectWorkflow, AccessWorkflow) that names for each transition the roles
// allowed, the audit event written and the notification sent; the change,
// its audit entry and its notification commit in one transaction.
//
// Personal data: the names and e-mail addresses of the people linked to a
// project, kept while the project is in the portfolio; the public view
// leaves the e-mail addresses out, and broker/inquiry's ErasePerson removes
// a person from both registries on request.
package portfolio

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
)

// Project is one entry of the portfolio.
type Project struct {
	ID                int64      `json:"id"`
	Title             string     `json:"title"`
	Summary           string     `json:"summary"`
	Type              string     `json:"type"`
	HealthProjectType string     `json:"health_project_type,omitempty"`
	Status            string     `json:"status"`
	Start             Date       `json:"start,omitempty"`
	End               Date       `json:"end,omitempty"`
	OwnerInstitution  string     `json:"owner_institution"`
	MunicipalityRole  string     `json:"municipality_role"`
	Units             []Unit     `json:"units"`
	Partners          []Partner  `json:"partners,omitempty"`
	People            []Person   `json:"people,omitempty"`
	Members           []string   `json:"members,omitempty"`
	Funding           []Funding  `json:"funding,omitempty"`
	Areas             []string   `json:"priority_areas,omitempty"`
	Needs             []int64    `json:"needs,omitempty"`
	UserInvolvement   string     `json:"user_involvement,omitempty"`
	Ethics            Ethics     `json:"ethics"`
	DPIA              string     `json:"dpia_status"`
	LegalBasis        string     `json:"legal_basis,omitempty"`
	Purpose           string     `json:"purpose,omitempty"` // of data requested from the broker
	DataAccess        string     `json:"data_access"`
	DataAccessBy      string     `json:"data_access_by,omitempty"`
	DataAccessAt      *time.Time `json:"data_access_at,omitempty"`
	Results           []Result   `json:"results,omitempty"`
	Positions         []Position `json:"positions,omitempty"`
	InquiryID         *int64     `json:"inquiry_id,omitempty"`
	CreatedBy         string     `json:"created_by"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
}

// Unit is a participating municipality, or a service unit within it.
type Unit struct {
	Municipality string `json:"municipality"`
	ServiceArea  string `json:"service_area,omitempty"` // "" is the municipality as a whole
}

// Partner is a partner institution and its role.
type Partner struct {
	Institution string `json:"institution"`
	Role        string `json:"role"`
}

// Person is a person linked to the project in a Cristin role.
type Person struct {
	Role        string `json:"role"`
	Name        string `json:"name"`
	Email       string `json:"email,omitempty"`
	Affiliation string `json:"affiliation,omitempty"`
}

// Funding is money from one source.
type Funding struct {
	Source    string `json:"source"`
	Programme string `json:"programme,omitempty"`
	AmountNOK int64  `json:"amount_nok"`
	Year      int    `json:"year,omitempty"` // 0: the whole period
}

// Ethics is the project's approval by an authority, REK's above all.
type Ethics struct {
	Authority string `json:"authority,omitempty"`
	Reference string `json:"reference,omitempty"`
	Status    string `json:"status,omitempty"`
	Date      Date   `json:"date,omitempty"`
}

// Result is a publication, report or knowledge returned to the services.
type Result struct {
	Kind  string `json:"kind"`
	Title string `json:"title"`
	DOI   string `json:"doi,omitempty"`
	URL   string `json:"url,omitempty"`
	Year  int    `json:"year"`
}

// Position is an academic position tied to a municipality.
type Position struct {
	Kind         string `json:"kind"`
	Municipality string `json:"municipality"`
	StartYear    int    `json:"start_year"`
	EndYear      int    `json:"end_year,omitempty"`
}

// Municipalities lists the distinct participating municipalities.
func (p *Project) Municipalities() []string {
	var out []string
	seen := map[string]bool{}
	for _, u := range p.Units {
		if !seen[u.Municipality] {
			seen[u.Municipality] = true
			out = append(out, u.Municipality)
		}
	}
	return out
}

// Concerns reports whether the project concerns municipality m.
func (p *Project) Concerns(m string) bool {
	for _, u := range p.Units {
		if u.Municipality == m {
			return true
		}
	}
	return false
}

// HasMember reports whether user may act as a member of the project.
func (p *Project) HasMember(user string) bool {
	if user == "" {
		return false
	}
	if strings.EqualFold(p.CreatedBy, user) {
		return true
	}
	for _, m := range p.Members {
		if strings.EqualFold(m, user) {
			return true
		}
	}
	return false
}

// relation is how actor stands to the project.
func (p *Project) relation(a Actor) Relation {
	return Relation{Municipality: a.Municipality != "" && p.Concerns(a.Municipality), Own: p.HasMember(a.ID)}
}

// Public is the view of the project anyone may read: without e-mail
// addresses, members or the data-access approver.
func (p Project) Public() Project {
	people := make([]Person, len(p.People))
	for i, x := range p.People {
		x.Email = ""
		people[i] = x
	}
	p.People = people
	p.Members = nil
	p.DataAccessBy = ""
	p.CreatedBy = ""
	return p
}

// rekReference is REK's case-number form, as the policies check it.
var rekReference = regexp.MustCompile(`^(REK )?[0-9]{4}/[0-9]{1,7}$`)

// IsREKReference reports whether s has the form of a REK case number.
func IsREKReference(s string) bool { return rekReference.MatchString(s) }

var doiShape = regexp.MustCompile(`^10\.\d{4,9}/[^\s<>"]+$`)

const (
	maxTitle   = 200
	maxSummary = 4000
	maxShort   = 200
	maxItems   = 100
	maxAmount  = 10_000_000_000 // NOK; more is a typing error
)

// Validate checks every field and normalises text, returning the first
// problem with the field named. Status and data access are not input here:
// they change only through the workflows.
func (p *Project) Validate() error {
	var err error
	if p.Title, err = Text("title", p.Title, maxTitle, true, false); err != nil {
		return err
	}
	if p.Summary, err = Text("summary", p.Summary, maxSummary, true, true); err != nil {
		return err
	}
	if !ProjectTypes.Has(p.Type) {
		return &InputError{"type", fmt.Sprintf("%q is not one of %s", p.Type, strings.Join(ProjectTypes.Codes(), ", "))}
	}
	if p.HealthProjectType != "" && !HealthProjectTypes.Has(p.HealthProjectType) {
		return &InputError{"health_project_type", fmt.Sprintf("%q is not one of %s", p.HealthProjectType, strings.Join(HealthProjectTypes.Codes(), ", "))}
	}
	if err := Period("start", p.Start, "end", p.End, false); err != nil {
		return err
	}
	if p.OwnerInstitution, err = Text("owner_institution", p.OwnerInstitution, maxShort, true, false); err != nil {
		return err
	}
	if !MunicipalityRoles.Has(p.MunicipalityRole) {
		return &InputError{"municipality_role", fmt.Sprintf("%q is not owner or partner", p.MunicipalityRole)}
	}
	if len(p.Units) == 0 {
		return &InputError{"units", "name at least one participating municipality"}
	}
	if err := checkUnits("units", p.Units); err != nil {
		return err
	}
	if len(p.Partners) > maxItems || len(p.People) > maxItems || len(p.Funding) > maxItems || len(p.Results) > 10*maxItems {
		return &InputError{"project", "has too many partners, people, funding lines or results"}
	}
	for i := range p.Partners {
		f := fmt.Sprintf("partners[%d]", i)
		if p.Partners[i].Institution, err = Text(f+".institution", p.Partners[i].Institution, maxShort, true, false); err != nil {
			return err
		}
		if !PartnerRoles.Has(p.Partners[i].Role) {
			return &InputError{f + ".role", fmt.Sprintf("%q is not one of %s", p.Partners[i].Role, strings.Join(PartnerRoles.Codes(), ", "))}
		}
	}
	for i := range p.People {
		f := fmt.Sprintf("people[%d]", i)
		x := &p.People[i]
		if !PersonRoles.Has(x.Role) {
			return &InputError{f + ".role", fmt.Sprintf("%q is not one of %s", x.Role, strings.Join(PersonRoles.Codes(), ", "))}
		}
		if x.Name, err = Text(f+".name", x.Name, maxShort, true, false); err != nil {
			return err
		}
		if x.Email, err = Email(f+".email", x.Email, false); err != nil {
			return err
		}
		if x.Affiliation, err = Text(f+".affiliation", x.Affiliation, maxShort, false, false); err != nil {
			return err
		}
	}
	for i := range p.Members {
		if p.Members[i], err = Text(fmt.Sprintf("members[%d]", i), p.Members[i], maxShort, true, false); err != nil {
			return err
		}
	}
	for i := range p.Funding {
		f := fmt.Sprintf("funding[%d]", i)
		x := &p.Funding[i]
		if !FundingSources.Has(x.Source) {
			return &InputError{f + ".source", fmt.Sprintf("%q is not one of %s", x.Source, strings.Join(FundingSources.Codes(), ", "))}
		}
		if x.Programme, err = Text(f+".programme", x.Programme, maxShort, false, false); err != nil {
			return err
		}
		if x.AmountNOK < 0 || x.AmountNOK > maxAmount {
			return &InputError{f + ".amount_nok", fmt.Sprintf("%d is not an amount between 0 and %d NOK", x.AmountNOK, int64(maxAmount))}
		}
		if x.Year != 0 && (x.Year < 1990 || x.Year > 2100) {
			return &InputError{f + ".year", fmt.Sprintf("%d is not a year", x.Year)}
		}
	}
	for i, a := range p.Areas {
		if !PriorityAreas.Has(a) {
			return &InputError{fmt.Sprintf("priority_areas[%d]", i), fmt.Sprintf("%q is not one of %s", a, strings.Join(PriorityAreas.Codes(), ", "))}
		}
	}
	if p.UserInvolvement, err = Text("user_involvement", p.UserInvolvement, maxSummary, false, true); err != nil {
		return err
	}
	if err := p.Ethics.validate(); err != nil {
		return err
	}
	if p.DPIA == "" {
		p.DPIA = "not_assessed"
	}
	if !DPIAStatuses.Has(p.DPIA) {
		return &InputError{"dpia_status", fmt.Sprintf("%q is not one of %s", p.DPIA, strings.Join(DPIAStatuses.Codes(), ", "))}
	}
	if p.LegalBasis != "" && !LegalBases.Has(p.LegalBasis) {
		return &InputError{"legal_basis", fmt.Sprintf("%q is not one of %s", p.LegalBasis, strings.Join(LegalBases.Codes(), ", "))}
	}
	if p.Purpose != "" && !Purposes.Has(p.Purpose) {
		return &InputError{"purpose", fmt.Sprintf("%q is not one of %s", p.Purpose, strings.Join(Purposes.Codes(), ", "))}
	}
	for i := range p.Results {
		f := fmt.Sprintf("results[%d]", i)
		x := &p.Results[i]
		if !ResultKinds.Has(x.Kind) {
			return &InputError{f + ".kind", fmt.Sprintf("%q is not one of %s", x.Kind, strings.Join(ResultKinds.Codes(), ", "))}
		}
		if x.Title, err = Text(f+".title", x.Title, 500, true, false); err != nil {
			return err
		}
		x.DOI = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(x.DOI), "https://doi.org/"), "doi:")
		if x.DOI != "" && !doiShape.MatchString(x.DOI) {
			return &InputError{f + ".doi", fmt.Sprintf("%q is not a DOI (10.NNNN/suffix)", x.DOI)}
		}
		if x.URL, err = Text(f+".url", x.URL, 500, false, false); err != nil {
			return err
		}
		if x.URL != "" && !strings.HasPrefix(x.URL, "https://") && !strings.HasPrefix(x.URL, "http://") {
			return &InputError{f + ".url", "must start with https:// or http://"}
		}
		if x.Year < 1990 || x.Year > 2100 {
			return &InputError{f + ".year", fmt.Sprintf("%d is not a year", x.Year)}
		}
	}
	for i, x := range p.Positions {
		f := fmt.Sprintf("positions[%d]", i)
		if !PositionKinds.Has(x.Kind) {
			return &InputError{f + ".kind", fmt.Sprintf("%q is not one of %s", x.Kind, strings.Join(PositionKinds.Codes(), ", "))}
		}
		if _, ok := catalog.MunicipalityByCode(x.Municipality); !ok {
			return &InputError{f + ".municipality", fmt.Sprintf("%q is not a municipality of the collaboration", x.Municipality)}
		}
		if x.StartYear < 1990 || x.StartYear > 2100 {
			return &InputError{f + ".start_year", fmt.Sprintf("%d is not a year", x.StartYear)}
		}
		if x.EndYear != 0 && x.EndYear < x.StartYear {
			return &InputError{f + ".end_year", fmt.Sprintf("%d is before start_year %d", x.EndYear, x.StartYear)}
		}
	}
	return nil
}

func (e *Ethics) validate() error {
	var err error
	if e.Authority != "" && !ApprovalAuthorities.Has(e.Authority) {
		return &InputError{"ethics.authority", fmt.Sprintf("%q is not one of %s", e.Authority, strings.Join(ApprovalAuthorities.Codes(), ", "))}
	}
	if e.Status != "" && !ApprovalStatuses.Has(e.Status) {
		return &InputError{"ethics.status", fmt.Sprintf("%q is not one of %s", e.Status, strings.Join(ApprovalStatuses.Codes(), ", "))}
	}
	if e.Reference, err = Text("ethics.reference", e.Reference, 100, false, false); err != nil {
		return err
	}
	if e.Authority == "REK" && e.Reference != "" && !rekReference.MatchString(e.Reference) {
		return &InputError{"ethics.reference", fmt.Sprintf("%q is not a REK case number (YYYY/NNNNNN)", e.Reference)}
	}
	if err := checkDate("ethics.date", e.Date, false); err != nil {
		return err
	}
	if e.Status == "APPROVED" {
		if e.Authority == "" {
			return &InputError{"ethics.authority", "is required when the approval status is APPROVED"}
		}
		if e.Reference == "" {
			return &InputError{"ethics.reference", "is required when the approval status is APPROVED"}
		}
		if e.Date == "" {
			return &InputError{"ethics.date", "is required when the approval status is APPROVED"}
		}
	}
	return nil
}

// checkUnits checks municipalities and service areas and refuses duplicates.
func checkUnits(field string, units []Unit) error {
	if len(units) > 9*(len(ServiceAreas)+1) {
		return &InputError{field, "has more entries than there are municipalities and service areas"}
	}
	seen := map[Unit]bool{}
	for i, u := range units {
		f := fmt.Sprintf("%s[%d]", field, i)
		if _, ok := catalog.MunicipalityByCode(u.Municipality); !ok {
			return &InputError{f + ".municipality", fmt.Sprintf("%q is not a municipality of the collaboration", u.Municipality)}
		}
		if u.ServiceArea != "" && !ServiceAreas.Has(u.ServiceArea) {
			return &InputError{f + ".service_area", fmt.Sprintf("%q is not one of %s", u.ServiceArea, strings.Join(ServiceAreas.Codes(), ", "))}
		}
		if seen[u] {
			return &InputError{f, fmt.Sprintf("%s/%s is listed twice", u.Municipality, u.ServiceArea)}
		}
		seen[u] = true
	}
	return nil
}

// CheckUnits checks a list of municipalities and service areas, as
// inquiries and needs use them.
func CheckUnits(field string, units []Unit) error { return checkUnits(field, units) }
