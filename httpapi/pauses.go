package httpapi

import (
	"context"
	"fmt"
	"net/http"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// pausesJSON answers the pause routes: every recorded pause.
type pausesJSON struct {
	Pauses []queuesqlite.Pause `json:"pauses"`
}

func (h *Handler) listPauses(w http.ResponseWriter, r *http.Request) error {
	if _, err := readParams(r); err != nil {
		return err
	}
	return h.writePauses(w, r)
}

func (h *Handler) pauseDestination(w http.ResponseWriter, r *http.Request) error {
	return h.setPause(w, r, h.q.PauseDestination)
}

func (h *Handler) resumeDestination(w http.ResponseWriter, r *http.Request) error {
	return h.setPause(w, r, h.q.ResumeDestination)
}

func (h *Handler) pauseQueue(w http.ResponseWriter, r *http.Request) error {
	return h.setPause(w, r, h.q.PauseQueue)
}

func (h *Handler) resumeQueue(w http.ResponseWriter, r *http.Request) error {
	return h.setPause(w, r, h.q.ResumeQueue)
}

// setPause runs fn (a pause or resume) on the name of the path and answers
// with every pause as it is then.
func (h *Handler) setPause(w http.ResponseWriter, r *http.Request, fn func(context.Context, string) error) error {
	if _, err := readParams(r); err != nil {
		return err
	}
	name := r.PathValue("name")
	if name == "" || len(name) > queuetype.MaxDestinationLength {
		return badRequest(fmt.Sprintf("name: want 1 to %d bytes", queuetype.MaxDestinationLength))
	}
	if err := fn(r.Context(), name); err != nil {
		return err
	}
	return h.writePauses(w, r)
}

func (h *Handler) writePauses(w http.ResponseWriter, r *http.Request) error {
	ps, err := h.q.Paused(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pausesJSON{Pauses: pausesOrEmpty(ps)})
}

// pausesOrEmpty is ps, or an empty list (JSON [] rather than null).
func pausesOrEmpty(ps []queuesqlite.Pause) []queuesqlite.Pause {
	if ps == nil {
		return []queuesqlite.Pause{}
	}
	return ps
}
