package broker

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/kunnskapskommunen/folkekommune/broker/requests"
)

func (s *Server) submitRequest(w http.ResponseWriter, r *http.Request) error {
	u, _ := UserFrom(r.Context())
	var spec requests.Spec
	if err := decodeJSON(r, &spec); err != nil {
		return err
	}
	req, err := s.requests.Submit(r.Context(), u, spec)
	if err != nil {
		return err
	}
	if req.State == requests.StateReleased {
		s.metrics.releases.Inc()
	}
	w.Header().Set("Location", "/api/v1/requests/"+req.ID)
	writeJSON(w, http.StatusCreated, s.requestView(req))
	return nil
}

// requestView is a request as the API shows it, with links.
type requestView struct {
	requests.Request
	Links map[string]string `json:"links"`
}

func (s *Server) requestView(r requests.Request) requestView {
	v := requestView{Request: r, Links: map[string]string{"self": "/api/v1/requests/" + r.ID}}
	if r.ReleaseID != "" {
		v.Links["release"] = "/api/v1/releases/" + r.ReleaseID
		v.Links["release_meta"] = "/api/v1/releases/" + r.ReleaseID + "/meta"
	}
	return v
}

func (s *Server) listRequests(w http.ResponseWriter, r *http.Request) error {
	u, _ := UserFrom(r.Context())
	f := requests.ListFilter{State: r.URL.Query().Get("state")}
	if f.State != "" {
		ok := false
		for _, t := range requests.Transitions {
			ok = ok || t.To == f.State
		}
		if !ok || f.State == requests.StateApproved {
			return &requests.InputError{Field: "state", Problem: fmt.Sprintf("%q is not a state a request can be in", f.State)}
		}
	}
	if u.Role != requests.RolePrivacyOfficer && u.Role != requests.RoleAdmin {
		f.Requester = u.ID
	}
	list, err := s.requests.List(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]requestView, len(list))
	for i, req := range list {
		out[i] = s.requestView(req)
	}
	writeJSON(w, http.StatusOK, map[string]any{"requests": out})
	return nil
}

func (s *Server) getRequest(w http.ResponseWriter, r *http.Request) error {
	u, _ := UserFrom(r.Context())
	req, err := s.requests.Get(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	if !requests.MayView(u, req) {
		// Someone else's request does not exist as far as the caller can tell.
		return fmt.Errorf("%w: no request %s", requests.ErrNotFound, req.ID)
	}
	writeJSON(w, http.StatusOK, s.requestView(req))
	return nil
}

// reviewBody is the privacy officer's verdict.
type reviewBody struct {
	Comment string `json:"comment"`
}

func (s *Server) reviewRequest(verdict string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		u, _ := UserFrom(r.Context())
		var body reviewBody
		if err := decodeJSON(r, &body); err != nil {
			return err
		}
		req, err := s.requests.Decide(r.Context(), u, chi.URLParam(r, "id"), verdict, body.Comment)
		if err != nil {
			return err
		}
		if req.State == requests.StateReleased {
			s.metrics.releases.Inc()
		}
		writeJSON(w, http.StatusOK, s.requestView(req))
		return nil
	}
}

func (s *Server) requestWorkflow(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{"transitions": requests.Transitions})
	return nil
}
