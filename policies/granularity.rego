package folkekommune.decision

import data.folkekommune.config
import data.folkekommune.lib

# METADATA
# title: Limited number of dimensions
# description: |
#   Every extra dimension splits the cells smaller; beyond max_dimensions a
#   table is more likely to single people out than to inform.
# custom:
#   code: too_many_dimensions
#   effect: deny
#   title_nb: For mange dimensjoner
#   legal_basis: "Personvernforordningen art. 5 nr. 1 bokstav c (dataminimering) og art. 89 nr. 1 / GDPR Art. 5(1)(c) and 89(1)"
#   owner: personvernombudet
#   message:
#     nb: Tabellen har flere dimensjoner enn regelverket tillater.
#     en: The table has more dimensions than the policy allows.
deny contains f if {
	lib.table_request == true
	count(input.resource.dimensions) > config.max_dimensions
	f := lib.finding(rego.metadata.rule(), {"requested": count(input.resource.dimensions), "max": config.max_dimensions})
}

# METADATA
# title: District level only for large populations
# description: |
#   A breakdown by Bergen district (bydel) is allowed only when every
#   population involved is at least geo_levels.district; with one of the
#   small municipalities in the table it is refused.
# custom:
#   code: district_population_too_small
#   effect: deny
#   title_nb: Bydelsnivå krever stor nok befolkning
#   legal_basis: "Personvernforordningen art. 89 nr. 1 og fortalepunkt 26 (anonymisering) / GDPR Art. 89(1), Recital 26"
#   owner: personvernombudet
#   message:
#     nb: Befolkningen i tabellen er for liten til inndeling på bydelsnivå. Velg kommunenivå.
#     en: The population in the table is too small for a breakdown by district. Choose municipality level.
deny contains f if {
	lib.table_request == true
	some d in input.resource.dimensions
	level := config.dimensions[d].geo_level
	lib.smallest_population < config.geo_levels[level]
	f := lib.finding(rego.metadata.rule(), {
		"level": level,
		"smallest_population": lib.smallest_population,
		"required": config.geo_levels[level],
	})
}

# METADATA
# title: Fine age groups only for large populations
# description: |
#   Single years and five-year bands are allowed only where the smallest
#   population involved is large enough (age_groupings in the policy data);
#   the small municipalities (Masfjorden, Austrheim, Vaksdal) get the broad
#   bands 0-17, 18-66, 67-79, 80+.
# custom:
#   code: age_groups_too_fine
#   effect: deny
#   title_nb: For fin aldersinndeling for befolkningen
#   legal_basis: "Personvernforordningen art. 89 nr. 1 og fortalepunkt 26 (anonymisering) / GDPR Art. 89(1), Recital 26"
#   owner: personvernombudet
#   message:
#     nb: Befolkningen i tabellen er for liten til så fin aldersinndeling. Velg en grovere inndeling.
#     en: The population in the table is too small for such fine age groups. Choose coarser groups.
deny contains f if {
	lib.table_request == true
	some d in input.resource.dimensions
	grouping := config.dimensions[d].age_grouping
	lib.smallest_population < config.age_groupings[grouping]
	f := lib.finding(rego.metadata.rule(), {
		"grouping": grouping,
		"smallest_population": lib.smallest_population,
		"required": config.age_groupings[grouping],
		"allowed": sort([g | some g, n in config.age_groupings; lib.smallest_population >= n]),
	})
}

# METADATA
# title: Release cap per period
# description: |
#   A project receiving many tables in a short time is building a picture
#   the privacy officer should see: beyond release_cap.per_period releases
#   within release_cap.period_days days, further requests go to review.
# custom:
#   code: release_cap_reached
#   effect: review
#   title_nb: Mange utleveringer i perioden
#   legal_basis: "Personvernforordningen art. 5 nr. 1 bokstav c og art. 24 / GDPR Art. 5(1)(c) and 24"
#   owner: personvernombudet
#   message:
#     nb: Prosjektet har fått mange tabeller i perioden; nye forespørsler vurderes manuelt.
#     en: The project has received many tables in this period; new requests are reviewed manually.
review contains f if {
	lib.table_request == true

	# Fewer releases in all than the cap cannot reach it in the period;
	# counting them first spares the date arithmetic in the common case.
	# (Negated, so that a list that cannot be counted is still judged below.)
	not count(object.get(input, ["context", "releases"], [])) < config.release_cap.per_period
	lib.recent_releases >= config.release_cap.per_period
	f := lib.finding(rego.metadata.rule(), {
		"releases": lib.recent_releases,
		"cap": config.release_cap.per_period,
		"period_days": config.release_cap.period_days,
	})
}
