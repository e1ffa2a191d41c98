package inquiry

import (
	"context"
	"fmt"

	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
)

// The demo directory and inquiries. People and addresses are invented.

var demoContacts = []Contact{
	{Municipality: "4601", Name: "Berit Fjellstad", Email: "fou.helse@bergen.kommune.no", UserID: "fou_contact", Active: true},
	{Municipality: "4601", ServiceArea: "home_care", Name: "Kjetil Nordås", Email: "fou.hjemmetjenester@bergen.kommune.no", Active: true},
	{Municipality: "4601", ServiceArea: "nursing_homes", Name: "Astrid Lyngbø", Email: "fou.sykehjem@bergen.kommune.no", Active: true},
	{Municipality: "4601", ServiceArea: "health_stations", Name: "Hilde Sandvik", Email: "fou.helsestasjon@bergen.kommune.no", Active: true},
	{Municipality: "4621", Name: "Olav Lid", Email: "fou@vossherad.no", Active: true},
	{Municipality: "4624", Name: "Marte Tysse", Email: "fou@bjornafjorden.kommune.no", Active: true},
	{Municipality: "4627", Name: "Arne Kleppe", Email: "fou@askoy.kommune.no", Active: true},
	{Municipality: "4627", ServiceArea: "home_care", Name: "Hanne Hauge", Email: "fou.hjemmetjenester@askoy.kommune.no", Active: true},
	{Municipality: "4631", Name: "Liv Mjanger", Email: "fou@alver.kommune.no", Active: true},
	{Municipality: "4630", Name: "Eirik Hamre", Email: "fou@osteroy.kommune.no", Active: true},
	// Vaksdal, Austrheim and Masfjorden share the advisers as their R&D
	// contact (the seeds: "a shared R&D contact for the smallest
	// municipalities"), so they are routed by the fallback.
}

type demoInquiry struct {
	sub     Submission
	actions []demoAction
	convert bool
}

type demoAction struct {
	unit   int // index into sub.Units
	action string
	answer string
}

func demoInquiries() []demoInquiry {
	base := func(title, kind, desc, inst, name, email string, units ...portfolio.Unit) Submission {
		return Submission{Title: title, Kind: kind, Description: desc, Institution: inst, ResearcherName: name, ResearcherEmail: email,
			Funding: "Søknad til Forskningsrådet, ca. 8 mill. kroner over tre år", FundingStatus: "applied",
			Resources: "Rekruttering av deltakere via tjenestene, om lag 20 timer per kommune", KnowledgeReturn: "Resultatene presenteres for tjenestene og i kommunegruppen; kort rapport på norsk",
			TargetGroups: "Brukere av tjenestene og ansatte", EthicsStatus: "APPLIED", Start: "2026-02-01", End: "2028-12-31", Units: units}
	}
	return []demoInquiry{
		{sub: base("Fallforebygging med sensorer i hjemmet", "research", "Vi vil prøve ut sensorbasert fallvarsling hos hjemmeboende eldre og måle fall og innleggelser over ett år.",
			"Høgskulen på Vestlandet", "Nora Eide", "nora.eide@hvl.no", portfolio.Unit{Municipality: "4601", ServiceArea: "home_care"}, portfolio.Unit{Municipality: "4627", ServiceArea: "home_care"}, portfolio.Unit{Municipality: "4628"}),
			actions: []demoAction{{0, "assess", ""}, {0, "accept", "Bergen blir gjerne med; kontaktperson i hjemmetjenesten følger opp."}, {1, "assess", ""}, {1, "accept", "Askøy deltar med to soner i hjemmesykepleien."}},
			convert: true},
		{sub: base("Munnhelse hos sykehjemsbeboere", "masters", "Masteroppgave som kartlegger munnhelse og tannpuss-rutiner i to sykehjem.",
			"Universitetet i Bergen", "Jakob Solheim", "jakob.solheim@student.uib.no", portfolio.Unit{Municipality: "4601", ServiceArea: "nursing_homes"}),
			actions: []demoAction{{0, "assess", ""}}},
		{sub: base("Skjermtid og søvn hos 13-åringer", "research", "Spørreundersøkelse i 8. trinn om skjermvaner og søvn, gjennomført av skolehelsetjenesten.",
			"Universitetet i Bergen", "Sara Nilsen", "sara.nilsen@uib.no", portfolio.Unit{Municipality: "4601", ServiceArea: "health_stations"}, portfolio.Unit{Municipality: "4621"}),
			actions: []demoAction{{0, "request_information", "Hvor mye tid trenger helsesykepleierne å sette av per klasse?"}, {1, "decline", "Voss har ikke kapasitet i skolehelsetjenesten dette skoleåret."}}},
		{sub: base("Digital hjemmeoppfølging av KOLS", "innovation", "Innovasjonsprosjekt om digital hjemmeoppfølging av personer med KOLS etter utskriving.",
			"NORCE", "Petter Dahl", "petter.dahl@norceresearch.no", portfolio.Unit{Municipality: "4631"}, portfolio.Unit{Municipality: "4632"}),
			actions: []demoAction{{0, "withdraw", "Vi har fått avslag på finansiering og trekker henvendelsen."}, {1, "withdraw", ""}}},
		{sub: base("Frivillige i dagaktivitetstilbud", "follow_up_research", "Følgeforskning på bruk av frivillige i dagaktivitetstilbud for personer med demens.",
			"VID vitenskapelige høgskole", "Marit Skog", "marit.skog@vid.no", portfolio.Unit{Municipality: "4624"}, portfolio.Unit{Municipality: "4630"}, portfolio.Unit{Municipality: "4634"})},
	}
}

