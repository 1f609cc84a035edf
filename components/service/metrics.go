package service

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/wire"
)

type metrics struct {
	requests prometheus.Counter
	replies  *prometheus.CounterVec   // by outcome and reason
	calls    *prometheus.CounterVec   // by call and outcome
	latency  *prometheus.HistogramVec // by outcome
}

func newMetrics(srv *node.Server, s *Service) *metrics {
	l := prometheus.Labels{"service": s.name}
	m := &metrics{
		requests: prometheus.NewCounter(prometheus.CounterOpts{Name: "stripelab_service_requests_total", Help: "Well-formed requests received.", ConstLabels: l}),
		replies: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "stripelab_service_replies_total", ConstLabels: l,
			Help: "Replies by outcome and reason (the service's own, downstream for a call's answer passed on, bad_request for a 400)."}, []string{"outcome", "reason"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "stripelab_service_calls_total", ConstLabels: l,
			Help: "Downstream calls by call (the service called, or read, write, request) and outcome."}, []string{"call", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "stripelab_service_request_duration_seconds", ConstLabels: l,
			Help: "Time from receipt to reply, by outcome.", Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16)}, []string{"outcome"}),
	}
	srv.Metrics.MustRegister(m.requests, m.replies, m.calls, m.latency,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stripelab_service_in_flight", Help: "Threads busy.", ConstLabels: l}, func() float64 { return float64(s.slots.inFlight()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stripelab_service_queue_depth", Help: "Requests waiting for a thread.", ConstLabels: l}, func() float64 { return float64(s.slots.depth()) }))
	return m
}

func (m *metrics) done(o wire.Outcome, reason string, d time.Duration) {
	m.replies.WithLabelValues(o.String(), reason).Inc()
	if reason != "bad_request" {
		m.latency.WithLabelValues(o.String()).Observe(d.Seconds())
	}
}

func (m *metrics) call(name string, o wire.Outcome) { m.calls.WithLabelValues(name, o.String()).Inc() }
