# METADATA
# title: Shared helpers of the release policy
# description: |
#   Facts derived from the request that several rules share: the time of the
#   request, whether it asks for a table, whether it touches sensitive
#   diagnoses, and the smallest population it involves. Helpers decide
#   nothing on their own; the rules in package folkekommune.decision do.
# scope: package
package folkekommune.lib

import data.folkekommune.config

# METADATA
# title: Time of the request
# description: The request's time (input.context.time, RFC 3339) in nanoseconds since the epoch.
now_ns := time.parse_rfc3339_ns(input.context.time)

# METADATA
# title: Valid calendar date
# description: True when s is an ISO 8601 calendar date (YYYY-MM-DD) that exists.
valid_date(s) if {
	is_string(s)
	regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, s)
	time.parse_ns("2006-01-02", s)
}

# METADATA
# title: Start of a date
# description: Nanoseconds since the epoch at 00:00 UTC of the ISO date s.
date_ns(s) := time.parse_ns("2006-01-02", s)

# METADATA
# title: Table request
# description: True when the action asks for a table computed from the pulled data (not a published indicator).
table_request if config.actions[input.action].table

# METADATA
# title: Diagnosis filter
# description: The ICPC-2 chapters or codes the request filters on; empty when it does not filter on diagnosis.
icpc2_filter := object.get(input, ["resource", "filters", "icpc2"], [])

# METADATA
# title: Sensitive ICPC-2 code or chapter
# description: |
#   True for psychological diagnoses (chapter P, substance use P15-P19 among
#   them) and sexual and reproductive health (chapters W, X, Y), given as a
#   chapter letter or a full code.
sensitive_code(c) if substring(c, 0, 1) in config.sensitive_icpc2.chapters

sensitive_code(c) if c in config.sensitive_icpc2.codes

# METADATA
# title: Sensitive request
# description: |
#   True when the dataset is sensitive in itself, when the request filters on
#   a sensitive diagnosis, or when it breaks a table down by diagnosis
#   without a filter (such a table holds the sensitive chapters too).
sensitive if config.datasets[input.resource.dataset].sensitivity == "sensitive"

sensitive if {
	some c in icpc2_filter
	sensitive_code(c)
}

sensitive if {
	some d in input.resource.dimensions
	config.dimensions[d].diagnosis
	count(icpc2_filter) == 0
}

# METADATA
# title: Municipalities involved
# description: |
#   The municipalities whose people appear in the table: the municipality
#   filter when there is one, all nine when the table is broken down by
#   municipality or district, none (the whole collaboration) otherwise.
involved := {m | some m in input.resource.filters.municipality} if input.resource.filters.municipality

involved := {m | some m, _ in config.municipality_population} if {
	not input.resource.filters.municipality
	some d in input.resource.dimensions
	config.dimensions[d].geo_level
}

involved := set() if {
	not input.resource.filters.municipality
	not geo_breakdown
}

# METADATA
# title: Geographic breakdown
# description: True when the table is broken down by municipality or district.
geo_breakdown if {
	some d in input.resource.dimensions
	config.dimensions[d].geo_level
}

# METADATA
# title: Smallest population involved
# description: |
#   The smaller of what the request states (resource.smallest_population)
#   and what the policy knows of the municipalities involved, so that an
#   understated request cannot unlock finer tables.
smallest_population := min({input.resource.smallest_population} | {config.municipality_population[m] | some m in involved})

# METADATA
# title: Releases in the current period
# description: The releases to the project within the last release_cap.period_days days before the request.
recent_releases := count([r |
	some r in object.get(input, ["context", "releases"], [])
	t := time.parse_rfc3339_ns(r)
	t > now_ns - (((config.release_cap.period_days * 24) * 3600) * 1000000000)
	t <= now_ns
])

# METADATA
# title: Finding
# description: |
#   A fired rule as the broker reports it: its stable reason code, title,
#   legal basis and plain-language message, taken from the rule's own
#   annotations so that code and documentation cannot drift apart. Missing
#   annotations yield empty fields, never a silent non-firing rule.
finding(meta, detail) := {
	"code": object.get(meta, ["custom", "code"], ""),
	"title": object.get(meta, "title", ""),
	"title_nb": object.get(meta, ["custom", "title_nb"], ""),
	"legal_basis": object.get(meta, ["custom", "legal_basis"], ""),
	"message": object.get(meta, ["custom", "message"], {}),
	"detail": detail,
}

