package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/audit"
	"github.com/kunnskapskommunen/folkekommune/broker/inquiry"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio/api"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

var tokens = map[string]portfolio.Actor{
	"admin":      {ID: "radgiver1", Role: portfolio.RoleAdmin},
	"askoy":      {ID: "fou-askoy", Role: portfolio.RoleRDContact, Municipality: "4627"},
	"voss":       {ID: "fou-voss", Role: portfolio.RoleRDContact, Municipality: "4621"},
	"kari":       {ID: "kari.forsker@uib.no", Role: portfolio.RoleResearcher},
	"ola":        {ID: "ola@hvl.no", Role: portfolio.RoleResearcher},
	"pvo":        {ID: "pvo", Role: portfolio.RolePrivacyOfficer},
	"researcher": {ID: "researcher", Role: portfolio.RoleResearcher},
}

func bearer(r *http.Request) (portfolio.Actor, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return portfolio.Actor{}, nil
	}
	a, ok := tokens[strings.TrimPrefix(h, "Bearer ")]
	if !ok {
		return portfolio.Actor{}, errors.New("unknown token")
	}
	return a, nil
}

func server(t *testing.T) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p := portfolio.New(db, portfolio.AuditLog(audit.New(db)))
	p.Now = func() time.Time { return time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC) }
	i := inquiry.New(p)
	if _, err := portfolio.SeedDemo(ctx, p, "researcher"); err != nil {
		t.Fatal(err)
	}
	if _, err := i.SaveContact(ctx, portfolio.System, inquiry.Contact{Municipality: "4627", Name: "Arne", Email: "fou@askoy.kommune.no", Active: true}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(p, i, bearer))
	t.Cleanup(srv.Close)
	return srv
}

