package gateway

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/wire"
)

type metrics struct {
	requests *prometheus.CounterVec   // by priority
	replies  *prometheus.CounterVec   // by outcome and reason
	latency  *prometheus.HistogramVec // by outcome
}

func newMetrics(s *node.Server, g *Gateway) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "stripelab_gateway_requests_total", Help: "Well-formed requests received, by priority."}, []string{"priority"}),
		replies: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "stripelab_gateway_replies_total",
			Help: "Replies by outcome and reason (the gateway's own reason, upstream for an upstream's answer passed on, bad_request for a 400)."}, []string{"outcome", "reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "stripelab_gateway_request_duration_seconds", Help: "Time from receipt to reply, by outcome.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16)}, []string{"outcome"}),
	}
	s.Metrics.MustRegister(m.requests, m.replies, m.latency,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stripelab_gateway_in_flight", Help: "Concurrency slots held."}, func() float64 { return float64(g.adm.inFlight()) }),
		&depthCollector{desc: prometheus.NewDesc("stripelab_gateway_queue_depth", "Requests waiting in the admission queue, by class (all when the queue is one FIFO).", []string{"class"}, nil), a: g.adm})
	return m
}

// depthCollector reads the queue's depth per class at scrape time.
type depthCollector struct {
	desc *prometheus.Desc
	a    *admission
}

func (c *depthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *depthCollector) Collect(ch chan<- prometheus.Metric) {
	if c.a.policy != shedPriority {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(c.a.depth(0)), "all")
		return
	}
	for k, name := range wire.PriorityNames {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(c.a.depth(k)), name)
	}
}

// done counts a reply; prio < 0 for a malformed request.
func (m *metrics) done(prio int, o wire.Outcome, reason string, d time.Duration) {
	m.replies.WithLabelValues(o.String(), reason).Inc()
	if prio >= 0 {
		m.latency.WithLabelValues(o.String()).Observe(d.Seconds())
	}
}
