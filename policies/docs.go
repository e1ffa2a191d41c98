package policies

import (
	"fmt"
	"io"
	"strings"
)

// WriteRules renders the policy for the privacy officer, in Norwegian ("nb")
// or English ("en"): the version, its test results, and every rule with its
// reason code, effect, title, description, legal basis, owner, source, tests
// and coverage. The decision rules come first; helpers are listed after them.
func (v *Version) WriteRules(w io.Writer, lang string) error {
	nb := lang != "en"
	t := func(no, en string) string {
		if nb {
			return no
		}
		return en
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# %s %s\n\n", t("Regelverk", "Policy"), v.Short())
	fmt.Fprintf(&b, "- %s: %s\n", t("Versjon (SHA-256 av regler og data)", "Version (SHA-256 of rules and data)"), v.Hash)
	fmt.Fprintf(&b, "- %s: %s\n", t("Kilde", "Source"), v.Source)
	fmt.Fprintf(&b, "- %s: %d %s, %d %s, %s %.1f %%\n\n", t("Tester", "Tests"), v.Tests.Passed, t("bestått", "passed"),
		v.Tests.Failed, t("feilet", "failed"), t("dekning", "coverage"), v.Tests.Coverage)

	fmt.Fprintf(&b, "## %s\n\n", t("Regler", "Rules"))
	for _, r := range v.Rules {
		if r.Code == "" {
			continue
		}
		title := r.Title
		msg := r.Message.EN
		if nb {
			title, msg = r.TitleNB, r.Message.NB
		}
		effect := map[string]string{"deny": t("avslår", "denies"), "review": t("sender til manuell vurdering", "sends to review")}[r.Effect]
		fmt.Fprintf(&b, "### %s — `%s`\n\n", title, r.Code)
		fmt.Fprintf(&b, "- %s: %s\n", t("Virkning", "Effect"), effect)
		if nb {
			fmt.Fprintf(&b, "- English title: %s\n", r.Title)
		}
		fmt.Fprintf(&b, "- %s: %s\n", t("Melding", "Message"), msg)
		fmt.Fprintf(&b, "- %s: %s\n", t("Rettslig grunnlag", "Legal basis"), r.LegalBasis)
		fmt.Fprintf(&b, "- %s: %s\n", t("Eier", "Owner"), r.Owner)
		fmt.Fprintf(&b, "- %s: %s:%d\n", t("Kilde", "Source"), r.File, r.Row)
		fmt.Fprintf(&b, "- %s: %.0f %%\n", t("Dekning", "Coverage"), r.Coverage)
		var names []string
		for _, tr := range r.Tests {
			mark := "✓"
			if !tr.Pass {
				mark = "✗"
			}
			names = append(names, mark+" "+tr.Name)
		}
		fmt.Fprintf(&b, "- %s: %s\n\n", t("Tester", "Tests"), strings.Join(names, ", "))
		fmt.Fprintf(&b, "%s\n\n", r.Description)
	}
	fmt.Fprintf(&b, "## %s\n\n", t("Beslutningen og hjelperegler", "The decision and helper rules"))
	for _, r := range v.Rules {
		if r.Code != "" {
			continue
		}
		extra := ""
		if r.LegalBasis != "" {
			extra = " " + t("Rettslig grunnlag", "Legal basis") + ": " + r.LegalBasis + "."
		}
		fmt.Fprintf(&b, "- `%s.%s` (%s:%d, %s %.0f %%): **%s**. %s%s\n", strings.TrimPrefix(r.Package, "data."), r.Name,
			r.File, r.Row, t("dekning", "coverage"), r.Coverage, r.Title, oneLine(r.Description), extra)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// FileSource is the text of one of the version's policy files (a file name
// as Rule.File has it) as it was compiled: the source that decides, not
// what the file on disk says now. Test files are not kept.
func (v *Version) FileSource(file string) (string, bool) {
	s, ok := v.sources[file]
	return s, ok
}

// RuleSource is the rule's Rego as this version compiled it: the comment
// block above the rule (its METADATA) and the rule's lines. It is "" when
// the version has no such file or the rule's lines are not in it.
func (v *Version) RuleSource(r Rule) string {
	text, ok := v.sources[r.File]
	if !ok {
		return ""
	}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	first, last := r.Row-1, r.Row-1+max(r.Lines, 1)
	if first < 0 || last > len(lines) {
		return ""
	}
	for first > 0 && strings.HasPrefix(strings.TrimSpace(lines[first-1]), "#") {
		first--
	}
	return strings.Join(lines[first:last], "\n")
}
