// Package requests takes a request for an aggregate table from its
// specification to an immutable release: the specification is checked
// against the dataset catalogue (broker/catalog), the policy decides
// (allow, review or deny, with obligations), the cube is counted in DuckDB
// with every total computed by GROUPING SETS, disclosure control applies
// the obligations and its LP audit gates the result, and the release (its
// cells, the request, the policy and extract versions and a SHA-256
// checksum) is written together with its audit events in one transaction.
// A failure at any step leaves no release behind.
//
// The states a request passes through, and who may move it, are one
// table: Transitions in states.go.
package requests
