package web

// The privacy officer's pages' texts (privacy.go). RESERVED for the second
// web engineer.
func init() {
	addMessages(map[string]msg{})
}
