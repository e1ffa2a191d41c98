package broker

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
	"github.com/kunnskapskommunen/folkekommune/broker/requests"
)

// datasetView is a dataset with its dimensions spelled out.
type datasetView struct {
	catalog.Dataset
	Dimensions []catalog.Dimension `json:"dimensions"`
}

func viewDataset(d catalog.Dataset) datasetView {
	v := datasetView{Dataset: d}
	for _, id := range d.Dimensions {
		dim, _ := catalog.DimensionByID(id)
		v.Dimensions = append(v.Dimensions, dim)
	}
	return v
}

func (s *Server) listDatasets(w http.ResponseWriter, r *http.Request) error {
	out := make([]datasetView, 0, len(catalog.Datasets))
	for _, d := range catalog.Datasets {
		out = append(out, viewDataset(d))
	}
	writeJSON(w, http.StatusOK, map[string]any{"datasets": out, "years": map[string]int{"first": catalog.FirstYear, "last": catalog.LastYear}})
	return nil
}

func (s *Server) getDataset(w http.ResponseWriter, r *http.Request) error {
	d, ok := catalog.DatasetByID(chi.URLParam(r, "id"))
	if !ok {
		return fmt.Errorf("%w: no dataset %q", requests.ErrNotFound, chi.URLParam(r, "id"))
	}
	writeJSON(w, http.StatusOK, viewDataset(d))
	return nil
}
