package folkekommune.decision

import data.folkekommune.config
import data.folkekommune.lib

# METADATA
# title: Approved project
# description: |
#   Tables are released only to a project whose status is "approved" and
#   whose approval date has passed.
# custom:
#   code: project_not_approved
#   effect: deny
#   title_nb: Prosjektet er ikke godkjent
#   legal_basis: "Helseforskningsloven §§ 9 og 33 (forhåndsgodkjenning); personvernforordningen art. 5 nr. 1 bokstav a / Health Research Act ss. 9 and 33; GDPR Art. 5(1)(a)"
#   owner: personvernombudet
#   message:
#     nb: Prosjektet er ikke godkjent, eller godkjenningen gjelder ennå ikke.
#     en: The project is not approved, or its approval has not taken effect.
deny contains f if {
	lib.table_request == true
	input.project
	not approved
	f := lib.finding(rego.metadata.rule(), {
		"status": object.get(input.project, "status", null),
		"approved_at": object.get(input.project, "approved_at", null),
	})
}

# METADATA
# title: Approved
# description: True when the project is approved and its approval date is today or earlier.
approved if {
	input.project.status == "approved"
	lib.approved_ns <= lib.now_ns
}

# METADATA
# title: Unexpired project
# description: |
#   A project's approval ends on its end date; after that day nothing more is
#   released to it, and its data must be deleted or anonymised.
# custom:
#   code: project_expired
#   effect: deny
#   title_nb: Prosjektet er avsluttet
#   legal_basis: "Personvernforordningen art. 5 nr. 1 bokstav e (lagringsbegrensning); helseforskningsloven § 38 / GDPR Art. 5(1)(e); Health Research Act s. 38"
#   owner: personvernombudet
#   message:
#     nb: Prosjektets sluttdato er passert.
#     en: The project's end date has passed.
deny contains f if {
	lib.table_request == true
	lib.end_ns + lib.day_ns <= lib.now_ns
	f := lib.finding(rego.metadata.rule(), {"end_date": input.project.end_date})
}

# METADATA
# title: Project members only
# description: Only the project's named members receive its tables.
# custom:
#   code: not_project_member
#   effect: deny
#   title_nb: Bare prosjektets medlemmer
#   legal_basis: "Personvernforordningen art. 5 nr. 1 bokstav f og art. 32; helseforskningsloven § 35 (dispensasjonen gjelder navngitte personer) / GDPR Art. 5(1)(f) and 32; Health Research Act s. 35"
#   owner: personvernombudet
#   message:
#     nb: Brukeren er ikke medlem av prosjektet.
#     en: The user is not a member of the project.
deny contains f if {
	lib.table_request == true
	not input.subject.id in input.project.members
	f := lib.finding(rego.metadata.rule(), {})
}

# METADATA
# title: Health research needs REK approval
# description: |
#   Medical and health research needs prior approval from a regional
#   committee for medical and health research ethics (REK); the project must
#   carry the REK reference (e.g. "2024/123456").
# custom:
#   code: research_without_rek
#   effect: deny
#   title_nb: Helseforskning krever REK-godkjenning
#   legal_basis: "Helseforskningsloven §§ 9 og 33 / Health Research Act ss. 9 and 33"
#   owner: personvernombudet
#   message:
#     nb: Helseforskning krever forhåndsgodkjenning fra REK, og prosjektet mangler REK-referanse.
#     en: Health research needs prior approval from REK, and the project has no REK reference.
deny contains f if {
	lib.table_request == true
	config.purposes[input.project.purpose].needs_rek
	not valid_rek
	f := lib.finding(rego.metadata.rule(), {"rek": object.get(input.project, "rek", null)})
}

# METADATA
# title: Valid REK reference
# description: True when the project carries a REK reference of the form year/number.
valid_rek if regex.match(`^(REK )?[0-9]{4}/[0-9]{1,7}$`, input.project.rek)

# METADATA
# title: Purpose with its own legal basis
# description: |
#   Every purpose needs a legal basis the policy lists for it: quality
#   improvement (helsepersonelloven § 26, pasientjournalloven § 6), governance
#   and public-health overview (folkehelseloven § 5, helse- og
#   omsorgstjenesteloven § 3-3), research (helseforskningsloven § 35 or
#   GDPR Art. 9(2)(j), besides REK). An unknown purpose has none.
# custom:
#   code: purpose_without_legal_basis
#   effect: deny
#   title_nb: Formålet mangler rettslig grunnlag
#   legal_basis: "Personvernforordningen art. 6 nr. 1 og art. 9 nr. 2 / GDPR Art. 6(1) and 9(2)"
#   owner: personvernombudet
#   message:
#     nb: Prosjektet oppgir ikke et rettslig grunnlag som gjelder for formålet.
#     en: The project does not state a legal basis that applies to its purpose.
deny contains f if {
	lib.table_request == true
	input.project
	not legal_basis_fits_purpose
	f := lib.finding(rego.metadata.rule(), {
		"purpose": object.get(input.project, "purpose", null),
		"legal_basis": object.get(input.project, "legal_basis", null),
		"accepted": object.get(config.purposes, [object.get(input.project, "purpose", ""), "legal_bases"], []),
	})
}

# METADATA
# title: Legal basis fits purpose
# description: True when the project's legal basis is one the policy accepts for its purpose.
legal_basis_fits_purpose if input.project.legal_basis in config.purposes[input.project.purpose].legal_bases
