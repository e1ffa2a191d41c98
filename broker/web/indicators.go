package web

import (
	"fmt"
	"net/http"

	"github.com/kunnskapskommunen/folkekommune/broker/requests"
)

func (p *Pages) barometer(w http.ResponseWriter, r *http.Request) error {
	return fmt.Errorf("%w: not yet", requests.ErrNotFound)
}

func (p *Pages) indicatorPage(w http.ResponseWriter, r *http.Request) error {
	return fmt.Errorf("%w: not yet", requests.ErrNotFound)
}

func (p *Pages) indicatorDownload(w http.ResponseWriter, r *http.Request) error {
	return fmt.Errorf("%w: not yet", requests.ErrNotFound)
}
