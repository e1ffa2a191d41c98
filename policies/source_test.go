package policies

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ruleByCode finds a coded rule of v.
func ruleByCode(t *testing.T, v *Version, code string) Rule {
	t.Helper()
	for _, r := range v.Rules {
		if r.Code == code {
			return r
		}
	}
	t.Fatalf("version %s has no rule %s", v.Short(), code)
	return Rule{}
}

func TestEveryRuleSourceIsItsMetadataAndItsRego(t *testing.T) {
	v := engine(t).Current()
	for _, r := range v.Rules {
		src := v.RuleSource(r)
		if src == "" {
			t.Errorf("%s.%s (%s:%d) has no source", r.Package, r.Name, r.File, r.Row)
			continue
		}
		if !strings.Contains(src, "# title: "+r.Title) {
			t.Errorf("%s.%s: source lacks its METADATA title %q:\n%s", r.Package, r.Name, r.Title, src)
		}
		if r.Code != "" {
			if !strings.HasPrefix(src, "# METADATA\n") || !strings.Contains(src, "#   code: "+r.Code+"\n") {
				t.Errorf("rule %s: source does not open with its METADATA:\n%s", r.Code, src)
			}
			if !strings.Contains(src, r.Name+" contains ") {
				t.Errorf("rule %s: source lacks the rule's head:\n%s", r.Code, src)
			}
		}
	}
	if _, ok := v.FileSource("no_such.rego"); ok {
		t.Error("FileSource found a file the policy does not have")
	}
	if got := v.RuleSource(Rule{File: "project.rego", Row: 100000, Lines: 1}); got != "" {
		t.Errorf("a rule past the end of its file has source %q", got)
	}
}

func TestRuleSourceIsTheCompiledTextNotTheFileOnDisk(t *testing.T) {
	ctx := context.Background()
	dir := policyCopy(t)
	old, err := CompileDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	r := ruleByCode(t, old, "not_project_member")
	before := old.RuleSource(r)
	if !strings.Contains(before, "# title: Project members only\n") {
		t.Fatalf("source before the edit:\n%s", before)
	}
	disk, err := os.ReadFile(filepath.Join(dir, strings.TrimPrefix(r.File, "/")))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := old.FileSource(r.File); !ok || got != string(disk) {
		t.Fatalf("FileSource(%s) is not the file compiled (found %v, %d bytes, want %d)", r.File, ok, len(got), len(disk))
	}

	writeEdit(t, dir, edit{"project.rego", "# title: Project members only\n", "# title: Project members only (v2)\n"})
	if got := old.RuleSource(r); got != before {
		t.Fatalf("the compiled version's source followed the file on disk:\n%s", got)
	}
	if src, _ := old.FileSource(r.File); strings.Contains(src, "(v2)") {
		t.Fatal("the compiled version's file followed the file on disk")
	}

	v2, err := CompileDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := v2.RuleSource(ruleByCode(t, v2, "not_project_member")); !strings.Contains(got, "# title: Project members only (v2)\n") {
		t.Fatalf("the new version's source lacks the edit:\n%s", got)
	}
	if src, _ := v2.FileSource(r.File); !strings.Contains(src, "(v2)") {
		t.Fatal("the new version's file lacks the edit")
	}
}
