package extract

import "context"

// Source is a connector to a clinical system's extract. The file drop is
// the first; FHIR Bulk Data and SQL replicas implement the same interface
// so that every source goes through the same validation,
// pseudonymisation and atomic load.
type Source interface {
	// Kind names the connector ("filedrop").
	Kind() string
	// Location says where the extract comes from, for the registry and
	// messages; it never contains credentials.
	Location() string
	// Parts lists the extract's parts with their checksums, without
	// reading records. Every dataset of Layouts must be present.
	Parts(ctx context.Context) ([]Part, error)
	// Read streams one part's records to fn in the dataset's header order.
	// The record slice is reused between calls. line is the position a
	// person would look for in the source (the line of a CSV file, the row
	// of a Parquet file). An error from fn stops the read and is returned.
	Read(ctx context.Context, p Part, fn func(line int64, rec []string) error) error
}

// Part is one unit of an extract: a file of a file drop.
type Part struct {
	Dataset Dataset
	Name    string // names the part for people: a path relative to the drop folder, or "fhir:<Type>"
	SHA256  string
	Bytes   int64
}
