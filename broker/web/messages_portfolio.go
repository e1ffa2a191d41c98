package web

// The portfolio and inquiry pages' texts (portfolio.go). RESERVED for the
// second web engineer.
func init() {
	addMessages(map[string]msg{})
}
