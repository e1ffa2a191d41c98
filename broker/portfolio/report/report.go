// Package report computes the figures of the collaboration's yearly report
// to the city council, per municipality and for the cluster: projects active
// in the year by type and priority area, external funding by source,
// academic positions, publications and other results, and how the research
// inquiries of the year were answered. It writes them as JSON and as CSV.
//
// Counting rules (they are what the report's reader needs to know):
//   - A project counts as active in year Y when its status is active or
//     completed and its period overlaps Y (a missing start or end is open).
//   - Funding is counted in the year it is recorded for; an amount recorded
//     for the whole period counts in the project's start year (or, without
//     a start, in the year the project was registered). Only active and
//     completed projects' funding counts; the partners' own money (OWN) is
//     not external funding.
//   - A municipality's figures count every project it takes part in in
//     full, so the municipalities' figures do not add up to the cluster's;
//     the cluster (_T) counts each project once.
//   - Positions count when they are held for part of Y, under the
//     municipality they belong to.
//   - Results count in their year of publication.
//   - Dates are Norwegian dates (Europe/Oslo).
//   - Inquiries count in the year they were received, per municipality by
//     assignment (one per service area), for the cluster once per inquiry
//     for "received" and by assignment for the answers. An assignment is
//     answered when accepted or declined; within the deadline when the
//     answer came on or before its deadline date; time to answer is in
//     working days from receipt.
package report

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
	"github.com/kunnskapskommunen/folkekommune/broker/inquiry"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

// Figures are one municipality's (or the cluster's) figures for a year.
type Figures struct {
	Municipality           string           `json:"municipality"` // kommunenummer, or _T for the cluster
	Name                   string           `json:"name"`
	ActiveProjects         int              `json:"active_projects"`
	ProjectsByType         map[string]int   `json:"projects_by_type"`
	ProjectsByArea         map[string]int   `json:"projects_by_area"`
	ExternalFundingNOK     map[string]int64 `json:"external_funding_nok"`
	ExternalFundingTotal   int64            `json:"external_funding_total_nok"`
	Positions              map[string]int   `json:"positions"`
	PublicPhDs             int              `json:"public_phds"`
	Publications           int              `json:"publications"`
	ResultsByKind          map[string]int   `json:"results_by_kind"`
	InquiriesReceived      int              `json:"inquiries_received"`
	InquiriesAnswered      int              `json:"inquiries_answered"`
	AnsweredWithinDeadline int              `json:"answered_within_deadline"`
	MedianDaysToAnswer     *float64         `json:"median_working_days_to_answer"`
	InquiriesAccepted      int              `json:"inquiries_accepted"`
}

// Report is the year's figures: the cluster first, then each municipality.
type Report struct {
	Year    int       `json:"year"`
	Figures []Figures `json:"figures"`
}

func newFigures(code string) Figures {
	name := "Kunnskapskommunen Helse Omsorg Vest"
	if m, ok := catalog.MunicipalityByCode(code); ok {
		name = m.Name
	}
	return Figures{Municipality: code, Name: name, ProjectsByType: map[string]int{}, ProjectsByArea: map[string]int{},
		ExternalFundingNOK: map[string]int64{}, Positions: map[string]int{}, ResultsByKind: map[string]int{}}
}

func activeIn(p *portfolio.Project, year int) bool {
	if p.Status != "active" && p.Status != "completed" {
		return false
	}
	first, last := fmt.Sprintf("%d-01-01", year), fmt.Sprintf("%d-12-31", year)
	return (p.Start == "" || string(p.Start) <= last) && (p.End == "" || string(p.End) >= first)
}

func fundingYear(p *portfolio.Project, f portfolio.Funding) int {
	if f.Year != 0 {
		return f.Year
	}
	if p.Start != "" {
		return p.Start.Time().Year()
	}
	return p.CreatedAt.Year()
}

// Compute computes the report for year from the registries in db.
func Compute(ctx context.Context, db *store.DB, year int) (Report, error) {
	reg := portfolio.New(db, nil)
	projects, err := reg.List(ctx, portfolio.Filter{})
	if err != nil {
		return Report{}, err
	}
	codes := catalog.MunicipalityCodes()
	fig := map[string]*Figures{}
	order := append([]string{catalog.Total}, codes...)
	for _, c := range order {
		f := newFigures(c)
		fig[c] = &f
	}
	for i := range projects {
		p := &projects[i]
		targets := append([]string{catalog.Total}, p.Municipalities()...)
		if activeIn(p, year) {
			for _, c := range targets {
				f := fig[c]
				f.ActiveProjects++
				f.ProjectsByType[p.Type]++
				for _, a := range p.Areas {
					f.ProjectsByArea[a]++
				}
			}
		}
		if p.Status == "active" || p.Status == "completed" {
			for _, fu := range p.Funding {
				if !portfolio.External(fu.Source) || fundingYear(p, fu) != year {
					continue
				}
				for _, c := range targets {
					fig[c].ExternalFundingNOK[fu.Source] += fu.AmountNOK
					fig[c].ExternalFundingTotal += fu.AmountNOK
				}
			}
		}
		for _, r := range p.Results {
			if r.Year != year {
				continue
			}
			for _, c := range targets {
				fig[c].ResultsByKind[r.Kind]++
				if r.Kind == "publication" {
					fig[c].Publications++
				}
			}
		}
		for _, pos := range p.Positions {
			if pos.StartYear > year || (pos.EndYear != 0 && pos.EndYear < year) {
				continue
			}
			for _, c := range []string{catalog.Total, pos.Municipality} {
				fig[c].Positions[pos.Kind]++
				if pos.Kind == "public_phd" {
					fig[c].PublicPhDs++
				}
			}
		}
	}
	if err := inquiryFigures(ctx, db, year, fig); err != nil {
		return Report{}, err
	}
	rep := Report{Year: year}
	for _, c := range order {
		rep.Figures = append(rep.Figures, *fig[c])
	}
	return rep, nil
}

