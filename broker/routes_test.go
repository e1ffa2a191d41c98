package broker

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

// The written access matrix: for every route of the broker's own API, the
// status each caller gets, in the order: no token, a bad token,
// researcher, coordinator, privacy_officer, fou_contact, admin. 404 is
// "exists, but not yours" (another user's request or release).
var callers = []string{"", "fk_000000000000_bad", "researcher", "coordinator", "privacy_officer", "fou_contact", "admin"}

var accessMatrix = []struct {
	method, pattern string
	want            [7]int
}{
	{"GET", "/healthz", [7]int{200, 401, 200, 200, 200, 200, 200}},
	{"GET", "/readyz", [7]int{200, 401, 200, 200, 200, 200, 200}},
	{"GET", "/metrics", [7]int{200, 401, 200, 200, 200, 200, 200}},
	{"GET", "/api/v1/openapi.json", [7]int{200, 401, 200, 200, 200, 200, 200}},
	{"GET", "/api/v1/datasets", [7]int{401, 401, 200, 200, 200, 200, 200}},
	{"GET", "/api/v1/datasets/{id}", [7]int{401, 401, 200, 200, 200, 200, 200}},
	{"POST", "/api/v1/requests", [7]int{401, 401, 201, 201, 403, 403, 403}},
	{"GET", "/api/v1/requests", [7]int{401, 401, 200, 200, 200, 403, 200}},
	{"GET", "/api/v1/requests/{id}", [7]int{401, 401, 200, 404, 200, 403, 200}},
	{"POST", "/api/v1/requests/{id}/approve", [7]int{401, 401, 403, 403, 200, 403, 403}},
	{"POST", "/api/v1/requests/{id}/reject", [7]int{401, 401, 403, 403, 200, 403, 403}},
	{"GET", "/api/v1/request-workflow", [7]int{401, 401, 200, 200, 200, 200, 200}},
	{"GET", "/api/v1/releases/{id}", [7]int{401, 401, 200, 404, 200, 403, 200}},
	{"GET", "/api/v1/releases/{id}/meta", [7]int{401, 401, 200, 404, 200, 403, 200}},
	{"GET", "/api/v1/indicators", [7]int{401, 401, 200, 200, 200, 200, 200}},
	{"GET", "/api/v1/indicators/{id}/values", [7]int{401, 401, 200, 200, 200, 200, 200}},
	{"GET", "/api/v1/policies", [7]int{401, 401, 403, 403, 200, 403, 200}},
	{"GET", "/api/v1/policies/decisions", [7]int{401, 401, 403, 403, 200, 403, 200}},
	{"POST", "/api/v1/policies/what-if", [7]int{401, 401, 403, 403, 200, 403, 200}},
	{"GET", "/api/v1/audit/status", [7]int{401, 401, 403, 403, 200, 403, 200}},
	{"GET", "/api/v1/sources", [7]int{401, 401, 403, 403, 200, 403, 200}},
	{"GET", "/api/v1/sources/{name}", [7]int{401, 401, 403, 403, 200, 403, 200}},
	{"POST", "/api/v1/sources/{name}/pull", [7]int{401, 401, 403, 403, 403, 403, 202}},
	{"GET", "/api/v1/extracts", [7]int{401, 401, 403, 403, 200, 403, 200}},
	{"GET", "/api/v1/extracts/{id}", [7]int{401, 401, 403, 403, 200, 403, 200}},
}

