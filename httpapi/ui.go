package httpapi

import (
	"embed"
	"io/fs"
	"net/http"
)

// The web dashboard: static files embedded in the binary, served under
// /ui/ by the same handler (and / redirects there). The files hold no
// data, so they need no token; the page reads and writes only through the
// JSON API, with the token the user types in. The routes are outside the
// /v1 API and so outside the OpenAPI document.

//go:embed ui
var uiFiles embed.FS

// uiPolicy is the dashboard's Content-Security-Policy: its own scripts and
// styles only, no inline script, no other origin, no framing. Should data
// ever reach the page as markup, it still cannot run.
const uiPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// mountUI adds the dashboard's routes to the mux.
func (h *Handler) mountUI() {
	sub, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix("/ui/", http.FileServerFS(sub))
	h.mux.Handle("GET /ui/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.sampler.start(h.stopWait)
		hd := w.Header()
		hd.Set("Content-Security-Policy", uiPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	}))
	h.mux.HandleFunc("GET /{$}", redirectToUI)
	h.mux.HandleFunc("GET /ui", redirectToUI)
}

// redirectToUI sends the browser to the dashboard. The location is
// relative, so it stays right when an application mounts the handler
// under a prefix with http.StripPrefix (http.Redirect would resolve it
// against the stripped path).
func redirectToUI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Location", "ui/")
	w.WriteHeader(http.StatusFound)
}

// accessJSON tells the dashboard what the caller's token allows.
type accessJSON struct {
	TokenRequired bool `json:"token_required"`
	CanWrite      bool `json:"can_write"`
}

// access answers what the request's credentials allow; like every read it
// needs a token when one is configured (401 tells the page to ask).
func (h *Handler) access(w http.ResponseWriter, r *http.Request) error {
	if _, err := readParams(r); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, accessJSON{TokenRequired: h.opts.Token != "" || h.opts.ReadOnlyToken != "",
		CanWrite: h.authorize(r, true) == nil})
}
