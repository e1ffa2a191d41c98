package web

import "github.com/go-chi/chi/v5"

// privacyRoutes registers the privacy officer's pages: the rules as
// written, the decision log, the review queue, the what-if tool and the
// audit-chain status, under /personvern. RESERVED for the second web
// engineer: pages go here, templates in templates/privacy/, texts in
// messages_privacy.go.
func (p *Pages) privacyRoutes(r chi.Router) {}
