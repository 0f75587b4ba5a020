package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/queue-sqlite/queuesqlite"
)

// apiError is an error with the HTTP status and code the client sees.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

// errInternal is what the client sees of any fault that is not its own.
var errInternal = &apiError{http.StatusInternalServerError, "internal", "internal error; the detail is in the server log"}

// badRequest is a 400 for an input the client must fix.
func badRequest(msg string) error {
	return &apiError{http.StatusBadRequest, "invalid_argument", msg}
}

// errorBody is the JSON form of every error: {"error": {"code", "message"}}.
type errorBody struct {
	Error errorJSON `json:"error"`
}

type errorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// classify maps an error to what the client sees. The sentinels whose text
// is the client's own input (bad argument, not found, invalid state) keep
// their message; the others get a fixed one, so no file path, SQL or stack
// reaches a response.
func classify(err error) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, queuesqlite.ErrInvalidArgument):
		return &apiError{http.StatusBadRequest, "invalid_argument", err.Error()}
	case errors.Is(err, queuesqlite.ErrNotFound):
		return &apiError{http.StatusNotFound, "not_found", err.Error()}
	case errors.Is(err, queuesqlite.ErrInvalidState):
		return &apiError{http.StatusConflict, "invalid_state", err.Error()}
	case errors.Is(err, queuesqlite.ErrDuplicate):
		return &apiError{http.StatusConflict, "duplicate", "a message with this id already exists"}
	case errors.Is(err, queuesqlite.ErrClosed):
		return &apiError{http.StatusServiceUnavailable, "closed", "the queue is closed"}
	case errors.Is(err, queuesqlite.ErrStorageFull):
		return &apiError{http.StatusInsufficientStorage, "storage_full", "storage is full; nothing was written, retry once space is freed"}
	}
	return errInternal
}

// writeError renders err; the detail of a server fault goes to the log.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := classify(err)
	if ae.status >= http.StatusInternalServerError {
		h.log.Error("http request failed", "method", r.Method, "path", r.URL.Path, "status", ae.status, "err", err)
	}
	if ae.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="queuesqlite"`)
	}
	_ = writeJSON(w, ae.status, errorBody{errorJSON{ae.code, ae.message}})
}

// writeJSON writes v as the response body with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
	return nil
}
