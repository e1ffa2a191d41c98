package portfolio_test

import (
	"os"
	"strings"
	"testing"

	"github.com/kunnskapskommunen/folkekommune/broker/inquiry"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
)

// The README documents the transition tables; it must say what the code does.
func TestReadmeShowsTheTransitionTables(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, wf := range []portfolio.Workflow{portfolio.ProjectWorkflow, portfolio.AccessWorkflow, inquiry.AssignmentWorkflow} {
		if !strings.Contains(string(readme), wf.Markdown()) {
			t.Errorf("README.md does not hold the current %s workflow table:\n%s", wf.Name, wf.Markdown())
		}
	}
}
