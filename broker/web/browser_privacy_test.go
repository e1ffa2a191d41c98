package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestBrowserPrivacyOfficerApprovesAQueuedRequestAndSeesItInTheDecisionLog(t *testing.T) {
	id := queueRequest(t) // the researcher's sensitive request, over plain HTTP
	ctx := tab(t)
	signIn(t, ctx, "privacy_officer")
	open(t, ctx, "/personvern")
	screenshot(t, ctx, "privacy-home")
	open(t, ctx, "/personvern/regler")
	if got := text(t, ctx, chromedp.CSS("#rule-not_project_member h3")); !strings.Contains(got, "Bare prosjektets medlemmer") {
		t.Errorf("the rules page shows %q for not_project_member", got)
	}
	screenshot(t, ctx, "policy-rules")

	open(t, ctx, "/personvern/vurdering")
	screenshot(t, ctx, "review-queue")
	clickAndLoad(t, ctx, chromedp.CSS(`#review-queue a[href="/personvern/vurdering/`+id+`"]`))
	if got := text(t, ctx, chromedp.CSS("#decision h2")); !strings.Contains(got, "manuell vurdering") {
		t.Fatalf("the review page's decision says %q", got)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("comment"), "Formålet er godt begrunnet, DPIA er gjennomført")); err != nil {
		t.Fatalf("type the comment: %v", err)
	}
	screenshot(t, ctx, "review")
	clickAndLoad(t, ctx, chromedp.ID("approve"))
	if got := text(t, ctx, chromedp.ID("review-notice")); !strings.Contains(got, id) || !strings.Contains(got, "utlevert") {
		t.Fatalf("after approving, the notice says %q", got)
	}

	// The decision log: the policy's review decision, the request now
	// released, and the officer's approval.
	open(t, ctx, "/personvern/beslutninger")
	outcomes, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('#decision-log tr[data-request="`+id+`"]')).map(function(tr){return tr.dataset.kind+"/"+tr.dataset.outcome})`))
	if err != nil {
		t.Fatal(err)
	}
	if !contains(outcomes, "decision/review") || !contains(outcomes, "approval/approve") {
		t.Fatalf("the decision log shows %v for %s", outcomes, id)
	}
	if got := text(t, ctx, chromedp.CSS(`#decision-log tr[data-kind="decision"][data-request="`+id+`"] .state-released`)); got != "utlevert" {
		t.Errorf("the decision's request shows %q, want utlevert", got)
	}
	screenshot(t, ctx, "decision-log")

	// Filter by outcome with the form, as a person would.
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("utfall"), "approve")); err != nil {
		t.Fatal(err)
	}
	clickAndLoad(t, ctx, chromedp.ID("filter"))
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#decision-log tr[data-outcome]:not([data-outcome="approve"])').length`))
	if err != nil || n != 0 {
		t.Errorf("filtered on approvals, the log shows %d other rows (%v)", n, err)
	}

	open(t, ctx, "/personvern/hva-om")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("member"))); err != nil { // no longer a member
		t.Fatal(err)
	}
	clickAndLoad(t, ctx, chromedp.ID("evaluate"))
	if got := text(t, ctx, chromedp.CSS("#decision")); !strings.Contains(got, "not_project_member") {
		t.Errorf("the what-if decision does not name not_project_member: %q", got)
	}
	screenshot(t, ctx, "what-if")

	open(t, ctx, "/personvern/revisjonslogg")
	if got := text(t, ctx, chromedp.ID("chain-status")); !strings.Contains(got, "hel") {
		t.Errorf("the audit chain's status says %q", got)
	}
	screenshot(t, ctx, "audit-chain")
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
