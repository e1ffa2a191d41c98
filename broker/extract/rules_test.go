package extract

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
	"github.com/kunnskapskommunen/folkekommune/broker/fnr"
)

// TestEveryValidationRuleQuarantinesWithItsFieldAndReason builds a small
// extract by hand, one broken row per rule after a clean row in each file,
// and checks the quarantine names the right line, field and reason.
func TestEveryValidationRuleQuarantinesWithItsFieldAndReason(t *testing.T) {
	ids := fnr.NewSynthesizer()
	birth := time.Date(2010, 3, 14, 0, 0, 0, 0, time.UTC)
	girl, _ := ids.New(birth, false)
	boy, _ := ids.New(birth, true)
	badCheck := girl[:10] + string('0'+(girl[10]-'0'+1)%10)
	realLooking := "01010750160" // valid check digits, not synthetic: accepted like a real number
	type row struct {
		fields      string
		field, want string // empty: the row is clean
	}
	files := map[string][]row{
		FilePopulation: {
			{girl + ",2010-03-14,K,4601,460103,2010-03-14,,", "", ""},
			{boy + ",2010-03-14,M,4621,,2010-03-14,2015-06-01,", "", ""},
			{realLooking + ",2007-01-01,M,4627,,2012-01-01,,", "", ""},
			{",2010-03-14,K,4601,460103,2010-03-14,,", "fodselsnummer", "is missing"},
			{"1234,2010-03-14,K,4601,460103,2010-03-14,,", "fodselsnummer", "must be 11 digits"},
			{badCheck + ",2010-03-14,K,4601,460103,2010-03-14,,", "fodselsnummer", "check digits do not match"},
			{girl + ",2010-03-15,K,4601,460103,2010-03-14,,", "fodselsdato", "does not match the fødselsnummer"},
			{girl + ",14.03.2010,K,4601,460103,2010-03-14,,", "fodselsdato", "is not a date in the form YYYY-MM-DD"},
			{girl + ",2010-03-14,M,4601,460103,2010-03-14,,", "kjonn", "does not match the fødselsnummer"},
			{girl + ",2010-03-14,X,4601,460103,2010-03-14,,", "kjonn", "has an unknown code"},
			{girl + ",2010-03-14,K,0301,,2010-03-14,,", "kommunenummer", "is not a municipality of the collaboration"},
			{girl + ",2010-03-14,K,4601,,2010-03-14,,", "bydel", "is missing for a Bergen resident"},
			{girl + ",2010-03-14,K,4601,030101,2010-03-14,,", "bydel", "is not a Bergen district"},
			{girl + ",2010-03-14,K,4621,460103,2010-03-14,,", "bydel", "is given outside Bergen"},
			{girl + ",2010-03-14,K,4601,460103,2009-03-14,,", "innflyttet", "is before the person's birth"},
			{girl + ",2010-03-14,K,4601,460103,2010-03-14,2010-02-31,", "utflyttet", "is not a calendar date"},
			{girl + ",2010-03-14,K,4601,460103,2012-03-14,2011-01-01,", "utflyttet", "is before innflyttet"},
			{girl + ",2010-03-14,K,4601,460103,2010-03-14,,2999-01-01", "dodsdato", "is in the future"},
			{girl + ",2010-03-14,K,4601,460103,1849-03-14,,", "innflyttet", "is before 1850"},
			{girl + ",2010-03-14,K,4601,460103,2010-03-14,,", "", "duplicate of line 2"},
		},
		FileGrowth: {
			{girl + ",4601,3trinn,2018-10-01,131.5,28.0", "", ""},
			{girl + ",4601,5trinn,2018-10-01,131.5,28.0", "kontroll", "has an unknown code"},
			{girl + ",4601,3trinn,2018-10-01,abc,28.0", "hoyde_cm", "is not a number"},
			{girl + ",4601,3trinn,2018-10-01,331.5,28.0", "hoyde_cm", "is outside the plausible range 40–220"},
			{girl + ",4601,3trinn,2018-10-01,131.5,", "vekt_kg", "is missing"},
			{girl + ",4601,3trinn,2018-10-01,200,5.5", "vekt_kg", "gives an impossible BMI with hoyde_cm"},
			{girl + ",4601,3trinn,2009-10-01,131.5,28.0", "maledato", "is before the person's birth"},
		},
		FileVaccination: {
			{girl + ",4601,MMR,1,2011-06-20", "", ""},
			{girl + ",4601,BCG,1,2011-06-20", "vaksine", "has an unknown code"},
			{girl + ",4601,MMR,3,2011-06-20", "dose", "is not a dose of the programme for this vaccine"},
			{girl + ",4601,MMR,,2011-06-20", "dose", "is missing"},
			{girl + ",,MMR,1,2011-06-20", "kommunenummer", "is missing"},
			{girl + ",4601,MMR,1,2011/06/20", "vaksinasjonsdato", "is not a date in the form YYYY-MM-DD"},
		},
		FileContacts: {
			{girl + ",4601,2019-01-05,R74,fastlege,konsultasjon", "", ""},
			{girl + ",4601,2019-01-05,R45,fastlege,konsultasjon", "icpc2", "is not an ICPC-2 symptom or diagnosis code"},
			{girl + ",4601,2019-01-05,Q74,fastlege,konsultasjon", "icpc2", "is not an ICPC-2 symptom or diagnosis code"},
			{girl + ",4601,2019-01-05,R74,sykehus,konsultasjon", "tjeneste", "has an unknown code"},
			{girl + ",4601,2019-01-05,R74,legevakt,brev", "kontakttype", "has an unknown code"},
			{girl + ",4601,2019-13-05,R74,legevakt,enkel", "kontaktdato", "is not a calendar date"},
			{girl + ",4601,2019-01-05,R74,fastlege,konsultasjon", "", "duplicate of line 2"},
			// Other contacts of the same person on the same day are not
			// duplicates; an exact repeat of one of them is.
			{girl + ",4601,2019-01-05,R29,fastlege,konsultasjon", "", ""},
			{girl + ",4601,2019-01-05,R74,fastlege,enkel", "", ""},
			{girl + ",4601,2019-01-05,R29,fastlege,konsultasjon", "", "duplicate of line 9"},
			// Every rule of the contacts' check, which reads the values
			// typed as they were staged (load.sql, "typed gp_contact").
			{",4601,2019-01-05,R74,fastlege,konsultasjon", "fodselsnummer", "is missing"},
			{badCheck + ",4601,2019-01-05,R74,fastlege,konsultasjon", "fodselsnummer", "check digits do not match"},
			{girl + ",,2019-01-05,R74,fastlege,konsultasjon", "kommunenummer", "is missing"},
			{girl + ",0301,2019-01-05,R74,fastlege,konsultasjon", "kommunenummer", "is not a municipality of the collaboration"},
			{girl + ",0301,2019-13-05,Q99,sykehus,brev", "kommunenummer", "is not a municipality of the collaboration"},
			{girl + ",4601,,R74,fastlege,konsultasjon", "kontaktdato", "is missing"},
			{girl + ",4601,2019-1-5,R74,fastlege,konsultasjon", "kontaktdato", "is not a date in the form YYYY-MM-DD"},
			{girl + ",4601,05.01.2019,R74,fastlege,konsultasjon", "kontaktdato", "is not a date in the form YYYY-MM-DD"},
			{girl + ",4601,2019/01/05,R74,fastlege,konsultasjon", "kontaktdato", "is not a date in the form YYYY-MM-DD"},
			{girl + ",4601,2019-01/05,R74,fastlege,konsultasjon", "kontaktdato", "is not a date in the form YYYY-MM-DD"},
			{girl + ",4601,1849-01-05,R74,fastlege,konsultasjon", "kontaktdato", "is before 1850"},
			{girl + ",4601,2999-01-05,R74,fastlege,konsultasjon", "kontaktdato", "is in the future"},
			{girl + ",4601,2009-01-05,R74,fastlege,konsultasjon", "kontaktdato", "is before the person's birth"},
			{girl + ",4601,2019-02-05,,fastlege,konsultasjon", "icpc2", "is missing"},
			{girl + ",4601,2019-02-05,R74,,konsultasjon", "tjeneste", "is missing"},
			{girl + ",4601,2019-02-05,R74,legevakt,", "kontakttype", "is missing"},
			{girl + ",4601,2019-02-05,R74,legevakt,sykebesok", "", ""},
		},
		FileCare: {
			{girl + ",4601,hjemmesykepleie,2020-01-01,2099-12-31", "", ""},
			{girl + ",4601,hjemmesykepleie,2020-01-01,2019-12-31", "vedtak_til", "is before vedtak_fra"},
			{girl + ",4601,sykehjem,2020-01-01,", "tjeneste", "has an unknown code"},
			{girl + ",4601,hjemmesykepleie,,", "vedtak_fra", "is missing"},
		},
	}
	dir := t.TempDir()
	type want struct{ file, field, reason string }
	wants := map[string]want{}
	for _, l := range Layouts {
		var b strings.Builder
		b.WriteString(strings.Join(l.Header, ",") + "\n")
		for i, r := range files[l.File] {
			b.WriteString(r.fields + "\n")
			if r.want != "" {
				wants[l.File+".csv:"+strconv.Itoa(i+2)] = want{l.File + ".csv", r.field, r.want}
			}
		}
		writeFile(t, dir, l.File+".csv", b.String())
	}
	// The CSV path stages the contacts typed straight from the file; a
	// source without a local file is staged as text through the appender
	// and typed by its view. Both must quarantine alike.
	for name, src := range map[string]Source{"csv": NewFileDrop(dir), "streamed": streamOnly{NewFileDrop(dir)}} {
		t.Run(name, func(t *testing.T) {
			db := openDB(t)
			today := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			res, err := Pull(context.Background(), db, src, Options{Key: testKey, Now: func() time.Time { return today }})
			if err != nil {
				t.Fatal(err)
			}
			rows, err := db.Query(`SELECT file, line, field, reason FROM quarantine ORDER BY file, line`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			got := map[string]want{}
			for rows.Next() {
				var w want
				var line int64
				rows.Scan(&w.file, &line, &w.field, &w.reason)
				got[w.file+":"+strconv.FormatInt(line, 10)] = w
			}
			for k, w := range wants {
				g, ok := got[k]
				if !ok {
					t.Errorf("%s: not quarantined, want %s %q", k, w.field, w.reason)
					continue
				}
				if g != w {
					t.Errorf("%s: quarantined as %s %q, want %s %q", k, g.field, g.reason, w.field, w.reason)
				}
			}
			for k, g := range got {
				if _, ok := wants[k]; !ok {
					t.Errorf("%s: clean row quarantined as %s %q", k, g.field, g.reason)
				}
			}
			if res.Quarantined != int64(len(wants)) {
				t.Errorf("result counts %d quarantined, want %d", res.Quarantined, len(wants))
			}
			// The clean rows arrive in the tables with catalogue codes.
			checks := map[string]int64{
				`SELECT count(*) FROM person`: 3,
				`SELECT count(*) FROM person WHERE sex = 'F' AND birth_year = 2010 AND birth_month = 3`:  1,
				`SELECT count(*) FROM residence WHERE district = '460103'`:                               1,
				`SELECT count(*) FROM growth WHERE check_type = 'grade3'`:                                1,
				`SELECT count(*) FROM gp_contact WHERE service = 'gp' AND contact_type = 'consultation'`: 2,
				`SELECT count(*) FROM gp_contact`:                                                        4,
				`SELECT count(*) FROM gp_contact WHERE service = 'emergency' AND contact_type = 'home_visit' AND contact_date = DATE '2019-02-05' AND icpc2 = 'R74' AND municipality = '4601'`: 1,
				`SELECT count(*) FROM care_decision WHERE service_type = 'home_nursing' AND decision_end = DATE '2099-12-31'`:                                                                  1,
			}
			for q, want := range checks {
				if n := count(t, db, q); n != want {
					t.Errorf("%s = %d, want %d", q, n, want)
				}
			}
		})
	}
}

// TestICPC2CodeListAgreesWithTheCatalogue checks the SQL code lists the
// pull validates contacts with against catalog.ValidICPC2, on every letter
// and two digits and on strings that are nearly codes.
func TestICPC2CodeListAgreesWithTheCatalogue(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := defineCodeMacros(ctx, conn); err != nil {
		t.Fatal(err)
	}
	candidates := []string{"", "R", "R7", "R740", " R74", "R74 ", "r74", "RR4", "R7A", "Ä74", "R٧٤", "R30", "R69", "R00", "R29", "R70", "R99"}
	for c := 'A'; c <= 'Z'; c++ {
		for n := 0; n <= 99; n++ {
			candidates = append(candidates, string(c)+strconv.Itoa(n/10)+strconv.Itoa(n%10))
		}
	}
	// is_icpc2 and icpc2_code (the ENUM the contacts keep) must both agree.
	rows, err := conn.QueryContext(ctx, `SELECT s, coalesce(is_icpc2(s), false) AND icpc2_code(s) IS NOT DISTINCT FROM s,
		coalesce(is_icpc2(s), false) OR icpc2_code(s) IS NOT NULL
		FROM (SELECT DISTINCT unnest(?::VARCHAR[]) AS s)`, candidates)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen, accepted := 0, 0
	for rows.Next() {
		var s string
		var got, either bool
		if err := rows.Scan(&s, &got, &either); err != nil {
			t.Fatal(err)
		}
		seen++
		if want := catalog.ValidICPC2(s); got != want || either != want {
			t.Errorf("is_icpc2(%q) and icpc2_code = %v (either: %v), catalog.ValidICPC2 says %v", s, got, either, want)
		}
		if got {
			accepted++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if seen < 26*100 {
		t.Fatalf("only %d candidates checked", seen)
	}
	if want := len(catalog.ICPC2Chapters) * (29 + 30); accepted != want {
		t.Errorf("%d codes accepted, want %d (17 chapters × 01–29 and 70–99)", accepted, want)
	}
	var null sql.NullBool
	if err := conn.QueryRowContext(ctx, `SELECT is_icpc2(NULL)`).Scan(&null); err != nil || null.Valid {
		t.Errorf("is_icpc2(NULL) = %v (%v), want NULL", null, err)
	}
}
