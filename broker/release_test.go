package broker

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
)

// cellRead is a cell as a format gave it back.
type cellRead struct {
	count  *int64
	status string
}

func key(coords ...string) string { return cube.Key(coords) }

// trueCounts counts residents on 1 January 2024 by municipality, sex and
// broad age band, written independently of the release query.
func trueCounts(t *testing.T, e *env) map[string]int64 {
	t.Helper()
	rows, err := e.db.QueryContext(context.Background(), `
SELECT r.municipality, p.sex,
  CASE WHEN 2024 - p.birth_year <= 17 THEN '0-17' WHEN 2024 - p.birth_year <= 66 THEN '18-66'
       WHEN 2024 - p.birth_year <= 79 THEN '67-79' ELSE '80+' END AS band,
  count(DISTINCT p.pid)
FROM person p JOIN residence r ON r.pid = p.pid
WHERE r.moved_in <= DATE '2024-01-01' AND (r.moved_out IS NULL OR r.moved_out > DATE '2024-01-01')
  AND (p.death_month IS NULL OR p.death_month >= DATE '2024-01-01')
GROUP BY ALL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var m, s, b string
		var n int64
		if err := rows.Scan(&m, &s, &b, &n); err != nil {
			t.Fatal(err)
		}
		out[key(m, s, b)] = n
	}
	return out
}

func TestResearcherReleaseDecodesInEveryFormatWithoutSmallCells(t *testing.T) {
	e := newEnv(t, template)
	got := e.submit("researcher", e.spec("population", []string{"municipality", "sex", "age_broad"}, nil, 2024, 2024))
	if got.State != "released" || got.ReleaseID == "" {
		t.Fatalf("state %s, release %q, message %q", got.State, got.ReleaseID, got.Message)
	}
	k, base := got.Obligations.K, got.Obligations.RoundingBase
	if k < 2 || got.Obligations.Perturbation {
		t.Fatalf("obligations %+v: want k ≥ 2 and no perturbation on a first release", got.Obligations)
	}
	path := "/api/v1/releases/" + got.ReleaseID

	// JSON, the reference every other format is compared with.
	res := e.do("researcher", "GET", path, nil)
	if res.status != 200 || res.header.Get("X-Release-SHA256") == "" {
		t.Fatalf("JSON: %d %v", res.status, res.header)
	}
	var tab cube.JSON
	res.json(t, &tab)
	want := map[string]cellRead{}
	var order []string
	for _, c := range tab.Cells {
		want[cube.Key(c.Coords)] = cellRead{count: c.Count, status: string(c.Status)}
		order = append(order, cube.Key(c.Coords))
	}
	if len(tab.Cells) != 10*3*5 {
		t.Fatalf("%d cells, want every combination with totals: 10 × 3 × 5", len(tab.Cells))
	}

	// Against the truth: no published cell is small, every withheld
	// primary cell is, published counts are the true ones rounded.
	truth := trueCounts(t, e)
	primary := 0
	for _, c := range tab.Cells {
		if c.Coords[0] == cube.Total || c.Coords[1] == cube.Total || c.Coords[2] == cube.Total {
			continue
		}
		n := truth[cube.Key(c.Coords)]
		switch c.Status {
		case cube.Published:
			if c.Count == nil {
				t.Fatalf("published cell %v without a count", c.Coords)
			}
			if n > 0 && n < int64(k) {
				t.Errorf("cell %v with true count %d < k = %d was published", c.Coords, n, k)
			}
			if d := *c.Count - n; d < -int64(base)/2 || d > int64(base)/2 || *c.Count%int64(base) != 0 {
				t.Errorf("cell %v published as %d, true %d: not rounded to base %d", c.Coords, *c.Count, n, base)
			}
		case cube.Primary:
			primary++
			if c.Count != nil || n == 0 || n >= int64(k) {
				t.Errorf("primary cell %v: count %v, true %d", c.Coords, c.Count, n)
			}
		default:
			if c.Count != nil {
				t.Errorf("withheld cell %v carries a count", c.Coords)
			}
		}
	}
	if primary == 0 {
		t.Log("no primary cells in this table (the assertions on suppression were vacuous)")
	}

	check := func(format string, got map[string]cellRead) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: %d cells, want %d", format, len(got), len(want))
		}
		for k, w := range want {
			g, ok := got[k]
			switch {
			case !ok:
				t.Errorf("%s: cell %q missing", format, k)
			case g.status != w.status || (g.count == nil) != (w.count == nil) || (g.count != nil && *g.count != *w.count):
				t.Errorf("%s: cell %q = %v/%s, want %v/%s", format, k, g.count, g.status, w.count, w.status)
			}
		}
	}

	// CSV.
	res = e.do("researcher", "GET", path+"?format=csv", nil)
	recs, err := csv.NewReader(bytes.NewReader(res.body)).ReadAll()
	if err != nil || res.status != 200 {
		t.Fatalf("CSV: %d %v", res.status, err)
	}
	fromCSV := map[string]cellRead{}
	for _, r := range recs[1:] {
		c := cellRead{status: r[4]}
		if r[3] != "" {
			n, err := strconv.ParseInt(r[3], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			c.count = &n
		}
		fromCSV[key(r[0], r[1], r[2])] = c
	}
	check("CSV", fromCSV)

	// JSON-stat 2.0, chosen by the Accept header.
	res = e.do("researcher", "GET", path, nil, "Accept", "application/vnd.json-stat+json")
	var js struct {
		Version string            `json:"version"`
		Class   string            `json:"class"`
		ID      []string          `json:"id"`
		Size    []int             `json:"size"`
		Value   []*float64        `json:"value"`
		Status  map[string]string `json:"status"`
	}
	res.json(t, &js)
	if js.Version != "2.0" || js.Class != "dataset" || len(js.Value) != len(order) {
		t.Fatalf("JSON-stat: version %s class %s, %d values for %d cells", js.Version, js.Class, len(js.Value), len(order))
	}
	fromJS := map[string]cellRead{}
	for i, k := range order {
		c := cellRead{status: "published"}
		if s, ok := js.Status[strconv.Itoa(i)]; ok {
			c.status = s
		}
		if v := js.Value[i]; v != nil {
			n := int64(*v)
			c.count = &n
		}
		fromJS[k] = c
	}
	check("JSON-stat", fromJS)

	// Arrow IPC, read with arrow-go.
	res = e.do("researcher", "GET", path, nil, "Accept", "application/vnd.apache.arrow.stream")
	rd, err := ipc.NewReader(bytes.NewReader(res.body))
	if err != nil {
		t.Fatalf("Arrow: %d %v", res.status, err)
	}
	fromArrow := map[string]cellRead{}
	for rd.Next() {
		readRecord(t, rd.RecordBatch(), fromArrow)
	}
	rd.Release()
	check("Arrow IPC", fromArrow)

	// Parquet, read with its reader.
	res = e.do("researcher", "GET", path+"?format=parquet", nil)
	pt, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(res.body), parquet.NewReaderProperties(memory.DefaultAllocator), pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatalf("Parquet: %d %v", res.status, err)
	}
	tr := array.NewTableReader(pt, -1)
	fromParquet := map[string]cellRead{}
	for tr.Next() {
		readRecord(t, tr.RecordBatch(), fromParquet)
	}
	tr.Release()
	pt.Release()
	check("Parquet", fromParquet)

	// The metadata names the versions it was made from.
	res = e.do("researcher", "GET", path+"/meta", nil)
	var meta struct {
		SHA256        string `json:"sha256"`
		PolicyVersion string `json:"policy_version"`
		ExtractID     int64  `json:"extract_id"`
	}
	res.json(t, &meta)
	if meta.SHA256 != res.header.Get("X-Release-SHA256") && meta.SHA256 == "" || meta.PolicyVersion == "" || meta.ExtractID == 0 {
		t.Errorf("release metadata %+v", meta)
	}
	assertAuditIntact(t, e)
}

func readRecord(t *testing.T, rec arrow.RecordBatch, into map[string]cellRead) {
	t.Helper()
	s := rec.Schema()
	col := func(name string) arrow.Array {
		idx := s.FieldIndices(name)
		if len(idx) != 1 {
			t.Fatalf("no column %s in %v", name, s)
		}
		return rec.Column(idx[0])
	}
	m, sex, band := col("municipality").(*array.String), col("sex").(*array.String), col("age_broad").(*array.String)
	count, status := col("count").(*array.Int64), col("status").(*array.String)
	for i := 0; i < int(rec.NumRows()); i++ {
		c := cellRead{status: status.Value(i)}
		if count.IsValid(i) {
			n := count.Value(i)
			c.count = &n
		}
		into[key(m.Value(i), sex.Value(i), band.Value(i))] = c
	}
}

func assertAuditIntact(t *testing.T, e *env) {
	t.Helper()
	res := e.do("privacy_officer", "GET", "/api/v1/audit/status", nil)
	var rep struct {
		OK       bool  `json:"ok"`
		Entries  int64 `json:"entries"`
		Problems []any `json:"problems"`
	}
	res.json(t, &rep)
	if res.status != 200 || !rep.OK || rep.Entries == 0 {
		t.Errorf("audit chain: %d %s", res.status, res.body)
	}
}

func TestDeniedRequestGivesEveryReasonWithItsText(t *testing.T) {
	e := newEnv(t, template)
	got := e.submit("researcher", e.spec("population", []string{"district", "age_5y"}, nil, 2023, 2024))
	if got.State != "denied" || got.ReleaseID != "" {
		t.Fatalf("state %s release %q", got.State, got.ReleaseID)
	}
	codes := map[string]bool{}
	for _, r := range got.Reasons {
		codes[r.Code] = true
		if r.Title == "" || r.Message["nb"] == "" || r.Message["en"] == "" {
			t.Errorf("reason %s lacks its title or text: %+v", r.Code, r)
		}
	}
	for _, want := range []string{"district_population_too_small", "age_groups_too_fine"} {
		if !codes[want] {
			t.Errorf("reasons %v lack %s", codes, want)
		}
	}
	var n int
	e.db.QueryRow(`SELECT count(*) FROM release`).Scan(&n)
	if n != 0 {
		t.Errorf("a denied request left %d releases", n)
	}
	// The coordinator asks outside their own municipality: denied too.
	got = e.submit("coordinator", e.spec("population", []string{"sex"}, map[string][]string{"municipality": {"4621"}}, 2024, 2024))
	if got.State != "denied" {
		t.Errorf("coordinator outside own municipality: %s", got.State)
	}
	assertAuditIntact(t, e)
}

func TestReviewThenApproveReleasesAndRejectDoesNot(t *testing.T) {
	e := newEnv(t, template)
	spec := e.spec("gp_contact", []string{"icpc2_chapter", "sex"}, nil, 2023, 2024)
	first := e.submit("researcher", spec)
	if first.State != "review" || first.ReleaseID != "" {
		t.Fatalf("sensitive breakdown: state %s release %q", first.State, first.ReleaseID)
	}
	// In the privacy officer's queue, not in the coordinator's.
	var queue struct {
		Requests []submitted `json:"requests"`
	}
	e.do("privacy_officer", "GET", "/api/v1/requests?state=review", nil).json(t, &queue)
	if len(queue.Requests) != 1 || queue.Requests[0].ID != first.ID {
		t.Fatalf("review queue %+v", queue.Requests)
	}
	if res := e.do("coordinator", "GET", "/api/v1/requests/"+first.ID, nil); res.status != http.StatusNotFound {
		t.Errorf("someone else's request: %d", res.status)
	}
	// The researcher cannot approve; a comment is required.
	if res := e.do("researcher", "POST", "/api/v1/requests/"+first.ID+"/approve", map[string]string{"comment": "mine"}); res.status != http.StatusForbidden {
		t.Errorf("researcher approving: %d", res.status)
	}
	if res := e.do("privacy_officer", "POST", "/api/v1/requests/"+first.ID+"/approve", map[string]string{"comment": " "}); res.status != http.StatusBadRequest {
		t.Errorf("approval without comment: %d %s", res.status, res.body)
	}
	res := e.do("privacy_officer", "POST", "/api/v1/requests/"+first.ID+"/approve", map[string]string{"comment": "Aggregert nok; godkjent."})
	var approved submitted
	res.json(t, &approved)
	if res.status != 200 || approved.State != "released" || approved.ReleaseID == "" {
		t.Fatalf("approve: %d %s", res.status, res.body)
	}
	if res := e.do("researcher", "GET", "/api/v1/releases/"+approved.ReleaseID+"?format=csv", nil); res.status != 200 {
		t.Errorf("download after approval: %d", res.status)
	}
	// Approving again is a conflict: the request is no longer under review.
	if res := e.do("privacy_officer", "POST", "/api/v1/requests/"+first.ID+"/approve", map[string]string{"comment": "igjen"}); res.status != http.StatusConflict {
		t.Errorf("second approval: %d %s", res.status, res.body)
	}

	second := e.submit("researcher", e.spec("gp_contact", []string{"icpc2_chapter"}, nil, 2022, 2024))
	res = e.do("privacy_officer", "POST", "/api/v1/requests/"+second.ID+"/reject", map[string]string{"comment": "For detaljert."})
	var rejected submitted
	res.json(t, &rejected)
	if res.status != 200 || rejected.State != "rejected" || rejected.ReleaseID != "" {
		t.Fatalf("reject: %d %s", res.status, res.body)
	}
	var n int
	e.db.QueryRow(`SELECT count(*) FROM release WHERE request_id = ?`, second.ID).Scan(&n)
	if n != 0 {
		t.Errorf("a rejected request has %d releases", n)
	}
	assertAuditIntact(t, e)
}

func TestSameRequestTwiceOnTheSameExtractGivesTheSameNumbers(t *testing.T) {
	e := newEnv(t, template)
	spec := e.spec("care", []string{"municipality", "care_service"}, nil, 2022, 2024)
	a := e.submit("researcher", spec)
	b := e.submit("researcher", spec)
	if a.State != "released" || b.State != "released" || a.ReleaseID == b.ReleaseID {
		t.Fatalf("states %s %s, releases %s %s", a.State, b.State, a.ReleaseID, b.ReleaseID)
	}
	ra := e.do("researcher", "GET", "/api/v1/releases/"+a.ReleaseID, nil)
	rb := e.do("researcher", "GET", "/api/v1/releases/"+b.ReleaseID, nil)
	if !bytes.Equal(ra.body, rb.body) || ra.header.Get("X-Release-SHA256") != rb.header.Get("X-Release-SHA256") {
		t.Errorf("the same request gave different numbers")
	}
}

func TestBadInputIsA400NamingTheField(t *testing.T) {
	e := newEnv(t, template)
	valid := func(edit func(m map[string]any)) []byte {
		m := e.spec("population", []string{"municipality", "sex"}, nil, 2023, 2024)
		edit(m)
		b, _ := json.Marshal(m)
		return b
	}
	for _, tc := range []struct {
		name, field string
		body        []byte
	}{
		{"unknown field", "colour", valid(func(m map[string]any) { m["colour"] = "blue" })},
		{"wrong type", "project", valid(func(m map[string]any) { m["project"] = "one" })},
		{"wrong type in a list", "dimensions", valid(func(m map[string]any) { m["dimensions"] = []int{1} })},
		{"unknown dataset", "dataset", valid(func(m map[string]any) { m["dataset"] = "patients; DROP TABLE person" })},
		{"unknown dimension", "dimensions[1]", valid(func(m map[string]any) { m["dimensions"] = []string{"sex", "pid"} })},
		{"unknown code", "filters.municipality", valid(func(m map[string]any) { m["filters"] = map[string][]string{"municipality": {"0301"}} })},
		{"unknown measure", "measure", valid(func(m map[string]any) { m["measure"] = "sum(pid)" })},
		{"unknown project", "project", valid(func(m map[string]any) { m["project"] = 999 })},
		{"period backwards", "period", valid(func(m map[string]any) { m["period"] = map[string]int{"from": 2024, "to": 2020} })},
		{"no purpose", "purpose", valid(func(m map[string]any) { m["purpose"] = "" })},
		{"malformed JSON", "body", []byte(`{"project": 1, "dataset": `)},
		{"not JSON", "body", []byte(`dataset=population`)},
		{"two values", "body", append(valid(func(map[string]any) {}), []byte(`{}`)...)},
		{"oversize body", "body", valid(func(m map[string]any) { m["purpose"] = string(bytes.Repeat([]byte("x"), 70<<10)) })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do("researcher", "POST", "/api/v1/requests", tc.body)
			var body apiError
			res.json(t, &body)
			if res.status != http.StatusBadRequest || body.Field != tc.field || body.Error == "" || body.Melding == "" {
				t.Errorf("got %d %+v, want 400 naming %s", res.status, body, tc.field)
			}
		})
	}
	var n int
	e.db.QueryRow(`SELECT count(*) FROM data_request`).Scan(&n)
	if n != 0 {
		t.Errorf("bad input left %d requests", n)
	}
}

func TestIndicatorValuesFilterAndRefuseUnknownFilters(t *testing.T) {
	e := newEnv(t, template)
	res := e.do("coordinator", "GET", "/api/v1/indicators", nil)
	var list struct {
		Indicators []struct {
			ID      string `json:"id"`
			Extract int64  `json:"extract"`
		} `json:"indicators"`
	}
	res.json(t, &list)
	if len(list.Indicators) == 0 || list.Indicators[0].Extract == 0 {
		t.Fatalf("indicators: %s", res.body)
	}
	id := list.Indicators[0].ID
	res = e.do("coordinator", "GET", "/api/v1/indicators/"+id+"/values?municipality=4601&district=460101&sex=F&year=2023&format=csv", nil)
	recs, err := csv.NewReader(bytes.NewReader(res.body)).ReadAll()
	if err != nil || res.status != 200 {
		t.Fatalf("%d %v %s", res.status, err, res.body)
	}
	if len(recs) < 2 {
		t.Fatalf("no values: %s", res.body)
	}
	for _, r := range recs[1:] {
		if (r[1] != "4601" && r[1] != "460101") || r[2] != "F" || r[0][len(r[0])-4:] != "2023" {
			t.Errorf("row %v outside the filter", r)
		}
		if r[len(r)-1] != "published" && r[3] != "" {
			t.Errorf("withheld row %v carries a number", r)
		}
	}
	for _, q := range []string{"?municipality=0301", "?sex=X", "?year=20x4", "?pid=1", "?format=xlsx"} {
		if res := e.do("fou_contact", "GET", "/api/v1/indicators/"+id+"/values"+q, nil); res.status != http.StatusBadRequest {
			t.Errorf("%s: %d", q, res.status)
		}
	}
	if res := e.do("fou_contact", "GET", "/api/v1/indicators/nope/values", nil); res.status != http.StatusNotFound {
		t.Errorf("unknown indicator: %d", res.status)
	}
}

func TestConcurrentRequestsAndDownloadsKeepTheAuditChain(t *testing.T) {
	e := newEnv(t, template)
	type result struct {
		state  string
		status int
	}
	out := make(chan result, 6)
	for i := range 6 {
		go func() {
			spec := e.spec("population", []string{"sex"}, nil, 2015+i, 2024)
			res := e.do("researcher", "POST", "/api/v1/requests", spec)
			var s submitted
			json.Unmarshal(res.body, &s)
			if s.ReleaseID != "" {
				if d := e.do("researcher", "GET", "/api/v1/releases/"+s.ReleaseID+"?format=csv", nil); d.status != 200 {
					out <- result{"download", d.status}
					return
				}
			}
			out <- result{s.State, res.status}
		}()
	}
	for range 6 {
		r := <-out
		if r.status != http.StatusCreated || r.state != "released" {
			t.Errorf("concurrent request: %d %s", r.status, r.state)
		}
	}
	assertAuditIntact(t, e)
}

func TestCoordinatorGetsOwnMunicipalityByDistrict(t *testing.T) {
	e := newEnv(t, template)
	got := e.submit("coordinator", e.spec("population", []string{"district", "sex"}, map[string][]string{"municipality": {"4601"}}, 2024, 2024))
	if got.State != "released" {
		t.Fatalf("coordinator, Bergen by district: %s %+v %s", got.State, got.Reasons, got.Message)
	}
	res := e.do("coordinator", "GET", "/api/v1/releases/"+got.ReleaseID, nil)
	var tab cube.JSON
	res.json(t, &tab)
	// _T and Bergen, its eight districts and the unknown one; × _T, M, F.
	if len(tab.Cells) != 11*3 {
		t.Errorf("%d cells", len(tab.Cells))
	}
}

func TestEveryDatasetAndMeasureReleasesAnAdditiveCount(t *testing.T) {
	e := newEnv(t, template)
	var datasets struct {
		Datasets []struct {
			ID       string `json:"id"`
			Measures []struct {
				ID string `json:"id"`
			} `json:"measures"`
		} `json:"datasets"`
	}
	e.do("researcher", "GET", "/api/v1/datasets", nil).json(t, &datasets)
	if len(datasets.Datasets) < 5 {
		t.Fatalf("catalogue: %+v", datasets)
	}
	for _, d := range datasets.Datasets {
		for _, m := range d.Measures {
			spec := e.spec(d.ID, []string{"sex", "year"}, nil, 2022, 2024)
			spec["measure"] = m.ID
			got := e.submit("researcher", spec)
			if got.State != "released" {
				t.Errorf("%s/%s: %s %s", d.ID, m.ID, got.State, got.Message)
				continue
			}
			var tab cube.JSON
			e.do("researcher", "GET", "/api/v1/releases/"+got.ReleaseID, nil).json(t, &tab)
			if len(tab.Cells) != 3*4 || tab.Cells[0].Count == nil || *tab.Cells[0].Count == 0 {
				t.Errorf("%s/%s: %d cells, grand total %v", d.ID, m.ID, len(tab.Cells), tab.Cells[0].Count)
			}
		}
	}
}

// FuzzSubmitNeverAnswers500: whatever body a researcher sends, the answer
// is a 201 or a 4xx with a JSON error, never a 500.
func FuzzSubmitNeverAnswers500(f *testing.F) {
	e := newEnv(f, template)
	for _, seed := range []string{
		`{"project":1,"dataset":"population","dimensions":["sex"],"period":{"from":2024,"to":2024},"purpose":"x"}`,
		`{"project":1,"dataset":"gp_contact","measure":"events","dimensions":["icpc2_chapter"],"filters":{"icpc2_chapter":["P"]},"period":{"from":2020,"to":2024},"purpose":"x"}`,
		`{"project":-1}`, `[]`, `null`, `{"filters":{"sex":null}}`, `{"period":{"from":1e309}}`, "\x00",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, _ := http.NewRequest("POST", e.http.URL+"/api/v1/requests", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.tokens["researcher"])
		res, err := e.http.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			t.Fatalf("%d: body is not JSON: %v", res.StatusCode, err)
		}
		if res.StatusCode >= 500 || (res.StatusCode != 201 && out["error"] == nil) {
			t.Fatalf("body %q: %d %v", body, res.StatusCode, out)
		}
	})
}
