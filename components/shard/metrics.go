package shard

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	ops      *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	inflight prometheus.Gauge
	queue    prometheus.Gauge
	applied  prometheus.Gauge
	epoch    prometheus.Gauge
	primary  prometheus.Gauge
	behind   *prometheus.GaugeVec
}

func newMetrics(r *prometheus.Registry) *metrics {
	m := &metrics{
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "stripelab_shard_requests_total", Help: "Operations answered, by op and outcome."}, []string{"op", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "stripelab_shard_request_seconds", Help: "Time from receipt to answer, by op.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16)}, []string{"op"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "stripelab_shard_in_flight", Help: "Operations holding a slot."}),
		queue:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "stripelab_shard_queue_depth", Help: "Operations waiting for a slot."}),
		applied:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "stripelab_shard_applied", Help: "Last sequence number in this copy's log."}),
		epoch:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "stripelab_shard_epoch", Help: "The epoch this copy is in."}),
		primary:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "stripelab_shard_primary", Help: "1 when this copy is the primary."}),
		behind: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "stripelab_shard_copy_behind_entries",
			Help: "On the primary: log entries each other copy lacks, as of its last answer."}, []string{"copy"}),
	}
	r.MustRegister(m.ops, m.latency, m.inflight, m.queue, m.applied, m.epoch, m.primary, m.behind)
	return m
}

func (m *metrics) outcome(op, outcome string) { m.ops.WithLabelValues(op, outcome).Inc() }
