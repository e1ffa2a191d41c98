package broker

import (
	"net/http"
	"strings"

	portfolioapi "github.com/kunnskapskommunen/folkekommune/broker/portfolio/api"
)

// OpenAPI is the OpenAPI 3.1 document of the whole API, built from the
// same route tables the router is built from.
func OpenAPI() map[string]any {
	paths := portfolioapi.OpenAPIPaths()
	for _, rt := range allRoutes() {
		item, _ := paths[rt.pattern].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.pattern] = item
		}
		who := "anyone, without signing in"
		if rt.roles != nil {
			who = strings.Join(rt.roles, ", ")
		}
		responses := map[string]any{
			"200": map[string]any{"description": "OK"},
			"400": map[string]any{"description": "Bad input; the body names the field (field) and explains it in English (error) and bokmål (melding)", "content": errorContent},
			"500": map[string]any{"description": "Internal error (details only in the server's log)", "content": errorContent},
		}
		if rt.roles != nil {
			responses["401"] = map[string]any{"description": "No valid bearer token", "content": errorContent}
			responses["403"] = map[string]any{"description": "The role may not do this", "content": errorContent}
			responses["404"] = map[string]any{"description": "No such object, or not yours", "content": errorContent}
		}
		op := map[string]any{
			"operationId": operationID(rt.method, rt.pattern),
			"summary":     rt.summary,
			"description": "Who may call: " + who + ".",
			"tags":        []string{rt.tag},
			"responses":   responses,
		}
		if rt.roles != nil {
			op["security"] = []any{map[string]any{"bearer": []any{}}}
		}
		var params []any
		for _, seg := range strings.Split(rt.pattern, "/") {
			if strings.HasPrefix(seg, "{") {
				params = append(params, map[string]any{"name": strings.Trim(seg, "{}"), "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
			}
		}
		if rt.tables {
			params = append(params, map[string]any{"name": "format", "in": "query", "required": false,
				"schema": map[string]any{"type": "string", "enum": FormatNames()}})
			content := map[string]any{}
			for _, f := range formats {
				content[f.mediaType] = map[string]any{}
			}
			responses["200"] = map[string]any{"description": "The table; withheld cells carry no number", "content": content}
		}
		if params != nil {
			op["parameters"] = params
		}
		switch {
		case rt.pattern == "/api/v1/requests" && rt.method == "POST":
			op["requestBody"] = jsonBody("#/components/schemas/RequestSpec")
			responses["201"] = map[string]any{"description": "The request, its decision and (when allowed) its release"}
			responses["503"] = map[string]any{"description": "No extract loaded yet", "content": errorContent}
		case strings.HasSuffix(rt.pattern, "/approve") || strings.HasSuffix(rt.pattern, "/reject"):
			op["requestBody"] = jsonBody("#/components/schemas/Review")
			responses["409"] = map[string]any{"description": "The request is not under review, or you reviewed it already", "content": errorContent}
		case strings.HasSuffix(rt.pattern, "/pull") && rt.method == "POST":
			// Queuing a pull takes no body: the source's name is the path.
			delete(responses, "200")
			responses["202"] = map[string]any{"description": "The pull is queued; follow it in /api/v1/extracts"}
			responses["409"] = map[string]any{"description": "The source is being pulled or already queued", "content": errorContent}
		case rt.method == "POST":
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}}
		}
		item[strings.ToLower(rt.method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "FolkeKommune broker API",
			"version":     "1",
			"description": "Aggregated, protected health data from the municipalities of Kunnskapskommunen Helse Omsorg Vest. Every table has passed the policy, disclosure control and the audit log.",
		},
		"servers": []any{map[string]any{"url": "/"}},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
			"schemas": map[string]any{
				"Error": map[string]any{"type": "object", "required": []string{"error"}, "properties": map[string]any{
					"error": map[string]any{"type": "string"}, "field": map[string]any{"type": "string"}, "melding": map[string]any{"type": "string"}}},
				"Review": map[string]any{"type": "object", "required": []string{"comment"}, "additionalProperties": false,
					"properties": map[string]any{"comment": map[string]any{"type": "string"}}},
				"RequestSpec": map[string]any{"type": "object", "additionalProperties": false,
					"required": []string{"project", "dataset", "period", "purpose"},
					"properties": map[string]any{
						"project":    map[string]any{"type": "integer", "description": "Project id in the portfolio"},
						"dataset":    map[string]any{"type": "string", "description": "A dataset id from GET /api/v1/datasets"},
						"measure":    map[string]any{"type": "string", "enum": []string{"persons", "events"}},
						"dimensions": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
						"filters":    map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "array", "items": map[string]any{"type": "string"}}},
						"period": map[string]any{"type": "object", "required": []string{"from", "to"}, "additionalProperties": false,
							"properties": map[string]any{"from": map[string]any{"type": "integer"}, "to": map[string]any{"type": "integer"}}},
						"purpose": map[string]any{"type": "string"},
					}},
			},
		},
	}
}

var errorContent = map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}

func jsonBody(ref string) map[string]any {
	return map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": ref}}}}
}

func operationID(method, pattern string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, seg := range strings.Split(pattern, "/") {
		seg = strings.Trim(seg, "{}")
		seg = strings.NewReplacer("-", "_", ".", "_").Replace(seg)
		if seg == "" || seg == "api" || seg == "v1" {
			continue
		}
		b.WriteString("_" + seg)
	}
	return b.String()
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, s.openapiDoc)
	return nil
}
