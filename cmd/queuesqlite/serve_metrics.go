package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/httpapi"
	"github.com/queue-sqlite/queuesqlite/queuemetrics"
)

// metricsPath is where `serve` publishes the Prometheus metrics.
const metricsPath = "/metrics"

// withMetrics serves the queue's Prometheus metrics (and the Go runtime's
// and the process's) at /metrics beside the API, readable with either
// token, and everything else through the API.
func withMetrics(api *httpapi.Handler, q *queuesqlite.Queue) (http.Handler, error) {
	c, err := queuemetrics.New(q, nil)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle(metricsPath, api.ReadOnly(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})))
	mux.Handle("/", api)
	return mux, nil
}
