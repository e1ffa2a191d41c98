package folkekommune.decision

import data.folkekommune.lib

# METADATA
# title: Sensitive data need a DPIA
# description: |
#   Tables on psychological diagnoses (ICPC-2 chapter P, substance use
#   P15-P19 among them) or sexual and reproductive health (chapters W, X, Y),
#   or broken down by diagnosis at all, may only go to a project that has
#   carried out a data protection impact assessment.
# custom:
#   code: sensitive_without_dpia
#   effect: deny
#   title_nb: Sensitive opplysninger krever DPIA
#   legal_basis: "Personvernforordningen art. 35 (vurdering av personvernkonsekvenser) / GDPR Art. 35 (DPIA)"
#   owner: personvernombudet
#   message:
#     nb: Forespørselen gjelder særlig sensitive helseopplysninger, og prosjektet har ikke gjennomført en vurdering av personvernkonsekvenser (DPIA).
#     en: The request concerns especially sensitive health data, and the project has not carried out a data protection impact assessment (DPIA).
deny contains f if {
	lib.table_request == true
	lib.sensitive == true
	not input.project.dpia_done == true
	f := lib.finding(rego.metadata.rule(), {})
}

# METADATA
# title: Sensitive data go to manual review
# description: |
#   Even with a DPIA, a table on sensitive diagnoses is released only after
#   the privacy officer has looked at it; it also gets the higher protection
#   level (see obligations).
# custom:
#   code: sensitive_review
#   effect: review
#   title_nb: Sensitive opplysninger vurderes manuelt
#   legal_basis: "Personvernforordningen art. 9 og art. 39 nr. 1 bokstav c / GDPR Art. 9 and 39(1)(c)"
#   owner: personvernombudet
#   message:
#     nb: Forespørselen gjelder særlig sensitive helseopplysninger og må vurderes manuelt av personvernombudet.
#     en: The request concerns especially sensitive health data and must be reviewed by the privacy officer.
review contains f if {
	lib.table_request == true
	lib.sensitive == true
	f := lib.finding(rego.metadata.rule(), {})
}
