package httpapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// deleteJSON answers a delete: what happened to each id.
type deleteJSON struct {
	Deleted    []string `json:"deleted"`
	Processing []string `json:"processing"`
	NotFound   []string `json:"not_found"`
}

func toDeleteJSON(r *queuesqlite.DeleteResult) deleteJSON {
	orEmpty := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return deleteJSON{Deleted: orEmpty(r.Deleted), Processing: orEmpty(r.Processing), NotFound: orEmpty(r.NotFound)}
}

// deleteMessage deletes the message of the path: 404 when it is not
// stored, 409 when it is running.
func (h *Handler) deleteMessage(w http.ResponseWriter, r *http.Request) error {
	if _, err := readParams(r); err != nil {
		return err
	}
	id, err := messageID(r)
	if err != nil {
		return err
	}
	res, err := h.q.Delete(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toDeleteJSON(res))
}

// bulkDeleteJSON is a bulk delete request.
type bulkDeleteJSON struct {
	IDs []string `json:"ids"`
}

// deleteMessages deletes a selection: 200 with what happened to each id,
// also when some are running or not stored.
func (h *Handler) deleteMessages(w http.ResponseWriter, r *http.Request) error {
	if _, err := readParams(r); err != nil {
		return err
	}
	var in bulkDeleteJSON
	if err := decodeBody(w, r, h.opts.MaxBatchBody, &in); err != nil {
		return err
	}
	if len(in.IDs) == 0 || len(in.IDs) > h.opts.MaxBatch {
		return badRequest(fmt.Sprintf("ids: want 1 to %d ids, not %d", h.opts.MaxBatch, len(in.IDs)))
	}
	for i, id := range in.IDs {
		if id == "" || len(id) > queuetype.MaxIDLength {
			return badRequest(fmt.Sprintf("ids[%d]: want 1 to %d bytes", i, queuetype.MaxIDLength))
		}
	}
	res, err := h.q.Delete(r.Context(), in.IDs...)
	if res == nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toDeleteJSON(res))
}

// messageGroupJSON answers a group send and a group read.
type messageGroupJSON struct {
	ID         string         `json:"id"`
	MessageIDs []string       `json:"message_ids"`
	Counts     map[string]int `json:"counts"`
	Missing    int            `json:"missing"`
	Finished   bool           `json:"finished"`
	CreatedAt  *time.Time     `json:"created_at"`
	FinishedAt *time.Time     `json:"finished_at"`
}

// sendGroup sends a batch as a group (SendGroup): 201 with the group's id
// and its members' ids.
func (h *Handler) sendGroup(w http.ResponseWriter, r *http.Request) error {
	ms, err := h.readBatch(w, r)
	if err != nil {
		return err
	}
	g, err := h.q.SendGroup(r.Context(), ms, nil)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"id": g.ID, "message_ids": g.MessageIDs})
}

// groupResult reads a group's result (GroupResult).
func (h *Handler) groupResult(w http.ResponseWriter, r *http.Request) error {
	if _, err := readParams(r); err != nil {
		return err
	}
	id := r.PathValue("id")
	if id == "" || len(id) > queuetype.MaxIDLength {
		return badRequest(fmt.Sprintf("group id: want 1 to %d bytes", queuetype.MaxIDLength))
	}
	g, err := h.q.GroupResult(r.Context(), id)
	if err != nil {
		return err
	}
	counts := make(map[string]int, len(g.Counts))
	for s, n := range g.Counts {
		counts[s.String()] = n
	}
	return writeJSON(w, http.StatusOK, messageGroupJSON{ID: g.ID, MessageIDs: g.MessageIDs, Counts: counts,
		Missing: g.Missing, Finished: g.Finished, CreatedAt: timeOrNull(g.CreatedAt), FinishedAt: timeOrNull(g.FinishedAt)})
}

// attemptErrorJSON is one entry of a message's attempt history.
type attemptErrorJSON struct {
	Attempt int        `json:"attempt"`
	At      *time.Time `json:"at"`
	Error   string     `json:"error"`
}

// toAttemptErrorsJSON is the history as read, or nil when it was not read
// (lists), so the field is left out rather than shown empty.
func toAttemptErrorsJSON(m *queuesqlite.Message) *[]attemptErrorJSON {
	errs := m.Errors()
	if errs == nil {
		return nil
	}
	out := make([]attemptErrorJSON, len(errs))
	for i, e := range errs {
		out[i] = attemptErrorJSON{Attempt: e.Attempt, At: timeOrNull(e.At), Error: e.Error}
	}
	return &out
}
