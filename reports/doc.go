// Package reports turns what a backend measured into what people decide on.
//
// A backend drives a Recorder (Record per finished request, Flush as time
// advances, Detected/Rerouted/FailoverDone/WritesLost per fault, Finish),
// which keeps per-window counters and compact latency histograms with
// memory bounded by the number of windows. The Result it returns
// (result.json) is the one format every report reads. Analyze computes the
// Measures (availability overall, per priority, city, set and fault; RTO,
// RPO, blast radius, shed order, cross-region share, retry amplification)
// and one Verdict per objective of the scenario's SLO. The writers render
// timeseries.csv, the plots (RenderPlots, PNG and SVG with gonum/plot), a
// self-contained report.html, report.md for pull requests and JUnit XML;
// WriteAll writes them all into a folder.
//
// Everything here is deterministic: the same Result gives byte-identical
// files. Backends import this package; it imports none of them.
package reports
