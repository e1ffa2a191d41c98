package policies

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Outcomes of a decision.
const (
	OutcomeAllow  = "allow"
	OutcomeReview = "review"
	OutcomeDeny   = "deny"
)

// Decision is the policy's answer to one request.
type Decision struct {
	ID            string      `json:"id"`
	Time          time.Time   `json:"time"`
	PolicyVersion string      `json:"policy_version"`
	Allow         bool        `json:"allow"`
	Review        bool        `json:"review"`         // wait for the privacy officer
	Deny          []Finding   `json:"deny"`           // every rule that refuses the request
	ReviewReasons []Finding   `json:"review_reasons"` // every rule that sends it to review
	Obligations   Obligations `json:"obligations"`
}

// Label is a text in Norwegian bokmål and English.
type Label struct {
	NB string `json:"nb"`
	EN string `json:"en"`
}

// Finding is one rule that fired, documented from its METADATA.
type Finding struct {
	Code       string         `json:"code"` // stable reason code, e.g. project_expired
	Title      string         `json:"title"`
	TitleNB    string         `json:"title_nb"`
	LegalBasis string         `json:"legal_basis"`
	Message    Label          `json:"message"`
	Detail     map[string]any `json:"detail,omitempty"`
}

// Obligations are what the release path must apply to an allowed table.
type Obligations struct {
	K               int      `json:"k"`
	ProtectionLevel string   `json:"protection_level"` // standard, sensitive
	RoundingBase    int      `json:"rounding_base"`
	Perturbation    bool     `json:"perturbation"`
	GeoLevels       []string `json:"geo_levels"`    // cluster, municipality, district
	AgeGroupings    []string `json:"age_groupings"` // broad, 10y, 5y, single
}

// Outcome is allow, review or deny.
func (d Decision) Outcome() string {
	switch {
	case d.Allow:
		return OutcomeAllow
	case d.Review:
		return OutcomeReview
	default:
		return OutcomeDeny
	}
}

// Codes lists the reason codes of every rule that fired, denials first.
func (d Decision) Codes() []string {
	var out []string
	for _, f := range d.Deny {
		out = append(out, f.Code)
	}
	for _, f := range d.ReviewReasons {
		out = append(out, f.Code)
	}
	return out
}

// Explain renders the decision for a person in Norwegian ("nb") or English
// ("en"): the outcome, then every rule that fired with its reason code, title,
// legal basis and message. It never shows an evaluation trace.
func (d Decision) Explain(lang string) string {
	nb := lang != "en"
	var b strings.Builder
	outcome := map[string][2]string{
		OutcomeAllow:  {"Tillatt", "Allowed"},
		OutcomeReview: {"Til manuell vurdering hos personvernombudet", "Sent to manual review by the privacy officer"},
		OutcomeDeny:   {"Avslått", "Denied"},
	}[d.Outcome()]
	pick := func(p [2]string) string {
		if nb {
			return p[0]
		}
		return p[1]
	}
	version := d.PolicyVersion
	if len(version) > 12 {
		version = version[:12]
	}
	fmt.Fprintf(&b, "%s (%s %s, %s %s)\n", pick(outcome), pick([2]string{"beslutning", "decision"}), d.ID,
		pick([2]string{"regelverk", "policy"}), version)
	section := func(head [2]string, fs []Finding) {
		if len(fs) == 0 {
			return
		}
		fmt.Fprintf(&b, "%s:\n", pick(head))
		for _, f := range fs {
			title, msg := f.TitleNB, f.Message.NB
			if !nb || title == "" {
				title = f.Title
			}
			if !nb || msg == "" {
				msg = f.Message.EN
			}
			fmt.Fprintf(&b, "  - [%s] %s\n    %s\n    %s: %s\n", f.Code, title, msg, pick([2]string{"Rettslig grunnlag", "Legal basis"}), f.LegalBasis)
			if fields, ok := f.Detail["fields"].([]any); ok {
				for _, x := range fields {
					fmt.Fprintf(&b, "    * %v\n", x)
				}
			}
		}
	}
	section([2]string{"Avslått fordi", "Denied because"}, d.Deny)
	section([2]string{"Til vurdering fordi", "For review because"}, d.ReviewReasons)
	if d.Allow {
		o := d.Obligations
		fmt.Fprintf(&b, "%s: k=%d, %s=%s, %s=%d, %s=%t, %s=%s, %s=%s\n",
			pick([2]string{"Vilkår", "Obligations"}), o.K,
			pick([2]string{"beskyttelsesnivå", "protection"}), o.ProtectionLevel,
			pick([2]string{"avrunding", "rounding"}), o.RoundingBase,
			pick([2]string{"støy", "perturbation"}), o.Perturbation,
			pick([2]string{"geografi", "geography"}), strings.Join(o.GeoLevels, ","),
			pick([2]string{"aldersgrupper", "age groups"}), strings.Join(o.AgeGroupings, ","))
	}
	return b.String()
}