# METADATA
# title: Problems with the request's shape
# description: |
#   Every field that is missing or has the wrong type, as a sentence naming
#   the field. Any problem denies the request (rule input_malformed), so a
#   malformed request can never slip past a rule that could not read it.
input_problems contains "input must be a JSON object" if not is_object(input)

input_problems contains "subject.id must be a non-empty string" if not nonempty_string(object.get(input, ["subject", "id"], null))

input_problems contains "subject.roles must be a list of role names" if not string_list(object.get(input, ["subject", "roles"], null))

input_problems contains "subject.municipality must be a kommunenummer of the collaboration" if {
	m := input.subject.municipality
	not config.municipality_population[m]
}

input_problems contains "action must be a string" if not is_string(object.get(input, ["action"], null))

input_problems contains "resource must be an object" if not is_object(object.get(input, ["resource"], null))

input_problems contains "resource.dataset must be a string" if not is_string(object.get(input, ["resource", "dataset"], null))

input_problems contains "context.time must be an RFC 3339 time" if not now_ns

input_problems contains "context.releases must be a list of RFC 3339 times" if {
	rs := input.context.releases
	not rfc3339_list(rs)
}

input_problems contains "resource.dimensions must be a list of dimension names" if {
	table_request
	not string_list(object.get(input, ["resource", "dimensions"], null))
}

input_problems contains "resource.smallest_population must be a number of at least 0" if {
	table_request
	not non_negative(object.get(input, ["resource", "smallest_population"], null))
}

input_problems contains "resource.filters must be an object" if {
	f := input.resource.filters
	not is_object(f)
}

input_problems contains "resource.filters.municipality must list kommunenummer of the collaboration" if {
	f := input.resource.filters.municipality
	not municipality_list(f)
}

input_problems contains "resource.filters.icpc2 must list ICPC-2 chapters (P) or codes (P76)" if {
	f := input.resource.filters.icpc2
	not icpc2_list(f)
}

input_problems contains "resource.row_level must be true or false" if {
	v := input.resource.row_level
	not is_boolean(v)
}

input_problems contains "project must be an object" if {
	p := input.project
	not is_object(p)
}

input_problems contains "project.status must be a string" if {
	is_object(input.project)
	not is_string(object.get(input, ["project", "status"], null))
}

input_problems contains "project.purpose must be a string" if {
	is_object(input.project)
	not is_string(object.get(input, ["project", "purpose"], null))
}

input_problems contains "project.members must be a list of user ids" if {
	is_object(input.project)
	not string_list(object.get(input, ["project", "members"], null))
}

input_problems contains "project.end_date must be a date (YYYY-MM-DD)" if {
	is_object(input.project)
	not valid_date(object.get(input, ["project", "end_date"], null))
}

input_problems contains "project.approved_at must be a date (YYYY-MM-DD)" if {
	d := input.project.approved_at
	not valid_date(d)
}

input_problems contains "project.dpia_done must be true or false" if {
	v := input.project.dpia_done
	not is_boolean(v)
}

input_problems contains "project.rek must be a string" if {
	v := input.project.rek
	not is_string(v)
}

input_problems contains "project.legal_basis must be a string" if {
	v := input.project.legal_basis
	not is_string(v)
}

# METADATA
# title: Non-empty string
# description: True when x is a string with at least one non-space character.
nonempty_string(x) if {
	is_string(x)
	trim_space(x) != ""
}

# METADATA
# title: List of strings
# description: True when x is an array whose elements are all strings.
string_list(x) if {
	is_array(x)
	every e in x {
		is_string(e)
	}
}

# METADATA
# title: Non-negative number
# description: True when x is a number of at least zero.
non_negative(x) if {
	is_number(x)
	x >= 0
}

# METADATA
# title: List of RFC 3339 times
# description: True when x is an array of RFC 3339 time strings.
rfc3339_list(x) if {
	is_array(x)
	every e in x {
		is_string(e)
		time.parse_rfc3339_ns(e)
	}
}

# METADATA
# title: List of the collaboration's municipalities
# description: True when x is an array of kommunenummer known to the policy.
municipality_list(x) if {
	is_array(x)
	every e in x {
		is_string(e)
		config.municipality_population[e]
	}
}

# METADATA
# title: List of ICPC-2 chapters or codes
# description: True when x is an array of ICPC-2 chapter letters or three-character codes.
icpc2_list(x) if {
	is_array(x)
	every e in x {
		is_string(e)
		regex.match(`^[ABDFHKLNPRSTUWXYZ]([0-9]{2})?$`, e)
	}
}