func inquiryFigures(ctx context.Context, db *store.DB, year int, fig map[string]*Figures) error {
	from := time.Date(year, 1, 1, 0, 0, 0, 0, inquiry.Oslo)
	to := from.AddDate(1, 0, 0)
	rows, err := db.QueryContext(ctx, `SELECT i.id, i.received_at, a.municipality, a.status, a.deadline, a.answered_at
		FROM inquiry i JOIN inquiry_assignment a ON a.inquiry_id = i.id
		WHERE i.received_at >= ? AND i.received_at < ? ORDER BY i.id, a.id`, from, to)
	if err != nil {
		return fmt.Errorf("read inquiries for the report: %w", err)
	}
	defer rows.Close()
	days := map[string][]float64{}
	seen := map[int64]bool{}
	for rows.Next() {
		var id int64
		var received, deadline time.Time
		var muni, status string
		var answered *time.Time
		if err := rows.Scan(&id, &received, &muni, &status, &deadline, &answered); err != nil {
			return fmt.Errorf("read inquiries for the report: %w", err)
		}
		targets := []string{catalog.Total, muni}
		if !seen[id] {
			seen[id] = true
			fig[catalog.Total].InquiriesReceived++
		}
		fig[muni].InquiriesReceived++
		final := status == "accepted" || status == "declined"
		for _, c := range targets {
			f := fig[c]
			if status == "accepted" {
				f.InquiriesAccepted++
			}
			if final && answered != nil {
				f.InquiriesAnswered++
				if portfolio.DateOf(answered.In(inquiry.Oslo)) <= portfolio.DateOf(deadline) {
					f.AnsweredWithinDeadline++
				}
				days[c] = append(days[c], float64(inquiry.WorkingDaysBetween(received.In(inquiry.Oslo), answered.In(inquiry.Oslo))))
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for c, ds := range days {
		m := median(ds)
		fig[c].MedianDaysToAnswer = &m
	}
	return nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// WriteJSON writes the report as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteCSV writes the report in long form, one figure a row:
// year, municipality, name, measure, category, value. category is _T for a
// measure's total; a missing median is an empty value.
func (r Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"year", "municipality", "name", "measure", "category", "value"})
	y := strconv.Itoa(r.Year)
	for _, f := range r.Figures {
		row := func(measure, category, value string) {
			cw.Write([]string{y, f.Municipality, f.Name, measure, category, value})
		}
		itoa := strconv.Itoa
		row("active_projects", catalog.Total, itoa(f.ActiveProjects))
		for _, k := range sortedKeys(f.ProjectsByType) {
			row("active_projects_by_type", k, itoa(f.ProjectsByType[k]))
		}
		for _, k := range sortedKeys(f.ProjectsByArea) {
			row("active_projects_by_area", k, itoa(f.ProjectsByArea[k]))
		}
		row("external_funding_nok", catalog.Total, strconv.FormatInt(f.ExternalFundingTotal, 10))
		for _, k := range sortedKeys(f.ExternalFundingNOK) {
			row("external_funding_nok", k, strconv.FormatInt(f.ExternalFundingNOK[k], 10))
		}
		for _, k := range sortedKeys(f.Positions) {
			row("academic_positions", k, itoa(f.Positions[k]))
		}
		row("public_phds", catalog.Total, itoa(f.PublicPhDs))
		row("publications", catalog.Total, itoa(f.Publications))
		for _, k := range sortedKeys(f.ResultsByKind) {
			row("results", k, itoa(f.ResultsByKind[k]))
		}
		row("inquiries_received", catalog.Total, itoa(f.InquiriesReceived))
		row("inquiries_answered", catalog.Total, itoa(f.InquiriesAnswered))
		row("answered_within_deadline", catalog.Total, itoa(f.AnsweredWithinDeadline))
		med := ""
		if f.MedianDaysToAnswer != nil {
			med = strconv.FormatFloat(*f.MedianDaysToAnswer, 'f', -1, 64)
		}
		row("median_working_days_to_answer", catalog.Total, med)
		row("inquiries_accepted", catalog.Total, itoa(f.InquiriesAccepted))
	}
	cw.Flush()
	return cw.Error()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
