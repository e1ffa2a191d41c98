package folkekommune.decision

import data.folkekommune.config
import data.folkekommune.lib

# METADATA
# title: Malformed request
# description: |
#   A request with a missing field or a field of the wrong type is refused,
#   naming each field. The broker never guesses what a malformed request
#   meant, and no other rule can be trusted to have read it correctly.
# custom:
#   code: input_malformed
#   effect: deny
#   title_nb: Ufullstendig eller feilformet forespørsel
#   legal_basis: "Personvernforordningen art. 5 nr. 1 bokstav f og art. 32 (integritet og sikkerhet) / GDPR Art. 5(1)(f) and 32"
#   owner: personvernombudet
#   message:
#     nb: Forespørselen mangler felt eller har felt med feil type, og kan ikke vurderes.
#     en: The request lacks fields or has fields of the wrong type, and cannot be assessed.
deny contains f if {
	not lib.well_formed
	count(lib.input_problems) > 0
	f := lib.finding(rego.metadata.rule(), {"fields": sort([p | some p in lib.input_problems])})
}

# METADATA
# title: Unknown action
# description: Only the actions the policy knows (release.request, governance.request, indicator.read) can be allowed.
# custom:
#   code: action_unknown
#   effect: deny
#   title_nb: Ukjent handling
#   legal_basis: "Personvernforordningen art. 25 (innebygd personvern) / GDPR Art. 25"
#   owner: personvernombudet
#   message:
#     nb: Handlingen er ukjent for regelverket og avvises.
#     en: The action is unknown to the policy and is refused.
deny contains f if {
	is_string(input.action)
	not config.actions[input.action]
	f := lib.finding(rego.metadata.rule(), {"action": input.action})
}

# METADATA
# title: Unknown dataset
# description: Only the datasets in the catalogue can be requested; each has a sensitivity the rules rely on.
# custom:
#   code: dataset_unknown
#   effect: deny
#   title_nb: Ukjent datasett
#   legal_basis: "Personvernforordningen art. 5 nr. 1 bokstav b (formålsbegrensning) / GDPR Art. 5(1)(b)"
#   owner: personvernombudet
#   message:
#     nb: Datasettet finnes ikke i katalogen.
#     en: The dataset is not in the catalogue.
deny contains f if {
	is_string(input.resource.dataset)
	not config.datasets[input.resource.dataset]
	f := lib.finding(rego.metadata.rule(), {"dataset": input.resource.dataset})
}

# METADATA
# title: Unknown dimension
# description: |
#   A table can only be broken down by the dimensions the catalogue lists for
#   its dataset. Identifier-like dimensions are handled by row_level_refused.
# custom:
#   code: dimension_unknown
#   effect: deny
#   title_nb: Ukjent dimensjon
#   legal_basis: "Personvernforordningen art. 5 nr. 1 bokstav c (dataminimering) / GDPR Art. 5(1)(c)"
#   owner: personvernombudet
#   message:
#     nb: Tabellen ber om en inndeling som ikke finnes for dette datasettet.
#     en: The table asks for a breakdown that does not exist for this dataset.
deny contains f if {
	lib.table_request == true
	ds := config.datasets[input.resource.dataset]

	# As for row_level_refused: look for one unknown dimension before
	# collecting them all.
	some d in input.resource.dimensions
	not d in ds.dimensions
	not d in config.identifier_dimensions
	unknown := [x |
		some x in input.resource.dimensions
		not x in ds.dimensions
		not x in config.identifier_dimensions
	]
	f := lib.finding(rego.metadata.rule(), {"dimensions": unknown, "dataset": input.resource.dataset})
}

# METADATA
# title: Project required
# description: Tables are released only to a project; a table request without one is refused.
# custom:
#   code: project_missing
#   effect: deny
#   title_nb: Prosjekt mangler
#   legal_basis: "Helseforskningsloven §§ 9 og 33; personvernforordningen art. 5 nr. 1 bokstav b / Health Research Act ss. 9 and 33; GDPR Art. 5(1)(b)"
#   owner: personvernombudet
#   message:
#     nb: Tabeller utleveres bare til et prosjekt, og forespørselen nevner ikke noe prosjekt.
#     en: Tables are released only to a project, and the request names none.
deny contains f if {
	lib.table_request == true
	not input.project
	f := lib.finding(rego.metadata.rule(), {})
}
