package httpapi

import (
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// openAPIDoc is the part of the OpenAPI document the route test reads.
type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

type openAPIOp struct {
	OperationID string `json:"operationId"`
	Parameters  []struct {
		Name string `json:"name"`
		In   string `json:"in"`
	} `json:"parameters"`
	Responses map[string]json.RawMessage `json:"responses"`
}

// pathParam matches a ServeMux wildcard, {name} or {name...}.
var pathParam = regexp.MustCompile(`\{([a-z]+)(\.\.\.)?\}`)

// TestOpenAPI_MatchesRoutes fails when a registered route is missing from
// the OpenAPI document or the document lists an operation no route serves,
// or when a route's path parameters are not declared.
func TestOpenAPI_MatchesRoutes(t *testing.T) {
	var doc openAPIDoc
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q, want 3.x", doc.OpenAPI)
	}
	var fromRoutes, fromDoc []string
	for _, rt := range routes {
		path := pathParam.ReplaceAllString(rt.path, "{$1}")
		fromRoutes = append(fromRoutes, rt.method+" "+path)
		raw, ok := doc.Paths[path][strings.ToLower(rt.method)]
		if !ok {
			continue
		}
		var op openAPIOp
		if err := json.Unmarshal(raw, &op); err != nil {
			t.Fatalf("%s %s: %v", rt.method, path, err)
		}
		if op.OperationID == "" || len(op.Responses) == 0 {
			t.Errorf("%s %s: no operationId or no responses", rt.method, path)
		}
		for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
			declared := slices.ContainsFunc(op.Parameters, func(p struct {
				Name string `json:"name"`
				In   string `json:"in"`
			}) bool {
				return p.Name == m[1] && p.In == "path"
			})
			if !declared {
				t.Errorf("%s %s: path parameter %q not declared", rt.method, path, m[1])
			}
		}
	}
	h := New(nil, nil)
	for path, ops := range doc.Paths {
		for method := range ops {
			fromDoc = append(fromDoc, strings.ToUpper(method)+" "+path)
			// The mux itself must route a request for it to a real route.
			concrete := pathParam.ReplaceAllString(path, "x")
			req := httptest.NewRequest(strings.ToUpper(method), concrete, nil)
			if _, pattern := h.mux.Handler(req); pattern == "/" || pattern == "" {
				t.Errorf("openapi.json lists %s %s; the mux sends %s %s to no route", method, path, req.Method, concrete)
			}
		}
	}
	slices.Sort(fromRoutes)
	slices.Sort(fromDoc)
	for _, r := range fromRoutes {
		if !slices.Contains(fromDoc, r) {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for _, d := range fromDoc {
		if !slices.Contains(fromRoutes, d) {
			t.Errorf("openapi.json lists %s, which no route serves", d)
		}
	}
}
