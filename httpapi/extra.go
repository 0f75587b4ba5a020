package httpapi

import "net/http"

// ReadOnly wraps next, a route served beside the API (such as /metrics),
// with the API's rules for reads: when a token is configured, a request
// needs the full or the read-only bearer token (else 401, as JSON). It
// adds the same security headers and refuses writes (anything but GET or
// HEAD: 405).
func (h *Handler) ReadOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			h.writeError(w, r, &apiError{http.StatusMethodNotAllowed, "method_not_allowed", r.Method + " is not allowed on " + r.URL.Path})
			return
		}
		if err := h.authorize(r, false); err != nil {
			h.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}
