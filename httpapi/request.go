package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// decodeBody decodes the JSON body of r into dst strictly: the media type
// must be JSON, the body at most limit bytes, one JSON value with no
// unknown fields and nothing after it.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, dst any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &apiError{http.StatusUnsupportedMediaType, "unsupported_media_type", "the body must be JSON (Content-Type: application/json)"}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err, limit)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return jsonError(err, limit)
		}
		return badRequest("the body must hold one JSON value and nothing after it")
	}
	return nil
}

// decodeStrict decodes one JSON value (a batch element) like decodeBody.
func decodeStrict(raw []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err, 0)
	}
	return nil
}

// jsonError turns a decoding error into a 400 (413 for a body over the
// limit) whose message names the problem without Go type names.
func jsonError(err error, limit int64) error {
	var tooLarge *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		return &apiError{http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is larger than %d bytes", limit)}
	case errors.As(err, &syntax):
		return badRequest(fmt.Sprintf("invalid JSON at byte %d", syntax.Offset))
	case errors.As(err, &typ):
		return badRequest(fmt.Sprintf("field %q: a JSON %s is not allowed here", typ.Field, typ.Value))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("the body is empty or cut short")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest("unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return badRequest("invalid JSON body")
}

// params reads a query string that may hold only the allowed names, each
// at most once unless listed in repeatable.
type params struct {
	v url.Values
}

func readParams(r *http.Request, allowed ...string) (params, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return params{}, badRequest("malformed query string")
	}
	for name, vals := range v {
		known := false
		for _, a := range allowed {
			known = known || a == name
		}
		if !known {
			return params{}, badRequest(fmt.Sprintf("unknown query parameter %q (allowed: %s)", name, strings.Join(allowed, ", ")))
		}
		if len(vals) > 1 && name != "status" {
			return params{}, badRequest(fmt.Sprintf("query parameter %q given more than once", name))
		}
	}
	return params{v}, nil
}

func (p params) str(name string) string { return p.v.Get(name) }

// int reads a non-negative integer parameter, def when absent.
func (p params) int(name string, def int64) (int64, error) {
	s := p.v.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest(fmt.Sprintf("query parameter %q: want a non-negative integer, not %q", name, s))
	}
	return n, nil
}

// time reads an RFC 3339 time parameter; zero when absent.
func (p params) time(name string) (time.Time, error) {
	s := p.v.Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, badRequest(fmt.Sprintf("query parameter %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z, not %q", name, s))
	}
	return t.UTC(), nil
}

// seconds reads a duration parameter given in (fractional) seconds, at
// most max (a longer one is shortened to max).
func (p params) seconds(name string, def, max time.Duration) (time.Duration, error) {
	s := p.v.Get(name)
	if s == "" {
		return min(def, max), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0, badRequest(fmt.Sprintf("query parameter %q: want a number of seconds, 0 or more, not %q", name, s))
	}
	if f >= max.Seconds() {
		return max, nil
	}
	return time.Duration(f * float64(time.Second)), nil
}

// secondsField converts a body field given in seconds to a duration.
func secondsField(name string, f *float64) (time.Duration, error) {
	if f == nil {
		return 0, nil
	}
	if math.IsNaN(*f) || *f < 0 || *f > maxSeconds {
		return 0, badRequest(fmt.Sprintf("%s: want seconds between 0 and %g", name, maxSeconds))
	}
	return time.Duration(*f * float64(time.Second)), nil
}

// maxSeconds is the longest delay or TTL accepted: 100 years, well inside
// time.Duration.
const maxSeconds float64 = 100 * 365 * 24 * 3600
