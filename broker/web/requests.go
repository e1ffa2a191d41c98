package web

import (
	"fmt"
	"net/http"

	"github.com/kunnskapskommunen/folkekommune/broker/requests"
)

func (p *Pages) requestList(w http.ResponseWriter, r *http.Request) error {
	return fmt.Errorf("%w: not yet", requests.ErrNotFound)
}
func (p *Pages) requestForm(w http.ResponseWriter, r *http.Request) error {
	return fmt.Errorf("%w: not yet", requests.ErrNotFound)
}
func (p *Pages) requestSubmit(w http.ResponseWriter, r *http.Request) error {
	return fmt.Errorf("%w: not yet", requests.ErrNotFound)
}
func (p *Pages) requestPage(w http.ResponseWriter, r *http.Request) error {
	return fmt.Errorf("%w: not yet", requests.ErrNotFound)
}
func (p *Pages) releasePage(w http.ResponseWriter, r *http.Request) error {
	return fmt.Errorf("%w: not yet", requests.ErrNotFound)
}
func (p *Pages) releaseDownload(w http.ResponseWriter, r *http.Request) error {
	return fmt.Errorf("%w: not yet", requests.ErrNotFound)
}
