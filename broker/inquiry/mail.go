package inquiry

import (
	"fmt"
	"strings"

	"github.com/kunnskapskommunen/folkekommune/broker/notify"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
)

// The notification texts, in Norwegian bokmål as the recipients read them.
// The internal assessment never appears in a mail to the researcher.

const signature = "\n\nVennlig hilsen\nKunnskapskommunen Helse Omsorg Vest\n(Denne e-posten er sendt automatisk fra portalen for forskningshenvendelser.)\n"

func (r *Registry) newInquiryMail(inq *Inquiry, a *Assignment) notify.Message {
	var b strings.Builder
	fmt.Fprintf(&b, "Hei,\n\nEn ny forskningshenvendelse er sendt til %s.\n\n", unitName(a.Municipality, a.ServiceArea))
	if a.RoutedBy == "advisers" {
		b.WriteString("Enheten har ingen registrert FoU-kontakt, så henvendelsen er sendt til rådgiverne i Kunnskapskommunen for videre fordeling.\n\n")
	}
	fmt.Fprintf(&b, "Tittel: %s\nInstitusjon: %s\nForsker: %s\nPeriode: %s – %s\nFinansiering: %s\nRessurser fra kommunen: %s\nTilbakeføring av kunnskap: %s\nMålgrupper: %s\nEtisk vurdering: %s %s\n\n",
		inq.Title, inq.Institution, inq.ResearcherName, inq.Start, inq.End, inq.Funding, inq.Resources, inq.KnowledgeReturn, inq.TargetGroups, inq.EthicsStatus, inq.EthicsReference)
	fmt.Fprintf(&b, "Svarfrist: %s (referanse %s, oppgave %d).", a.Deadline, inq.Ref(), a.ID)
	b.WriteString(signature)
	return notify.Message{To: a.ContactEmail, Subject: "Ny forskningshenvendelse: " + inq.Title, Body: b.String(), Topic: "inquiry.received", Object: inq.Ref()}
}

func receiptMail(inq *Inquiry) notify.Message {
	var b strings.Builder
	fmt.Fprintf(&b, "Hei %s,\n\nTakk for henvendelsen «%s». Den er sendt til:\n", inq.ResearcherName, inq.Title)
	for _, a := range inq.Assignments {
		fmt.Fprintf(&b, "- %s (svarfrist %s)\n", unitName(a.Municipality, a.ServiceArea), a.Deadline)
	}
	fmt.Fprintf(&b, "\nDu får svar fra hver kommune. Referanse: %s.\n", inq.Ref())
	fmt.Fprintf(&b, "Kvitteringskode (for å følge, endre eller trekke henvendelsen): %s\nDel ikke koden med andre.", inq.Receipt)
	b.WriteString(signature)
	return notify.Message{To: inq.ResearcherEmail, Subject: "Forskningshenvendelse mottatt: " + inq.Title, Body: b.String(), Topic: "inquiry.receipt", Object: inq.Ref()}
}

func (r *Registry) transitionMail(inq *Inquiry, a *Assignment, t portfolio.Transition, text string) (notify.Message, bool) {
	status := t.To
	for _, s := range Statuses {
		if s.Code == t.To {
			status = s.Label.NB
		}
	}
	unit := unitName(a.Municipality, a.ServiceArea)
	var b strings.Builder
	switch t.Notify {
	case "researcher":
		if inq.Erased {
			return notify.Message{}, false
		}
		fmt.Fprintf(&b, "Hei %s,\n\nHenvendelsen «%s» har fått ny status hos %s: %s.\n", inq.ResearcherName, inq.Title, unit, status)
		if text != "" {
			fmt.Fprintf(&b, "\nSvar fra kommunen:\n%s\n", text)
		}
		fmt.Fprintf(&b, "\nReferanse: %s.", inq.Ref())
		b.WriteString(signature)
		return notify.Message{To: inq.ResearcherEmail, Subject: fmt.Sprintf("%s: %s", status, inq.Title), Body: b.String(), Topic: "inquiry." + t.Action, Object: inq.Ref()}, true
	case "contact":
		fmt.Fprintf(&b, "Hei,\n\nForskeren har endret henvendelsen «%s» for %s: %s.\n", inq.Title, unit, status)
		if text != "" {
			fmt.Fprintf(&b, "\nMelding fra forskeren:\n%s\n", text)
		}
		fmt.Fprintf(&b, "\nSvarfrist: %s (referanse %s, oppgave %d).", a.Deadline, inq.Ref(), a.ID)
		b.WriteString(signature)
		return notify.Message{To: a.ContactEmail, Subject: fmt.Sprintf("%s: %s", status, inq.Title), Body: b.String(), Topic: "inquiry." + t.Action, Object: inq.Ref()}, true
	}
	return notify.Message{}, false
}

func reminderMail(inq *Inquiry, a *Assignment, overdue bool, advisers string) []notify.Message {
	var b strings.Builder
	unit := unitName(a.Municipality, a.ServiceArea)
	subject := "Påminnelse om svarfrist: " + inq.Title
	if overdue {
		subject = "Svarfristen er passert: " + inq.Title
		fmt.Fprintf(&b, "Hei,\n\nSvarfristen %s for forskningshenvendelsen «%s» til %s er passert, og forskeren har ikke fått svar.\n", a.Deadline, inq.Title, unit)
	} else {
		fmt.Fprintf(&b, "Hei,\n\nPåminnelse: forskningshenvendelsen «%s» til %s skal besvares innen %s.\n", inq.Title, unit, a.Deadline)
	}
	fmt.Fprintf(&b, "\nReferanse %s, oppgave %d.", inq.Ref(), a.ID)
	b.WriteString(signature)
	topic := "inquiry.reminder"
	if overdue {
		topic = "inquiry.overdue"
	}
	out := []notify.Message{{To: a.ContactEmail, Subject: subject, Body: b.String(), Topic: topic, Object: inq.Ref()}}
	if overdue && !strings.EqualFold(a.ContactEmail, advisers) {
		out = append(out, notify.Message{To: advisers, Subject: subject, Body: b.String(), Topic: topic, Object: inq.Ref()})
	}
	return out
}
