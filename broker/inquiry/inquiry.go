// Package inquiry is the registry of research inquiries
// (forskningshenvendelser): the public form through which researchers ask
// the municipalities to take part in a study, the routing of each inquiry to
// the R&D contact (FoU-kontakt) of every municipality and service area it
// names, each municipality's assessment and answer, answer deadlines counted
// in Norwegian working days with reminders before them, notification e-mails
// through the outbox (broker/notify), and the one-step conversion of an
// accepted inquiry into a portfolio project.
//
// A researcher needs no account: Submit answers with a receipt code (also
// mailed to them; only its hash is stored) that ReceiptActor turns into the
// researcher's identity for their own inquiry, to follow it, Amend it while
// no municipality has answered, supply more information or withdraw.
//
// Every change of an assignment's status goes through AssignmentWorkflow, the
// transition table naming the roles allowed, the audit event written and the
// notification sent for each transition. The internal assessment is kept
// apart from the answer the researcher sees.
//
// Personal data and retention. The registry keeps a researcher's name and
// e-mail address (to answer them) and the R&D contacts' names and addresses
// (to route to them), nothing else. A researcher's identity is anonymised
// RetentionMonths (24) after the last answer of an inquiry that did not
// become a project (ApplyRetention; run daily by the broker or with
// `folkekommune inquiry retention`); an inquiry that became a project keeps
// its link, and the person stays as long as they are linked to the project.
// ErasePerson (`folkekommune inquiry erase --email X`) removes a person from
// both registries and the outbox on request, and audits it under a hash of
// the address.
package inquiry

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
)

// Submission is what the public form sends.
type Submission struct {
	Title           string           `json:"title"`
	Kind            string           `json:"kind"` // a portfolio project type
	Description     string           `json:"description"`
	Institution     string           `json:"institution"`
	ResearcherName  string           `json:"researcher_name"`
	ResearcherEmail string           `json:"researcher_email"`
	Funding         string           `json:"funding"`        // who funds it, and how much
	FundingStatus   string           `json:"funding_status"` // see FundingStatuses
	Resources       string           `json:"resources_needed"`
	KnowledgeReturn string           `json:"knowledge_return"`
	TargetGroups    string           `json:"target_groups"`
	EthicsStatus    string           `json:"ethics_status"` // Cristin approval status
	EthicsReference string           `json:"ethics_reference,omitempty"`
	Start           portfolio.Date   `json:"start"`
	End             portfolio.Date   `json:"end"`
	Units           []portfolio.Unit `json:"units"` // the ticked municipalities and service areas
	Needs           []int64          `json:"needs,omitempty"`

	// Spam guards: Website is a field hidden from people (a bot fills it),
	// and StartedAt is when the form was served.
	Website   string    `json:"website,omitempty"`
	StartedAt time.Time `json:"started_at,omitempty"`
}

// FundingStatuses follow the Research Council's application phases.
var FundingStatuses = portfolio.Vocabulary{
	{Code: "none", Label: label("Ingen finansiering søkt", "No funding sought")},
	{Code: "planned", Label: label("Søknad planlagt", "Application planned")},
	{Code: "applied", Label: label("Søknad sendt", "Application submitted")},
	{Code: "granted", Label: label("Innvilget", "Granted")},
}

// Statuses are an assignment's states: the municipality's answer.
var Statuses = portfolio.Vocabulary{
	{Code: "received", Label: label("Mottatt", "Received")},
	{Code: "under_assessment", Label: label("Til vurdering", "Under assessment")},
	{Code: "needs_information", Label: label("Trenger mer informasjon", "Needs more information")},
	{Code: "accepted", Label: label("Akseptert", "Accepted")},
	{Code: "declined", Label: label("Avslått", "Declined")},
	{Code: "withdrawn", Label: label("Trukket", "Withdrawn")},
}

// Open reports whether an assignment in status s still awaits an answer.
func Open(s string) bool {
	return s == "received" || s == "under_assessment" || s == "needs_information"
}

// Limits of the public form.
const (
	MaxTitle      = 200
	MaxLongText   = 4000
	MaxMediumText = 2000
	MaxTotalText  = 10000 // all text fields together
	MinFillTime   = 5 * time.Second
	MaxPerDay     = 5 // submissions from one address per 24 hours
)

