package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestTheBarometerShowsEveryIndicatorBesideTheCluster(t *testing.T) {
	b := newBrowser(t)
	b.login("coordinator")
	p := b.get("/indikatorer")
	if p.status != http.StatusOK {
		t.Fatalf("/indikatorer: %d\n%s", p.status, p.body)
	}
	// The coordinator's own municipality (Bergen) by default.
	if !strings.Contains(p.body, "Folkehelsebarometer for Bergen") {
		t.Error("the barometer is not for the coordinator's municipality")
	}
	for _, id := range indicatorIDs(t) {
		if !strings.Contains(p.body, `href="/indikatorer/`+id+`?kommune=4601"`) {
			t.Errorf("the barometer lacks %s", id)
		}
	}
	if !regexp.MustCompile(`class="flag (better|worse|same)"`).MatchString(p.body) {
		t.Error("no indicator is marked against the cluster")
	}
	if p := b.get("/indikatorer?kommune=9999"); p.status != http.StatusBadRequest {
		t.Errorf("an unknown kommunenummer: %d, want 400", p.status)
	}
}

var numberCell = regexp.MustCompile(`<td class="num suppressed"[^>]*>(.*?)</td>`)

// suppressedIndicator finds an indicator page with a withheld value, the
// municipality and page body.
func suppressedIndicator(t *testing.T, b *browser) (string, page) {
	t.Helper()
	for _, kommune := range []string{"4634", "4632", "4628"} {
		for _, id := range indicatorIDs(t) {
			path := "/indikatorer/" + id + "?kommune=" + kommune
			p := b.get(path)
			if p.status == http.StatusOK && strings.Contains(p.body, `data-status="primary"`) {
				return path, p
			}
		}
	}
	t.Fatal("no indicator page of the small municipalities shows a suppressed value")
	return "", page{}
}

func TestAnIndicatorPageShowsSuppressedValuesAsSuppressedNeverZero(t *testing.T) {
	b := newBrowser(t)
	b.login("coordinator")
	path, p := suppressedIndicator(t, b)
	for _, want := range []string{`<svg class="chart" id="trend"`, `<svg class="chart" id="compare"`, `<title id="trend-title">`, `<desc id="compare-desc">`, `id="trend-table"`, `id="compare-table"`, `id="method"`, "Definisjon og metode"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("%s lacks %s", path, want)
		}
	}
	for _, m := range numberCell.FindAllStringSubmatch(p.body, -1) {
		if !strings.Contains(m[1], "skjult") && !strings.Contains(m[1], "mangler") {
			t.Errorf("%s: a suppressed cell shows %q", path, m[1])
		}
	}
	if !strings.Contains(p.body, `id="suppressed-note"`) {
		t.Errorf("%s does not say that values are suppressed", path)
	}
}

func TestIndicatorDownloadsUseTheTableFormats(t *testing.T) {
	b := newBrowser(t)
	b.login("coordinator")
	id := indicatorIDs(t)[0]
	for _, c := range []struct{ format, want string }{
		{"csv", "period,period_label,geo,geo_label,sex,sex_label,count,denominator,crude_rate"},
		{"excel", "\ufeffperiod;period_label;geo;geo_label;sex;sex_label;count;denominator;crude_rate"},
		{"jsonstat", `"class":"dataset"`},
		{"json", `"dimensions"`},
	} {
		p := b.get("/indikatorer/" + id + "/last-ned?format=" + c.format)
		if p.status != http.StatusOK || !strings.Contains(p.body, c.want) {
			t.Errorf("%s: %d, want %q in\n%.200s", c.format, p.status, c.want, p.body)
		}
	}
	if p := b.get("/indikatorer/" + id + "/last-ned?format=xlsx"); p.status != http.StatusBadRequest {
		t.Errorf("an unknown format: %d, want 400", p.status)
	}
	// Suppressed cells carry no number in any format.
	csv := b.get("/indikatorer/" + id + "/last-ned?format=csv").body
	for _, line := range strings.Split(csv, "\n") {
		if strings.HasSuffix(line, ",primary") || strings.HasSuffix(line, ",secondary") {
			f := strings.Split(line, ",")
			if f[6] != "" {
				t.Fatalf("a suppressed cell carries a count: %s", line)
			}
		}
	}
}

func TestAnonymousVisitorsAreSentToSignInForIndicators(t *testing.T) {
	b := newBrowser(t)
	p := b.get("/indikatorer/" + indicatorIDs(t)[0])
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/logg-inn?neste=%2Findikatorer%2F") {
		t.Fatalf("anonymous indicator page: %d to %q", p.status, p.header.Get("Location"))
	}
}