// denied turns d into a denial caused by err, for decisions that could not
// be taken: the broker never acts on a decision it does not have.
func denied(d Decision, err error) Decision {
	d.Allow, d.Review = false, false
	d.Deny = append(d.Deny, Finding{
		Code:       "policy_error",
		Title:      "The policy could not decide",
		TitleNB:    "Regelverket kunne ikke avgjøre forespørselen",
		LegalBasis: "Personvernforordningen art. 25 (innebygd personvern) / GDPR Art. 25",
		Message: Label{
			NB: "Forespørselen avslås fordi regelverket ikke kunne vurdere den: " + err.Error(),
			EN: "The request is denied because the policy could not assess it: " + err.Error(),
		},
	})
	return d
}

// fill reads the policy's result object into d.
func (d *Decision) fill(res ast.Value) error {
	obj, ok := res.(ast.Object)
	if !ok {
		return fmt.Errorf("decision is a %s, not an object", ast.ValueName(res))
	}
	allow, ok1 := field(obj, "allow").(ast.Boolean)
	review, ok2 := field(obj, "review").(ast.Boolean)
	if !ok1 || !ok2 {
		return fmt.Errorf("decision lacks allow or review")
	}
	d.Allow, d.Review = bool(allow), bool(review)
	var err error
	if d.Deny, err = findings(field(obj, "deny")); err != nil {
		return fmt.Errorf("deny: %w", err)
	}
	if d.ReviewReasons, err = findings(field(obj, "review_reasons")); err != nil {
		return fmt.Errorf("review_reasons: %w", err)
	}
	if d.Allow && (len(d.Deny) > 0 || len(d.ReviewReasons) > 0) {
		return fmt.Errorf("decision allows although rules fired")
	}
	o, _ := field(obj, "obligations").(ast.Object)
	d.Obligations = Obligations{
		K:               toInt(field(o, "k")),
		ProtectionLevel: str(field(o, "protection_level")),
		RoundingBase:    toInt(field(o, "rounding_base")),
		GeoLevels:       strList(field(o, "geo_levels")),
		AgeGroupings:    strList(field(o, "age_groupings")),
	}
	if p, ok := field(o, "perturbation").(ast.Boolean); ok {
		d.Obligations.Perturbation = bool(p)
	}
	if d.Allow && d.Obligations.K < 1 {
		return fmt.Errorf("an allowed table has no k in its obligations")
	}
	return nil
}

// field is the value at key in obj, nil when obj is nil or lacks it.
func field(obj ast.Object, key string) ast.Value {
	if obj == nil {
		return nil
	}
	t := obj.Get(fieldTerm(key))
	if t == nil {
		return nil
	}
	return t.Value
}

func findings(v ast.Value) ([]Finding, error) {
	if v == nil {
		return []Finding{}, nil
	}
	set, ok := v.(ast.Set)
	if !ok {
		return nil, fmt.Errorf("not a set but %s", ast.ValueName(v))
	}
	out := make([]Finding, 0, set.Len())
	var err error
	set.Foreach(func(t *ast.Term) {
		m, ok := t.Value.(ast.Object)
		if !ok {
			err = fmt.Errorf("finding is %s, not an object", ast.ValueName(t.Value))
			return
		}
		msg, _ := field(m, "message").(ast.Object)
		var detail map[string]any
		if dv, ok := field(m, "detail").(ast.Object); ok && dv.Len() > 0 {
			// The detail is what the rule chose to show; the Go value keeps
			// the JSON shape (numbers as json.Number) the log and the
			// explanation print.
			x, jerr := ast.JSON(dv)
			if jerr != nil {
				err = fmt.Errorf("finding detail: %w", jerr)
				return
			}
			detail, _ = x.(map[string]any)
		}
		out = append(out, Finding{
			Code: str(field(m, "code")), Title: str(field(m, "title")), TitleNB: str(field(m, "title_nb")),
			LegalBasis: str(field(m, "legal_basis")),
			Message:    Label{NB: str(field(msg, "nb")), EN: str(field(msg, "en"))},
			Detail:     detail,
		})
	})
	if err != nil {
		return nil, err
	}
	// Sets come back in the policy engine's order; sort for stable output.
	slices.SortFunc(out, func(a, b Finding) int {
		if c := strings.Compare(a.Code, b.Code); c != 0 {
			return c
		}
		return strings.Compare(fmt.Sprint(a.Detail), fmt.Sprint(b.Detail))
	})
	return out, nil
}

func (o Obligations) doc() map[string]any {
	return map[string]any{
		"k": o.K, "protection_level": o.ProtectionLevel, "rounding_base": o.RoundingBase,
		"perturbation": o.Perturbation, "geo_levels": o.GeoLevels, "age_groupings": o.AgeGroupings,
	}
}

func str(v ast.Value) string {
	s, _ := v.(ast.String)
	return string(s)
}

func strList(v ast.Value) []string {
	arr, _ := v.(*ast.Array)
	if arr == nil {
		return []string{}
	}
	out := make([]string, 0, arr.Len())
	arr.Foreach(func(t *ast.Term) {
		if s, ok := t.Value.(ast.String); ok {
			out = append(out, string(s))
		}
	})
	return out
}

// toInt reads an integer from the policy's result.
func toInt(v ast.Value) int {
	n, ok := v.(ast.Number)
	if !ok {
		return 0
	}
	i, ok := n.Int()
	if !ok {
		return 0
	}
	return i
}
