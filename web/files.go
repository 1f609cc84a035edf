package web

import (
	"io/fs"
	"net/http"
	"strings"
)

// fileCSP is the policy of files served from the results folder: they
// open sandboxed (no scripts, an origin of their own, so a crafted
// report.html or SVG in the folder cannot act as the dashboard), may show
// their own embedded images and inline styles, and may be framed only by
// the dashboard.
const fileCSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'self'"

// handleFile serves one regular file of the results folder. The name is
// opened through the folder's os.Root, which refuses "..", absolute names
// and symlinks leading outside; anything that is not a regular file is a
// 404, and so is every refusal, so that nothing tells what exists outside.
func (s *Server) handleFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !fs.ValidPath(name) || name == "." || strings.Contains(name, "\\") {
		http.NotFound(w, r)
		return
	}
	f, err := s.root.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Security-Policy", fileCSP)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, st.Name(), st.ModTime(), f)
}

// fileURL is the dashboard's address of a file of the results folder.
func fileURL(rel string) string {
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		parts[i] = pathEscape(p)
	}
	return "/files/" + strings.Join(parts, "/")
}
