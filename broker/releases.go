package broker

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
	"github.com/kunnskapskommunen/folkekommune/broker/requests"
)

// release reads a release the caller may see: its requester's, or any for
// the privacy officer and admin.
func (s *Server) release(r *http.Request) (*requests.Release, error) {
	u, _ := UserFrom(r.Context())
	rel, err := s.requests.GetRelease(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return nil, err
	}
	req, err := s.requests.Get(r.Context(), rel.RequestID)
	if err != nil {
		return nil, err
	}
	if !requests.MayView(u, req) {
		return nil, fmt.Errorf("%w: no release %s", requests.ErrNotFound, rel.ID)
	}
	return rel, nil
}

func (s *Server) getRelease(w http.ResponseWriter, r *http.Request) error {
	f, err := negotiate(r)
	if err != nil {
		return err
	}
	rel, err := s.release(r)
	if err != nil {
		return err
	}
	u, _ := UserFrom(r.Context())
	if err := s.requests.RecordDownload(r.Context(), u, rel, f.name); err != nil {
		return fmt.Errorf("record the download: %w", err)
	}
	w.Header().Set("X-Release-SHA256", rel.SHA256)
	w.Header().Set("X-Policy-Version", rel.PolicyVersion)
	w.Header().Set("X-Extract-Version", fmt.Sprint(rel.ExtractID))
	return writeTable(w, r, f, rel.Table, rel.ID, cube.JSONStatOptions{
		Label:   cube.Label{NB: "Utlevering " + rel.ID, EN: "Release " + rel.ID},
		Source:  "FolkeKommune, Kunnskapskommunen Helse Omsorg Vest",
		Updated: rel.CreatedAt.Format("2006-01-02T15:04:05Z"),
	})
}

func (s *Server) getReleaseMeta(w http.ResponseWriter, r *http.Request) error {
	rel, err := s.release(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rel)
	return nil
}
