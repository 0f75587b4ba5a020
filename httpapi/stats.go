package httpapi

import (
	"net/http"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// statsJSON is the queue's counts, as `queuesqlite stats --json` prints
// them, with the shard count.
type statsJSON struct {
	Total            int                       `json:"total"`
	ByStatus         map[string]int            `json:"by_status"`
	ByDestination    map[string]map[string]int `json:"by_destination"`
	OldestPending    *time.Time                `json:"oldest_pending"`
	OldestPendingAge float64                   `json:"oldest_pending_age_seconds"`
	ShardCount       int                       `json:"shard_count"`
	Shards           []shardJSON               `json:"shards"`
	Paused           []queuesqlite.Pause       `json:"paused"` // as GET /v1/pauses
}

type shardJSON struct {
	Shard            int            `json:"shard"`
	Total            int            `json:"total"`
	ByStatus         map[string]int `json:"by_status"`
	OldestPending    *time.Time     `json:"oldest_pending"`
	OldestPendingAge float64        `json:"oldest_pending_age_seconds"`
}

func (h *Handler) stats(w http.ResponseWriter, r *http.Request) error {
	if _, err := readParams(r); err != nil {
		return err
	}
	st, err := h.q.Stats(r.Context())
	if err != nil {
		return err
	}
	out := statsJSON{ByStatus: named(st.ByStatus), ByDestination: map[string]map[string]int{},
		OldestPending: timeOrNull(st.OldestPending), OldestPendingAge: st.OldestPendingAge.Seconds(),
		ShardCount: h.q.ShardCount(), Shards: shardsJSON(st), Paused: pausesOrEmpty(st.Paused)}
	for dest, counts := range st.ByDestination {
		out.ByDestination[dest] = named(counts)
	}
	out.Total = sum(st.ByStatus)
	return writeJSON(w, http.StatusOK, out)
}

// shards answers the shard count and each shard's counts.
func (h *Handler) shards(w http.ResponseWriter, r *http.Request) error {
	if _, err := readParams(r); err != nil {
		return err
	}
	st, err := h.q.Stats(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"count": h.q.ShardCount(), "shards": shardsJSON(st)})
}

func shardsJSON(st *queuesqlite.Stats) []shardJSON {
	out := []shardJSON{}
	for _, s := range st.Shards {
		out = append(out, shardJSON{Shard: s.Shard, Total: sum(s.ByStatus), ByStatus: named(s.ByStatus),
			OldestPending: timeOrNull(s.OldestPending), OldestPendingAge: s.OldestPendingAge.Seconds()})
	}
	return out
}

// named keys counts by status name, every status present (zero included).
func named(counts map[queuesqlite.Status]int) map[string]int {
	out := map[string]int{}
	for _, s := range queuesqlite.AllStatuses {
		out[s.String()] = counts[s]
	}
	return out
}

func sum(counts map[queuesqlite.Status]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}