// Validate checks the submission and normalises its text. Spam guards are
// checked by Submit, which knows the time.
func (s *Submission) Validate() error {
	var err error
	type field struct {
		name      string
		v         *string
		max       int
		required  bool
		multiline bool
	}
	fields := []field{
		{"title", &s.Title, MaxTitle, true, false},
		{"description", &s.Description, MaxLongText, true, true},
		{"institution", &s.Institution, MaxTitle, true, false},
		{"researcher_name", &s.ResearcherName, MaxTitle, true, false},
		{"funding", &s.Funding, MaxMediumText, true, true},
		{"resources_needed", &s.Resources, MaxMediumText, true, true},
		{"knowledge_return", &s.KnowledgeReturn, MaxMediumText, true, true},
		{"target_groups", &s.TargetGroups, MaxMediumText, true, true},
		{"ethics_reference", &s.EthicsReference, 100, false, false},
	}
	total := 0
	for _, f := range fields {
		total += utf8.RuneCountInString(*f.v)
	}
	if total > MaxTotalText {
		return &portfolio.InputError{Field: "inquiry", Problem: fmt.Sprintf("is %d characters in all; at most %d are allowed", total, MaxTotalText)}
	}
	for _, f := range fields {
		if *f.v, err = portfolio.Text(f.name, *f.v, f.max, f.required, f.multiline); err != nil {
			return err
		}
	}
	if s.ResearcherEmail, err = portfolio.Email("researcher_email", s.ResearcherEmail, true); err != nil {
		return err
	}
	if !portfolio.ProjectTypes.Has(s.Kind) {
		return &portfolio.InputError{Field: "kind", Problem: fmt.Sprintf("%q is not one of %s", s.Kind, strings.Join(portfolio.ProjectTypes.Codes(), ", "))}
	}
	if !FundingStatuses.Has(s.FundingStatus) {
		return &portfolio.InputError{Field: "funding_status", Problem: fmt.Sprintf("%q is not one of %s", s.FundingStatus, strings.Join(FundingStatuses.Codes(), ", "))}
	}
	if !portfolio.ApprovalStatuses.Has(s.EthicsStatus) {
		return &portfolio.InputError{Field: "ethics_status", Problem: fmt.Sprintf("%q is not one of %s", s.EthicsStatus, strings.Join(portfolio.ApprovalStatuses.Codes(), ", "))}
	}
	if s.EthicsStatus == "APPROVED" && s.EthicsReference == "" {
		return &portfolio.InputError{Field: "ethics_reference", Problem: "is required when the ethics status is APPROVED"}
	}
	if err := portfolio.Period("start", s.Start, "end", s.End, true); err != nil {
		return err
	}
	if len(s.Units) == 0 {
		return &portfolio.InputError{Field: "units", Problem: "tick at least one municipality"}
	}
	if err := portfolio.CheckUnits("units", s.Units); err != nil {
		return err
	}
	if len(s.Needs) > 20 {
		return &portfolio.InputError{Field: "needs", Problem: "at most 20 knowledge needs can be named"}
	}
	return nil
}

// fingerprint identifies a submission for the duplicate guard: the same
// person sending the same title and description again.
func (s *Submission) fingerprint() string {
	h := sha256.New()
	for _, x := range []string{s.ResearcherEmail, s.Title, s.Description} {
		h.Write([]byte(strings.ToLower(strings.Join(strings.Fields(x), " "))))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// newReceipt makes a receipt code: 24 random bytes, URL-safe. The
// researcher, who has no account, uses it to follow, amend or withdraw
// their inquiry; only its hash is stored.
func newReceipt() (code, hash string, err error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("make receipt code: %w", err)
	}
	code = base64.RawURLEncoding.EncodeToString(b)
	return code, receiptHash(code), nil
}

func receiptHash(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

// Inquiry is a stored inquiry with its assignments.
type Inquiry struct {
	ID int64 `json:"id"`
	Submission
	ReceivedAt  time.Time    `json:"received_at"`
	Receipt     string       `json:"receipt,omitempty"` // the receipt code, only in Submit's answer
	ProjectID   *int64       `json:"project_id,omitempty"`
	Erased      bool         `json:"erased,omitempty"`
	Assignments []Assignment `json:"assignments"`
	// StatusByMunicipality summarises the assignments per municipality
	// (see MunicipalityStatus).
	StatusByMunicipality map[string]string `json:"status_by_municipality,omitempty"`
}

// Ref is the inquiry's reference in audit entries and notifications.
func (i *Inquiry) Ref() string { return fmt.Sprintf("inquiry/%d", i.ID) }

// Assignment is the inquiry as one municipality's service area sees it.
type Assignment struct {
	ID           int64          `json:"id"`
	InquiryID    int64          `json:"inquiry_id"`
	Municipality string         `json:"municipality"`
	ServiceArea  string         `json:"service_area,omitempty"`
	ContactID    *int64         `json:"contact_id,omitempty"`
	ContactEmail string         `json:"contact_email,omitempty"`
	RoutedBy     string         `json:"routed_by"` // unit, municipality or advisers (the fallback)
	Status       string         `json:"status"`
	Assessment   string         `json:"assessment,omitempty"`      // internal
	Answer       string         `json:"answer,omitempty"`          // to the researcher
	Note         string         `json:"researcher_note,omitempty"` // from the researcher
	Deadline     portfolio.Date `json:"deadline"`
	AnsweredAt   *time.Time     `json:"answered_at,omitempty"`
	RemindedAt   *time.Time     `json:"reminded_at,omitempty"`
	UpdatedAt    time.Time      `json:"updated_at"`
}

// MunicipalityStatus is one municipality's answer as a whole, from its
// assignments (one per ticked service area): accepted if any unit accepted;
// otherwise still open if any unit is (needs_information before
// under_assessment before received); otherwise declined if any unit
// declined; otherwise withdrawn.
func (i *Inquiry) MunicipalityStatus() map[string]string {
	rank := map[string]int{"withdrawn": 0, "declined": 1, "received": 2, "under_assessment": 3, "needs_information": 4, "accepted": 5}
	out := map[string]string{}
	for _, a := range i.Assignments {
		if cur, ok := out[a.Municipality]; !ok || rank[a.Status] > rank[cur] {
			out[a.Municipality] = a.Status
		}
	}
	return out
}

// ForResearcher is the view the researcher gets: no internal assessments,
// no contact addresses.
func (i Inquiry) ForResearcher() Inquiry {
	as := make([]Assignment, len(i.Assignments))
	for k, a := range i.Assignments {
		a.Assessment, a.ContactEmail, a.ContactID = "", "", nil
		as[k] = a
	}
	i.Assignments = as
	i.Website, i.StartedAt = "", time.Time{}
	return i
}

func label(nb, en string) catalog.Label { return catalog.Label{NB: nb, EN: en} }