// SeedDemo fills an empty inquiry registry with the demo's contact
// directory and a handful of inquiries in different states (received, under
// assessment, needs information, accepted and turned into a project,
// declined, withdrawn). It does nothing when inquiries exist.
func SeedDemo(ctx context.Context, r *Registry) ([]Inquiry, error) {
	var n int
	if err := r.db.QueryRowContext(ctx, `SELECT count(*) FROM inquiry`).Scan(&n); err != nil {
		return nil, fmt.Errorf("seed demo inquiries: %w", err)
	}
	if n > 0 {
		return nil, nil
	}
	var have int
	if err := r.db.QueryRowContext(ctx, `SELECT count(*) FROM rd_contact`).Scan(&have); err != nil {
		return nil, fmt.Errorf("seed demo contacts: %w", err)
	}
	if have == 0 {
		for _, c := range demoContacts {
			if _, err := r.SaveContact(ctx, portfolio.System, c); err != nil {
				return nil, fmt.Errorf("seed contact %s: %w", c.Email, err)
			}
		}
	}
	var out []Inquiry
	for _, d := range demoInquiries() {
		inq, err := r.Submit(ctx, d.sub)
		if err != nil {
			return out, fmt.Errorf("seed inquiry %q: %w", d.sub.Title, err)
		}
		for _, a := range d.actions {
			actor := portfolio.System
			if a.action == "withdraw" || a.action == "supplement" {
				actor = portfolio.Actor{ID: inq.ResearcherEmail, Role: portfolio.RoleResearcher}
			}
			if _, err := r.Act(ctx, actor, inq.Assignments[a.unit].ID, a.action, "", a.answer); err != nil {
				return out, fmt.Errorf("seed inquiry %q, %s: %w", d.sub.Title, a.action, err)
			}
		}
		if d.convert {
			if _, err := r.ToProject(ctx, portfolio.System, inq.ID, nil); err != nil {
				return out, fmt.Errorf("seed inquiry %q into a project: %w", d.sub.Title, err)
			}
		}
		if inq, err = r.Get(ctx, portfolio.System, inq.ID); err != nil {
			return out, err
		}
		out = append(out, inq)
	}
	return out, nil
}