func call(t *testing.T, srv *httptest.Server, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func submission() map[string]any {
	return map[string]any{
		"title": "Søvn og uro hos hjemmeboende med demens", "kind": "research",
		"description": "Kartlegging av søvn med sensorer.", "institution": "Universitetet i Bergen",
		"researcher_name": "Kari Forsker", "researcher_email": "kari.forsker@uib.no",
		"funding": "Søkt NFR", "funding_status": "applied", "resources_needed": "To timer per bruker",
		"knowledge_return": "Fagdag", "target_groups": "Hjemmeboende med demens", "ethics_status": "APPLIED",
		"start": "2025-09-01", "end": "2027-12-31", "units": []map[string]string{{"municipality": "4627", "service_area": "home_care"}},
	}
}

func TestPublicFormAndInquiryFlowOverHTTP(t *testing.T) {
	srv := server(t)
	code, body := call(t, srv, "POST", "/api/v1/inquiries", "", submission())
	if code != http.StatusCreated {
		t.Fatalf("submit: %d %s", code, body)
	}
	var inq inquiry.Inquiry
	json.Unmarshal(body, &inq)
	if inq.ID == 0 || len(inq.Assignments) != 1 || inq.Assignments[0].ContactEmail != "" {
		t.Fatalf("receipt = %s", body)
	}
	aid := inq.Assignments[0].ID
	path := "/api/v1/inquiries/" + itoa(inq.ID)
	if inq.Receipt == "" {
		t.Fatal("the answer to the public form carries no receipt code")
	}
	// Without an account, the receipt code opens the inquiry and nothing else.
	withReceipt := func(method, p, code string, body any) (int, string) {
		var rd io.Reader
		if body != nil {
			j, _ := json.Marshal(body)
			rd = bytes.NewReader(j)
		}
		req, _ := http.NewRequest(method, srv.URL+p, rd)
		req.Header.Set(api.ReceiptHeader, code)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, b := withReceipt("GET", path, inq.Receipt, nil); code != 200 || !strings.Contains(b, `"status":"received"`) {
		t.Fatalf("read with receipt: %d %s", code, b)
	}
	if code, _ := withReceipt("GET", path, "wrong", nil); code != 401 {
		t.Fatalf("wrong receipt: %d", code)
	}
	if code, _ := withReceipt("GET", "/api/v1/projects/1", inq.Receipt, nil); code != 401 {
		t.Fatalf("receipt used outside its inquiry: %d", code)
	}
	amended := submission()
	amended["resources_needed"] = "Én time per bruker"
	if code, b := withReceipt("PUT", path, inq.Receipt, amended); code != 200 || !strings.Contains(b, "Én time per bruker") {
		t.Fatalf("amend with receipt: %d %s", code, b)
	}

	tests := []struct {
		name   string
		method string
		path   string
		token  string
		body   any
		want   int
		inBody string
	}{
		{"duplicate refused", "POST", "/api/v1/inquiries", "", submission(), 400, `"field":"title"`},
		{"bad field named", "POST", "/api/v1/inquiries", "", func() map[string]any { s := submission(); s["end"] = "2025-01-01"; return s }(), 400, `"field":"end"`},
		{"unknown field refused", "POST", "/api/v1/inquiries", "", func() map[string]any { s := submission(); s["is_admin"] = true; return s }(), 400, `"field":"is_admin"`},
		{"wrong JSON type named", "POST", "/api/v1/inquiries", "", `{"title": 5}`, 400, `"field":"title"`},
		{"oversize body", "POST", "/api/v1/inquiries", "", `{"title":"` + strings.Repeat("x", api.MaxBody) + `"}`, 413, "larger than"},
		{"script refused", "POST", "/api/v1/inquiries", "", func() map[string]any { s := submission(); s["title"] = "<script>alert(1)</script>"; return s }(), 400, `"field":"title"`},
		{"anonymous may not list", "GET", "/api/v1/inquiries", "", nil, 401, ""},
		{"bad token", "GET", "/api/v1/inquiries", "nope", nil, 401, "authentication failed"},
		{"other municipality may not read", "GET", path, "voss", nil, 403, ""},
		{"other researcher may not read", "GET", path, "ola", nil, 403, ""},
		{"researcher reads own", "GET", path, "kari", nil, 200, `"status":"received"`},
		{"contact assesses", "POST", path + "/assignments/" + itoa(aid) + "/transitions", "askoy", map[string]string{"action": "assess", "assessment": "Intern: ok"}, 200, `"under_assessment"`},
		{"researcher may not accept", "POST", path + "/assignments/" + itoa(aid) + "/transitions", "kari", map[string]string{"action": "accept"}, 403, ""},
		{"Voss may not accept", "POST", path + "/assignments/" + itoa(aid) + "/transitions", "voss", map[string]string{"action": "accept"}, 403, ""},
		{"contact accepts", "POST", path + "/assignments/" + itoa(aid) + "/transitions", "askoy", map[string]string{"action": "accept", "answer": "Velkommen"}, 200, `"accepted"`},
		{"accepted is final", "POST", path + "/assignments/" + itoa(aid) + "/transitions", "kari", map[string]string{"action": "withdraw"}, 409, ""},
		{"researcher does not see the assessment", "GET", path, "kari", nil, 200, `"answer":"Velkommen"`},
		{"contact turns it into a project", "POST", path + "/project", "askoy", nil, 201, `"inquiry_id":` + itoa(inq.ID)},
		{"not twice", "POST", path + "/project", "admin", nil, 409, ""},
		{"missing inquiry", "GET", "/api/v1/inquiries/9999", "admin", nil, 404, ""},
		{"bad id", "GET", "/api/v1/inquiries/abc", "admin", nil, 400, `"field":"id"`},
	}
	for _, tc := range tests {
		code, body := call(t, srv, tc.method, tc.path, tc.token, tc.body)
		if code != tc.want || !strings.Contains(string(body), tc.inBody) {
			t.Errorf("%s: %d %s, want %d with %s", tc.name, code, body, tc.want, tc.inBody)
		}
		if tc.token == "kari" && strings.Contains(string(body), "Intern") {
			t.Errorf("%s: researcher sees the internal assessment", tc.name)
		}
	}
}

func TestProjectsOverHTTP(t *testing.T) {
	srv := server(t)
	code, body := call(t, srv, "GET", "/api/v1/projects?status=active", "", nil)
	if code != 200 || strings.Contains(string(body), "@") || !strings.Contains(string(body), "FolkeKommune") {
		t.Fatalf("public list: %d, shows addresses or misses FolkeKommune", code)
	}
	var ps []portfolio.Project
	json.Unmarshal(body, &ps)
	fk := ps[0]
	path := "/api/v1/projects/" + itoa(fk.ID)
	tests := []struct {
		name, method, path, token string
		body                      any
		want                      int
		inBody                    string
	}{
		{"admin sees people", "GET", path, "admin", nil, 200, "@bergen.kommune.no"},
		{"member reads approval", "GET", path + "/approval", "researcher", nil, 200, `"approved":true`},
		{"stranger may not read approval", "GET", path + "/approval", "ola", nil, 403, ""},
		{"anonymous may not create", "POST", "/api/v1/projects", "", map[string]any{"title": "x"}, 401, ""},
		{"bad project named", "POST", "/api/v1/projects", "admin", map[string]any{"title": "Nytt", "summary": "S", "type": "research", "owner_institution": "UiB", "municipality_role": "partner", "units": []map[string]string{{"municipality": "0301"}}}, 400, `"field":"units[0].municipality"`},
		{"privacy officer revokes", "POST", path + "/transitions", "pvo", map[string]string{"action": "revoke_access", "note": "Revisjon"}, 200, `"data_access":"revoked"`},
		{"member requests again", "POST", path + "/transitions", "researcher", map[string]string{"action": "request_access"}, 200, `"requested"`},
		{"researcher may not approve", "POST", path + "/transitions", "researcher", map[string]string{"action": "approve_access"}, 403, ""},
		{"unknown action named", "POST", path + "/transitions", "admin", map[string]string{"action": "explode"}, 400, `"field":"action"`},
		{"needs are public", "GET", "/api/v1/needs?unmet=true", "", nil, 200, "Boformer"},
		{"need by Askøy for Askøy", "POST", "/api/v1/needs", "askoy", map[string]string{"title": "Ernæring", "municipality": "4627", "identified_on": "2025-01-10"}, 201, `"status":"open"`},
		{"need by Askøy for Voss", "POST", "/api/v1/needs", "askoy", map[string]string{"title": "Ernæring", "municipality": "4621", "identified_on": "2025-01-10"}, 403, ""},
		{"contacts are not public", "GET", "/api/v1/contacts", "", nil, 401, ""},
		{"contacts for R&D contacts", "GET", "/api/v1/contacts", "voss", nil, 200, "fou@askoy.kommune.no"},
		{"only advisers edit contacts", "POST", "/api/v1/contacts", "askoy", map[string]any{"municipality": "4627", "name": "X", "email": "x@askoy.kommune.no", "active": true}, 403, ""},
		{"advisers add contacts", "POST", "/api/v1/contacts", "admin", map[string]any{"municipality": "4621", "name": "Olav", "email": "fou@vossherad.no", "active": true}, 201, `"id":`},
		{"report as CSV", "GET", "/api/v1/reports/2025?format=csv", "", nil, 200, "2025,_T,Kunnskapskommunen Helse Omsorg Vest,active_projects,_T,"},
		{"report as JSON", "GET", "/api/v1/reports/2025", "", nil, 200, `"year":2025`},
		{"bad year", "GET", "/api/v1/reports/abc", "", nil, 400, `"field":"year"`},
		{"workflows are public", "GET", "/api/v1/workflows", "", nil, 200, `"approve_access"`},
	}
	for _, tc := range tests {
		code, body := call(t, srv, tc.method, tc.path, tc.token, tc.body)
		if code != tc.want || !strings.Contains(string(body), tc.inBody) {
			t.Errorf("%s: %d %.300s, want %d with %s", tc.name, code, body, tc.want, tc.inBody)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	paths := api.OpenAPIPaths()
	want := map[string][]string{
		"/api/v1/projects": {"get", "post"}, "/api/v1/projects/{id}": {"get", "put"}, "/api/v1/projects/{id}/transitions": {"post"},
		"/api/v1/inquiries": {"get", "post"}, "/api/v1/inquiries/{id}/assignments/{aid}/transitions": {"post"},
		"/api/v1/contacts": {"get", "post"}, "/api/v1/needs": {"get", "post"}, "/api/v1/reports/{year}": {"get"}, "/api/v1/workflows": {"get"},
	}
	for path, methods := range want {
		item, ok := paths[path].(map[string]any)
		if !ok {
			t.Errorf("%s is not documented", path)
			continue
		}
		for _, m := range methods {
			if _, ok := item[m]; !ok {
				t.Errorf("%s %s is not documented", m, path)
			}
		}
	}
	if _, err := json.Marshal(paths); err != nil {
		t.Fatal(err)
	}
}
