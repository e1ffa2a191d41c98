package extract

import "context"

// KeyedSource is a Source whose records carry the source system's own id
// (FHIR Resource.id). Rows pulled from it keep that id (the rid column),
// so that a later change set can replace exactly the rows a changed
// record gave.
type KeyedSource interface {
	Source
	// RecordIDs returns, after Read of p, a CSV file without header of
	// "line,id": the id of the record at every line Read went over,
	// including records Read skipped (a resource entered in error gives
	// no row, but must still remove the row an earlier version gave).
	RecordIDs(ctx context.Context, p Part) (path string, err error)
}

// IncrementalSource is a KeyedSource that can hand over only what changed
// after a high-water mark: Pull asks for the changes since the mark of the
// source's last loaded extract and upserts them by record id, and asks for
// everything (and replaces the source's rows) when there is no mark.
type IncrementalSource interface {
	KeyedSource
	// SetSince makes the next Parts export the changes after mark; ""
	// exports everything.
	SetSince(mark string) error
	// Mark is the high-water mark of the export the last Parts fetched
	// (FHIR: its transactionTime): the mark of the next pull once this
	// one is loaded.
	Mark() string
}

// PersonReferencing is a KeyedSource whose records refer to persons by the
// source's own id (a FHIR Patient reference). Pull remembers, per source,
// which person each id is (as a pseudonym), so that a change set's
// records can refer to a person the change set does not carry, and a
// source may refer to persons whose register another source provides.
type PersonReferencing interface {
	KeyedSource
	// PersonRefs returns, after Read, a CSV file without header of
	// "id,identity number" for the persons the records read referred to,
	// or "" when none were read.
	PersonRefs(ctx context.Context) (path string, err error)
}

// Resumable is a source that keeps a download across runs (a spool folder
// of its own) and reuses it on the next pull of the same export after the
// broker was stopped in the middle. Pull calls Done once the pull's data
// are committed (or refused for good), so that the next pull starts anew.
type Resumable interface {
	Done() error
}
