package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"strings"
)

// authorize checks the bearer token of a request: any token configured
// makes one necessary, and a write needs the full token.
func (h *Handler) authorize(r *http.Request, write bool) error {
	if h.opts.Token == "" && h.opts.ReadOnlyToken == "" {
		return nil
	}
	given, ok := bearer(r)
	if !ok {
		return &apiError{http.StatusUnauthorized, "unauthorized", "missing bearer token (Authorization: Bearer <token>)"}
	}
	full := h.opts.Token != "" && sameToken(given, h.opts.Token)
	readOnly := h.opts.ReadOnlyToken != "" && sameToken(given, h.opts.ReadOnlyToken)
	switch {
	case full:
		return nil
	case readOnly && !write:
		return nil
	case readOnly:
		return &apiError{http.StatusForbidden, "forbidden", "the read-only token cannot write"}
	}
	return &apiError{http.StatusUnauthorized, "unauthorized", "wrong bearer token"}
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// sameToken compares in constant time; hashing first hides the length too.
func sameToken(given, want string) bool {
	a, b := sha256.Sum256([]byte(given)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// LoopbackHostOnly refuses (421) requests whose Host header is not a
// loopback name or address. Wrap a handler that runs without a token on a
// loopback address with it: a web page the user visits could otherwise
// reach it through a DNS name rebound to 127.0.0.1.
func LoopbackHostOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !IsLoopbackHost(r.Host) {
			_ = writeJSON(w, http.StatusMisdirectedRequest, errorBody{errorJSON{"misdirected",
				"this server answers only to a loopback host name (localhost, 127.0.0.1, [::1])"}})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// IsLoopbackHost reports whether host (with or without a port) is
// "localhost" or a loopback IP address.
func IsLoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
