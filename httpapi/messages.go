package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// listParams are the query parameters of the message lists.
var listParams = []string{"status", "destination", "tag", "created_from", "created_before", "limit", "cursor"}

func (h *Handler) send(w http.ResponseWriter, r *http.Request) error {
	if _, err := readParams(r); err != nil {
		return err
	}
	var in sendJSON
	if err := decodeBody(w, r, h.opts.MaxBody, &in); err != nil {
		return err
	}
	m, err := in.toMessage()
	if err != nil {
		return err
	}
	id, err := h.q.Send(r.Context(), m, nil)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]string{"id": id})
}

// batchJSON is a batch send request.
type batchJSON struct {
	Messages []json.RawMessage `json:"messages"`
}

func (h *Handler) sendBatch(w http.ResponseWriter, r *http.Request) error {
	ms, err := h.readBatch(w, r)
	if err != nil {
		return err
	}
	ids, err := h.q.SendBatch(r.Context(), ms, nil)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string][]string{"ids": ids})
}

// readBatch reads and checks the messages of a batch (or group) request.
func (h *Handler) readBatch(w http.ResponseWriter, r *http.Request) ([]*queuesqlite.Message, error) {
	if _, err := readParams(r); err != nil {
		return nil, err
	}
	var in batchJSON
	if err := decodeBody(w, r, h.opts.MaxBatchBody, &in); err != nil {
		return nil, err
	}
	if len(in.Messages) == 0 || len(in.Messages) > h.opts.MaxBatch {
		return nil, badRequest(fmt.Sprintf("messages: want 1 to %d messages, not %d", h.opts.MaxBatch, len(in.Messages)))
	}
	ms := make([]*queuesqlite.Message, len(in.Messages))
	for i, raw := range in.Messages {
		m, err := h.batchMessage(raw)
		if err != nil {
			ae := classify(err)
			return nil, &apiError{ae.status, ae.code, fmt.Sprintf("messages[%d]: %s", i, ae.message)}
		}
		ms[i] = m
	}
	return ms, nil
}

func (h *Handler) batchMessage(raw json.RawMessage) (*queuesqlite.Message, error) {
	if int64(len(raw)) > h.opts.MaxBody {
		return nil, &apiError{http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("larger than %d bytes", h.opts.MaxBody)}
	}
	var s sendJSON
	if err := decodeStrict(raw, &s); err != nil {
		return nil, err
	}
	return s.toMessage()
}

// messageID is the {id} of the path, checked.
func messageID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if id == "" || len(id) > queuetype.MaxIDLength {
		return "", badRequest(fmt.Sprintf("message id: want 1 to %d bytes", queuetype.MaxIDLength))
	}
	return id, nil
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) error {
	return h.byID(w, r, h.q.Get)
}

func (h *Handler) cancel(w http.ResponseWriter, r *http.Request) error {
	return h.byID(w, r, h.q.Cancel)
}

func (h *Handler) retry(w http.ResponseWriter, r *http.Request) error {
	return h.byID(w, r, h.q.Retry)
}

// byID runs fn on the message of the path and answers with the message.
func (h *Handler) byID(w http.ResponseWriter, r *http.Request, fn func(context.Context, string) (*queuesqlite.Message, error)) error {
	if _, err := readParams(r); err != nil {
		return err
	}
	id, err := messageID(r)
	if err != nil {
		return err
	}
	m, err := fn(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toMessageJSON(m))
}

// waitJSON answers a wait: done tells whether the message finished within
// the timeout; message is the message as it is then.
type waitJSON struct {
	Done    bool        `json:"done"`
	Message messageJSON `json:"message"`
}

// wait long-polls until the message is finished or the timeout passes. A
// timeout is not an error: the answer is 200 with done false and the
// message as it is, so a client loops until done. A timeout above MaxWait
// is shortened to it (a client need not know the server's maximum).
func (h *Handler) wait(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r, "timeout")
	if err != nil {
		return err
	}
	id, err := messageID(r)
	if err != nil {
		return err
	}
	timeout, err := p.seconds("timeout", WaitDefault, h.opts.MaxWait)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	stop := context.AfterFunc(h.stopWait, cancel)
	defer stop()
	h.polls.Add(1)
	m, err := h.q.Wait(ctx, id)
	h.polls.Add(-1)
	if err == nil {
		return writeJSON(w, http.StatusOK, waitJSON{Done: true, Message: toMessageJSON(m)})
	}
	if r.Context().Err() != nil {
		return nil // the client went away: nobody to answer
	}
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return err
	}
	m, err = h.q.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, waitJSON{Done: m.Status.Terminal(), Message: toMessageJSON(m)})
}

// pageJSON is one page of messages; next_cursor is null on the last.
type pageJSON struct {
	Messages   []messageJSON `json:"messages"`
	NextCursor *string       `json:"next_cursor"`
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) error {
	return h.listPage(w, r, nil)
}

// deadLetters lists the failed messages (the dead letters), with the same
// filters and paging as the message list except the status.
func (h *Handler) deadLetters(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Query().Has("status") {
		return badRequest("dead letters are the failed messages: no status parameter here")
	}
	return h.listPage(w, r, []queuesqlite.Status{queuesqlite.StatusFailed})
}

func (h *Handler) listPage(w http.ResponseWriter, r *http.Request, statuses []queuesqlite.Status) error {
	p, err := readParams(r, listParams...)
	if err != nil {
		return err
	}
	opts, err := listOpts(p)
	if err != nil {
		return err
	}
	if statuses != nil {
		opts.Statuses = statuses
	}
	page, err := h.q.ListPage(r.Context(), opts, p.str("cursor"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageJSON{Messages: toMessagesJSON(page.Messages), NextCursor: strOrNull(page.Next)})
}

// listOpts reads the list filters of the query string.
func listOpts(p params) (*queuesqlite.ListOpts, error) {
	o := &queuesqlite.ListOpts{Destination: p.str("destination"), Tag: p.str("tag")}
	for _, v := range p.v["status"] {
		for name := range strings.SplitSeq(v, ",") {
			s, err := queuesqlite.ParseStatus(strings.TrimSpace(name))
			if err != nil {
				return nil, badRequest(fmt.Sprintf("status %q: want one of pending, processing, completed, failed, retrying, expired, cancelled, scheduled", name))
			}
			o.Statuses = append(o.Statuses, s)
		}
	}
	var err error
	if o.CreatedFrom, err = p.time("created_from"); err != nil {
		return nil, err
	}
	if o.CreatedBefore, err = p.time("created_before"); err != nil {
		return nil, err
	}
	limit, err := p.int("limit", queuesqlite.ListPageDefault)
	if err != nil {
		return nil, err
	}
	if limit < 1 || limit > queuesqlite.ListPageMax {
		return nil, badRequest(fmt.Sprintf("limit: want 1 to %d", queuesqlite.ListPageMax))
	}
	o.Limit = int(limit)
	return o, nil
}
