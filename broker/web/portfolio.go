package web

import "github.com/go-chi/chi/v5"

// portfolioRoutes registers the portfolio and inquiry pages: the public
// inquiry form (/henvendelser/ny), the R&D contact's inbox (/henvendelser),
// project pages (/prosjekter) and the yearly-report figures. RESERVED for
// the second web engineer: pages go here, templates in
// templates/portfolio/, texts in messages_portfolio.go.
func (p *Pages) portfolioRoutes(r chi.Router) {}
