package policies

import (
	"fmt"
	"sort"
	"strings"
	"time"
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
func (d *Decision) fill(res map[string]any) error {
	allow, ok1 := res["allow"].(bool)
	review, ok2 := res["review"].(bool)
	if !ok1 || !ok2 {
		return fmt.Errorf("decision lacks allow or review")
	}
	d.Allow, d.Review = allow, review
	var err error
	if d.Deny, err = findings(res["deny"]); err != nil {
		return fmt.Errorf("deny: %w", err)
	}
	if d.ReviewReasons, err = findings(res["review_reasons"]); err != nil {
		return fmt.Errorf("review_reasons: %w", err)
	}
	if d.Allow && (len(d.Deny) > 0 || len(d.ReviewReasons) > 0) {
		return fmt.Errorf("decision allows although rules fired")
	}
	o, _ := res["obligations"].(map[string]any)
	d.Obligations = Obligations{
		K:               toInt(o["k"]),
		ProtectionLevel: str(o["protection_level"]),
		RoundingBase:    toInt(o["rounding_base"]),
		GeoLevels:       strList(o["geo_levels"]),
		AgeGroupings:    strList(o["age_groupings"]),
	}
	d.Obligations.Perturbation, _ = o["perturbation"].(bool)
	if d.Allow && d.Obligations.K < 1 {
		return fmt.Errorf("an allowed table has no k in its obligations")
	}
	return nil
}

func findings(v any) ([]Finding, error) {
	list, ok := v.([]any)
	if !ok && v != nil {
		return nil, fmt.Errorf("not a list but %T", v)
	}
	out := make([]Finding, 0, len(list))
	for _, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("finding is %T, not an object", x)
		}
		msg, _ := m["message"].(map[string]any)
		detail, _ := m["detail"].(map[string]any)
		if len(detail) == 0 {
			detail = nil
		}
		out = append(out, Finding{
			Code: str(m["code"]), Title: str(m["title"]), TitleNB: str(m["title_nb"]),
			LegalBasis: str(m["legal_basis"]),
			Message:    Label{NB: str(msg["nb"]), EN: str(msg["en"])},
			Detail:     detail,
		})
	}
	// Sets come back in the policy engine's order; sort for stable output.
	sort.Slice(out, func(i, j int) bool {
		if out[i].Code != out[j].Code {
			return out[i].Code < out[j].Code
		}
		return fmt.Sprint(out[i].Detail) < fmt.Sprint(out[j].Detail)
	})
	return out, nil
}

func (o Obligations) doc() map[string]any {
	return map[string]any{
		"k": o.K, "protection_level": o.ProtectionLevel, "rounding_base": o.RoundingBase,
		"perturbation": o.Perturbation, "geo_levels": o.GeoLevels, "age_groupings": o.AgeGroupings,
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func strList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// toInt reads a number from the policy's result, which rego gives as
// json.Number.
func toInt(v any) int {
	switch x := v.(type) {
	case interface{ Int64() (int64, error) }:
		n, _ := x.Int64()
		return int(n)
	case float64:
		return int(x)
	case int:
		return x
	}
	return 0
}
