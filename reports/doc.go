// Package reports turns what a backend measured into what people decide on.
// The Recorder collects per-window counters and latency histograms; the
// Result (result.json) is the one format every report reads; Analyze
// computes the measures and SLO verdicts; writers render HTML, Markdown,
// JUnit, CSV and plots. Backends import this package; it imports none of them.
package reports
