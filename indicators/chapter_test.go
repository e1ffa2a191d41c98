package indicators

import (
	"context"
	"testing"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

// A chapter filter compares positions in the stored ICPC-2 ENUM: the range
// from a chapter's first to its last code must hold exactly the chapter's
// codes, which the type's sorted order guarantees.
func TestAChapterRangeHoldsExactlyTheChaptersCodes(t *testing.T) {
	db, err := store.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, ch := range catalog.ICPC2Chapters {
		first, last := chapterRange(ch.Code)
		var n, outside int
		if err := db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE c[1] <> ?) FROM
			(SELECT unnest(enum_range(NULL::icpc2_enum))::VARCHAR AS c)
			WHERE c::icpc2_enum BETWEEN TRY_CAST(? AS icpc2_enum) AND TRY_CAST(? AS icpc2_enum)`, ch.Code, first, last).Scan(&n, &outside); err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, c := range catalog.ICPC2Codes() {
			if c[:1] == ch.Code {
				want++
			}
		}
		if n != want || outside != 0 {
			t.Errorf("chapter %s: range %s–%s holds %d codes (%d of other chapters), want %d", ch.Code, first, last, n, outside, want)
		}
	}
}
