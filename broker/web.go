package broker

import "github.com/go-chi/chi/v5"

// mountWeb mounts the server-rendered pages (broker/web) on r.
func (s *Server) mountWeb(r chi.Router) {}
