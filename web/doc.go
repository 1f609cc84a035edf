// Package web is the dashboard over a folder of results (`stripelab
// serve`): the runs found under the folder, one run with interactive
// charts, two or more runs compared, the analyses (compare, capacity,
// failover), and a playground that validates a scenario as it is typed and
// runs it in the simulator with live progress over server-sent events.
//
// Everything the pages need is embedded (templates, styles, scripts and the
// vendored dygraphs charting library), so the dashboard works with no
// network. Tables, verdicts and the static PNG plots render with scripts
// blocked; scripts add the interactive charts and the playground.
//
// The server reads the results folder through an os.Root, so nothing
// outside it is ever served (no "..", no symlink escape), binds loopback
// unless told otherwise, limits request bodies, accepts state-changing
// requests only as same-origin POSTs, and never runs a shell.
package web
