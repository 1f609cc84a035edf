// Package web is the place of the dashboard over a folder of results
// (`stripelab serve`). It is not built yet; the reports of every run and
// the suite index (index.html) open from disk without a server.
package web
