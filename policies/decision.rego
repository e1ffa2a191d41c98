# METADATA
# title: FolkeKommune release decisions
# description: |
#   Who may receive which aggregate, for which purpose, with which
#   protection. The broker asks data.folkekommune.decision.result for every
#   request; each rule in this package is one of the privacy officer's
#   conditions. A rule that fires adds a finding to deny (the request is
#   refused) or to review (the request waits for the privacy officer). A
#   request is allowed only when no rule fires, and an allowed table carries
#   the obligations the release path must apply.
# scope: package
# organizations:
#   - Kunnskapskommunen Helse Omsorg Vest
package folkekommune.decision

import data.folkekommune.config
import data.folkekommune.lib

# METADATA
# title: Decision
# description: |
#   The one entry point: allow, review, the denial and review findings, and
#   the obligations for the release path.
# entrypoint: true
# custom:
#   title_nb: Beslutning
#   legal_basis: "Personvernforordningen art. 5 nr. 2 og art. 24 (ansvarlighet) / GDPR Art. 5(2) and 24 (accountability)"
#   owner: personvernombudet
result := {
	"allow": allow,
	"review": needs_review,
	"deny": deny,
	"review_reasons": review,
	"obligations": obligations,
}

# METADATA
# title: Allowed when no rule objects
# description: |
#   A request is allowed only when no rule denies it and no rule sends it to
#   review. Everything else is refused by default.
# custom:
#   title_nb: Tillatt når ingen regel slår ut
#   legal_basis: "Personvernforordningen art. 25 (innebygd personvern) / GDPR Art. 25 (data protection by default)"
#   owner: personvernombudet
default allow := false

allow if {
	count(deny) == 0
	count(review) == 0
}

# METADATA
# title: Manual review
# description: |
#   A request that no rule denies but some rule flags waits for the privacy
#   officer's manual review before anything is released.
# custom:
#   title_nb: Manuell vurdering
#   legal_basis: "Personvernforordningen art. 24 og 39 (personvernombudets oppgaver) / GDPR Art. 24 and 39"
#   owner: personvernombudet
default needs_review := false

needs_review if {
	count(deny) == 0
	count(review) > 0
}

# METADATA
# title: Obligations for the release path
# description: |
#   What disclosure control must apply to an allowed table: the minimum cell
#   count k and rounding base for the protection level (sensitive requests
#   get the higher level), cell-key perturbation once the project has earlier
#   releases (so that differencing tables yields noise, not people), and the
#   geographic levels and age groupings the smallest population involved
#   can bear.
# custom:
#   title_nb: Vilkår for utlevering
#   legal_basis: "Personvernforordningen art. 89 nr. 1 (garantier, dataminimering) og helseforskningsloven § 2 / GDPR Art. 89(1)"
#   owner: personvernombudet
obligations := {
	"k": config.protection[level].k,
	"protection_level": level,
	"rounding_base": config.protection[level].rounding_base,
	"perturbation": perturbation,
	"geo_levels": sort([l | some l, min_pop in config.geo_levels; population >= min_pop]),
	"age_groupings": sort([g | some g, min_pop in config.age_groupings; population >= min_pop]),
}

# METADATA
# title: Protection level
# description: Sensitive for requests touching sensitive diagnoses, otherwise standard.
default level := "standard"

level := "sensitive" if lib.sensitive == true

# METADATA
# title: Perturbation
# description: |
#   Cell-key perturbation is on for sensitive requests and once the project
#   has had releases before, since differencing a project's tables against
#   each other could otherwise single out people.
default perturbation := false

perturbation if lib.sensitive == true

perturbation if count(object.get(input, ["context", "releases"], [])) >= config.perturb_after_releases

# METADATA
# title: Population the obligations are sized for
# description: |
#   The smallest population involved in a table request. Published
#   indicators are already protected; their reader is not limited by the
#   population of a table they do not request, and gets the levels open to
#   any population.
default population := 0

population := lib.smallest_population if lib.table_request == true
