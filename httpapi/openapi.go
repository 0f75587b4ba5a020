package httpapi

import (
	_ "embed"
	"net/http"
)

// openAPIDocument describes every route; a test checks it against routes.
//
//go:embed openapi.json
var openAPIDocument []byte

func (h *Handler) openAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDocument)
	return nil
}
