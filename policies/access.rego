package folkekommune.decision

import data.folkekommune.config
import data.folkekommune.lib

# METADATA
# title: Role may not take this action
# description: |
#   Each action lists the roles that may take it: researchers request
#   research tables, coordinators request governance tables, every role reads
#   published indicators. Visitors who have not signed in take the role
#   public, which data.json lists for indicator.read only: published
#   indicators are protected aggregates, open like FHI's public-health
#   profiles, and nothing else is open without a sign-in.
# custom:
#   code: role_not_permitted
#   effect: deny
#   title_nb: Rollen har ikke tilgang til handlingen
#   legal_basis: "Personvernforordningen art. 32 (tilgangsstyring); pasientjournalloven § 22 / GDPR Art. 32; Patient Records Act s. 22"
#   owner: personvernombudet
#   message:
#     nb: Ingen av brukerens roller gir lov til denne handlingen.
#     en: None of the user's roles permits this action.
deny contains f if {
	allowed := config.actions[input.action].roles
	not any_role_in(allowed)
	f := lib.finding(rego.metadata.rule(), {"action": input.action, "roles": input.subject.roles})
}

# METADATA
# title: Any role in
# description: True when the subject holds at least one of the roles given.
any_role_in(allowed) if {
	some r in input.subject.roles
	r in allowed
}

# METADATA
# title: No row-level data, ever
# description: |
#   Nobody receives row-level data: not researchers, not coordinators, not
#   administrators. A request for records, or for a breakdown by an
#   identifier, is refused whatever else it carries.
# custom:
#   code: row_level_refused
#   effect: deny
#   title_nb: Ingen utlevering av opplysninger på individnivå
#   legal_basis: "Personvernforordningen art. 5 nr. 1 bokstav c og art. 89 nr. 1; helseforskningsloven § 32 / GDPR Art. 5(1)(c) and 89(1)"
#   owner: personvernombudet
#   message:
#     nb: Megleren utleverer aldri opplysninger på individnivå, bare beskyttede aggregater.
#     en: The broker never releases row-level data, only protected aggregates.
deny contains f if {
	input.resource.row_level == true
	f := lib.finding(rego.metadata.rule(), {"row_level": true})
}

# METADATA
# title: No row-level data, ever (identifier dimensions)
# description: A breakdown by a person identifier is row-level data in disguise and is refused.
# custom:
#   code: row_level_refused
#   effect: deny
#   title_nb: Ingen utlevering av opplysninger på individnivå
#   legal_basis: "Personvernforordningen art. 5 nr. 1 bokstav c og art. 89 nr. 1; helseforskningsloven § 32 / GDPR Art. 5(1)(c) and 89(1)"
#   owner: personvernombudet
#   message:
#     nb: Megleren utleverer aldri opplysninger på individnivå, bare beskyttede aggregater.
#     en: The broker never releases row-level data, only protected aggregates.
deny contains f if {
	# Iterating before collecting keeps the common case (no identifier)
	# free of a comprehension; every d yields the same finding.
	some d in input.resource.dimensions
	d in config.identifier_dimensions
	ids := [x | some x in input.resource.dimensions; x in config.identifier_dimensions]
	f := lib.finding(rego.metadata.rule(), {"dimensions": ids})
}

# METADATA
# title: Coordinators' governance tables cover their own municipality
# description: |
#   A public-health coordinator may request governance tables for the
#   municipality they work for, and only for it; the table must filter on
#   that municipality. Published indicators for every municipality stay open
#   to them through indicator.read.
# custom:
#   code: coordinator_outside_own_municipality
#   effect: deny
#   title_nb: Styringsdata bare for egen kommune
#   legal_basis: "Folkehelseloven § 5 (kommunens oversikt over egen befolkning); personvernforordningen art. 5 nr. 1 bokstav b / Public Health Act s. 5; GDPR Art. 5(1)(b)"
#   owner: personvernombudet
#   message:
#     nb: Styringstabeller kan bare bestilles for kommunen koordinatoren arbeider i.
#     en: Governance tables can only be requested for the coordinator's own municipality.
deny contains f if {
	input.action == "governance.request"
	not own_municipality_only
	f := lib.finding(rego.metadata.rule(), {
		"own": object.get(input, ["subject", "municipality"], null),
		"requested": object.get(input, ["resource", "filters", "municipality"], []),
	})
}

# METADATA
# title: Own municipality only
# description: True when the request filters on exactly the subject's own municipality.
own_municipality_only if {
	is_string(input.subject.municipality)
	input.resource.filters.municipality == [input.subject.municipality]
}

# METADATA
# title: Only published indicators
# description: Indicators are read only once they are published, that is computed and protected.
# custom:
#   code: indicator_not_published
#   effect: deny
#   title_nb: Bare publiserte indikatorer
#   legal_basis: "Folkehelseloven § 5 og personvernforordningen art. 89 nr. 1 / Public Health Act s. 5; GDPR Art. 89(1)"
#   owner: personvernombudet
#   message:
#     nb: Indikatoren er ikke publisert ennå.
#     en: The indicator is not published yet.
deny contains f if {
	input.action == "indicator.read"
	not input.resource.published == true
	f := lib.finding(rego.metadata.rule(), {})
}
