package httpapi

import (
	"fmt"
	"net/http"

	"github.com/queue-sqlite/queuesqlite"
)

// listenKey is the {key...} of the path, checked.
func listenKey(r *http.Request) (string, error) {
	key := r.PathValue("key")
	if key == "" || len(key) > MaxKeyLength {
		return "", badRequest(fmt.Sprintf("listen key: want 1 to %d bytes", MaxKeyLength))
	}
	return key, nil
}

func (h *Handler) listListen(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r, "prefix")
	if err != nil {
		return err
	}
	es, err := h.q.ListListenData(r.Context(), p.str("prefix"))
	if err != nil {
		return err
	}
	out := make([]entryJSON, len(es))
	for i, e := range es {
		out[i] = toEntryJSON(e)
	}
	return writeJSON(w, http.StatusOK, map[string][]entryJSON{"entries": out})
}

func (h *Handler) getListen(w http.ResponseWriter, r *http.Request) error {
	if _, err := readParams(r); err != nil {
		return err
	}
	key, err := listenKey(r)
	if err != nil {
		return err
	}
	e, err := h.q.GetListenData(r.Context(), key)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toEntryJSON(e))
}

// changeAnswer is the answer to a set or delete: the change, or null when
// nothing changed.
type changeAnswer struct {
	Change *changeJSON `json:"change"`
}

func (h *Handler) setListen(w http.ResponseWriter, r *http.Request) error {
	if _, err := readParams(r); err != nil {
		return err
	}
	key, err := listenKey(r)
	if err != nil {
		return err
	}
	var in valueJSON
	if err := decodeBody(w, r, h.opts.MaxBody, &in); err != nil {
		return err
	}
	v, err := fromValueJSON(in)
	if err != nil {
		return err
	}
	c, err := h.q.SetListenData(r.Context(), key, v)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, changeAnswer{toChangeJSON(c)})
}

func (h *Handler) deleteListen(w http.ResponseWriter, r *http.Request) error {
	if _, err := readParams(r); err != nil {
		return err
	}
	key, err := listenKey(r)
	if err != nil {
		return err
	}
	c, err := h.q.DeleteListenData(r.Context(), key)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, changeAnswer{toChangeJSON(c)})
}

// changesJSON is a page of the change log; pass next_after as after for
// the next page.
type changesJSON struct {
	Changes   []*changeJSON `json:"changes"`
	NextAfter int64         `json:"next_after"`
}

func (h *Handler) listenChanges(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r, "after", "limit")
	if err != nil {
		return err
	}
	after, err := p.int("after", 0)
	if err != nil {
		return err
	}
	limit, err := p.int("limit", queuesqlite.ListPageDefault)
	if err != nil {
		return err
	}
	if limit < 1 || limit > queuesqlite.ListPageMax {
		return badRequest(fmt.Sprintf("limit: want 1 to %d", queuesqlite.ListPageMax))
	}
	cs, err := h.q.ListenChanges(r.Context(), after, int(limit))
	if err != nil {
		return err
	}
	out := changesJSON{Changes: make([]*changeJSON, len(cs)), NextAfter: after}
	for i, c := range cs {
		out.Changes[i] = toChangeJSON(c)
		out.NextAfter = c.Seq
	}
	return writeJSON(w, http.StatusOK, out)
}

// groupsJSON describes the change log's range and every listener group.
type groupsJSON struct {
	FirstSeq int64       `json:"first_seq"`
	LastSeq  int64       `json:"last_seq"`
	Groups   []groupJSON `json:"groups"`
}

type groupJSON struct {
	Name       string  `json:"name"`
	Cursor     int64   `json:"cursor"`
	Lag        int64   `json:"lag"`
	LeaseOwner *string `json:"lease_owner"`
	LeaseUntil any     `json:"lease_until"`
	Failures   int     `json:"failures"`
}

func (h *Handler) listenGroups(w http.ResponseWriter, r *http.Request) error {
	if _, err := readParams(r); err != nil {
		return err
	}
	st, err := h.q.ListenStats(r.Context())
	if err != nil {
		return err
	}
	out := groupsJSON{FirstSeq: st.FirstSeq, LastSeq: st.LastSeq, Groups: []groupJSON{}}
	for _, g := range st.Groups {
		out.Groups = append(out.Groups, groupJSON{Name: g.Name, Cursor: g.Cursor, Lag: g.Lag,
			LeaseOwner: strOrNull(g.LeaseOwner), LeaseUntil: timeOrNull(g.LeaseUntil), Failures: g.Failures})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) dropListenGroup(w http.ResponseWriter, r *http.Request) error {
	if _, err := readParams(r); err != nil {
		return err
	}
	name := r.PathValue("name")
	if name == "" || len(name) > MaxKeyLength {
		return badRequest(fmt.Sprintf("group name: want 1 to %d bytes", MaxKeyLength))
	}
	if err := h.q.DropListenGroup(r.Context(), name); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"dropped": name})
}
