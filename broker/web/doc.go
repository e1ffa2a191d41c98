// Package web is the broker's server-rendered user interface: the pages
// coordinators, researchers, the privacy officer and R&D contacts use in a
// browser. It calls the same domain services as the HTTP API (the request
// service, the policy engine, the registries), so no page is a second path
// around the policies. Templates, styles and the one small script are
// embedded in the binary; no page loads anything from another host.
//
// Pages are in Norwegian bokmål by default with English available
// (messages*.go), sessions are cookies created by signing in with a broker
// token (session.go), every form carries a CSRF token, and every answer
// carries a Content-Security-Policy that forbids inline script.
package web
