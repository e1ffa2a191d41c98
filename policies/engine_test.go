package policies

import (
	"context"
	"testing"
)

func TestLoadEmbeddedSmoke(t *testing.T) {
	e, err := LoadEmbedded(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	v := e.Current()
	t.Logf("version %s tests %d/%d coverage %.1f", v.Short(), v.Tests.Passed, v.Tests.Passed+v.Tests.Failed, v.Tests.Coverage)
	for _, r := range v.Rules {
		t.Logf("%s %s %s %q cov=%.0f tests=%d rows=%d-%d", r.Package, r.Name, r.Code, r.Title, r.Coverage, len(r.Tests), r.firstRow, r.lastRow)
	}
}