func TestEveryRouteAnswersEveryRoleAsTheMatrixSays(t *testing.T) {
	e := newEnv(t, template)
	withSources(t, e, "sources:\n  - {name: matrix-drop, kind: filedrop, folder: /nonexistent, datasets: [care]}\n")
	released := e.submit("researcher", e.spec("population", []string{"sex"}, nil, 2024, 2024))
	toApprove := e.submit("researcher", e.spec("gp_contact", []string{"icpc2_chapter"}, nil, 2024, 2024))
	toReject := e.submit("researcher", e.spec("gp_contact", []string{"icpc2_chapter", "sex"}, nil, 2024, 2024))
	if released.State != "released" || toApprove.State != "review" || toReject.State != "review" {
		t.Fatalf("setup: %s %s %s", released.State, toApprove.State, toReject.State)
	}
	ids := map[string]string{
		"/api/v1/datasets/{id}":          "population",
		"/api/v1/requests/{id}":          released.ID,
		"/api/v1/requests/{id}/approve":  toApprove.ID,
		"/api/v1/requests/{id}/reject":   toReject.ID,
		"/api/v1/releases/{id}":          released.ReleaseID,
		"/api/v1/releases/{id}/meta":     released.ReleaseID,
		"/api/v1/indicators/{id}/values": "mmr_age2",
		"/api/v1/extracts/{id}":          "1",
	}
	bodies := map[string]any{
		"/api/v1/requests":              nil, // per role below
		"/api/v1/requests/{id}/approve": map[string]string{"comment": "Godkjent."},
		"/api/v1/requests/{id}/reject":  map[string]string{"comment": "Avslått."},
		"/api/v1/policies/what-if": map[string]any{"subject": map[string]any{"id": "x", "roles": []string{"coordinator"}},
			"action": "indicator.read", "resource": map[string]any{"dataset": "indicators", "published": true}},
	}
	covered := map[string]bool{}
	for _, row := range accessMatrix {
		covered[row.method+" "+row.pattern] = true
		path := strings.Replace(row.pattern, "{id}", ids[row.pattern], 1)
		path = strings.Replace(path, "{name}", "matrix-drop", 1)
		for i, caller := range callers {
			body := bodies[row.pattern]
			if row.pattern == "/api/v1/requests" {
				filters := map[string][]string(nil)
				if caller == "coordinator" {
					filters = map[string][]string{"municipality": {"4601"}}
				}
				body = e.spec("population", []string{"sex"}, filters, 2024, 2024)
			}
			res := e.do(caller, row.method, path, body)
			if res.status != row.want[i] {
				t.Errorf("%s %s as %q: %d, want %d (%s)", row.method, row.pattern, caller, res.status, row.want[i], firstLine(res.body))
			}
			if res.status >= 400 && !json.Valid(res.body) {
				t.Errorf("%s %s as %q: error body is not JSON: %s", row.method, row.pattern, caller, res.body)
			}
		}
	}
	for _, rt := range allRoutes() {
		if !covered[rt.method+" "+rt.pattern] {
			t.Errorf("route %s %s is not in the access matrix", rt.method, rt.pattern)
		}
	}
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

func TestOpenAPIDocumentsEveryRouteTheRouterHas(t *testing.T) {
	e := newEnv(t, template)
	res := e.do("", "GET", "/api/v1/openapi.json", nil)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	res.json(t, &doc)
	if res.status != 200 || doc.OpenAPI != "3.1.0" {
		t.Fatalf("%d openapi %q", res.status, doc.OpenAPI)
	}
	routed := map[string]bool{}
	err := chi.Walk(e.srv.router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if !strings.HasPrefix(route, "/api/") && doc.Paths[route] == nil {
			return nil // a web page (web.go), not part of the API
		}
		routed[method+" "+route] = true
		if _, ok := doc.Paths[route][strings.ToLower(method)]; !ok {
			t.Errorf("the router serves %s %s, which the OpenAPI document lacks", method, route)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range doc.Paths {
		for method := range item {
			if !routed[strings.ToUpper(method)+" "+path] {
				t.Errorf("the OpenAPI document has %s %s, which the router does not serve", method, path)
			}
		}
	}
	if len(routed) < len(allRoutes()) {
		t.Errorf("router has %d routes, fewer than the %d of the broker's own table", len(routed), len(allRoutes()))
	}
}
