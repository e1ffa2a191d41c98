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
# description: |
#   True when s is an ISO 8601 calendar date (YYYY-MM-DD) that exists; the
#   layout parse refuses anything else, including one-digit months.
valid_date(s) if time.parse_ns("2006-01-02", s)

# METADATA
# title: Project end date
# description: Nanoseconds since the epoch at 00:00 UTC of the project's end date.
end_ns := time.parse_ns("2006-01-02", input.project.end_date)

# METADATA
# title: Project approval date
# description: Nanoseconds since the epoch at 00:00 UTC of the project's approval date.
approved_ns := time.parse_ns("2006-01-02", input.project.approved_at)

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
# title: Geographic breakdown
# description: True when the table is broken down by municipality or district.
geo_breakdown if {
	some d in input.resource.dimensions
	config.dimensions[d].geo_level
}

# METADATA
# title: Municipality filter
# description: True when the request filters on one or more municipalities.
municipality_filter if count(input.resource.filters.municipality) > 0

# METADATA
# title: Smallest municipality
# description: The population of the collaboration's smallest municipality.
smallest_municipality := min([n | some n in config.municipality_population])

# METADATA
# title: Smallest population the policy knows of
# description: |
#   The smallest population among the municipalities in the table: those of
#   the municipality filter when there is one, all nine when the table is
#   broken down by municipality or district, the whole collaboration
#   otherwise.
known_floor := config.cluster_population if {
	not municipality_filter
	not geo_breakdown
}

known_floor := min([config.municipality_population[m] | some m in input.resource.filters.municipality]) if municipality_filter == true

known_floor := smallest_municipality if {
	not municipality_filter
	geo_breakdown == true
}

# METADATA
# title: Smallest population involved
# description: |
#   The smaller of what the request states (resource.smallest_population)
#   and what the policy knows of the municipalities involved, so that an
#   overstated request cannot unlock finer tables.
smallest_population := min([input.resource.smallest_population, known_floor])

# METADATA
# title: Releases in the current period
# description: The releases to the project within the last release_cap.period_days days before the request.
recent_releases := count([t |
	some t in release_ns
	t > period_start_ns
	t <= now_ns
])

# METADATA
# title: Start of the release period
# description: The time release_cap.period_days days before the request, in nanoseconds since the epoch.
period_start_ns := now_ns - (config.release_cap.period_days * day_ns)

# METADATA
# title: One day
# description: A day in nanoseconds.
day_ns := 86400000000000

# METADATA
# title: Earlier releases
# description: The times of the project's earlier releases in nanoseconds since the epoch; unreadable times are left out (and make the request malformed).
release_ns := [time.parse_rfc3339_ns(r) | some r in object.get(input, ["context", "releases"], [])]

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
#   the field; empty for a well-formed request. Any problem denies the
#   request (rule input_malformed), so a malformed request can never slip
#   past a rule that could not read it.
default input_problems := set()

input_problems := shape_problems if not well_formed

# METADATA
# title: Well-formed request
# description: |
#   The fast path of the shape check: one pass over the fields that holds
#   exactly when shape_problems is empty (the policy tests pin that down), so
#   that a well-formed request does not pay for the itemised check.
well_formed if {
	is_string(input.subject.id)
	input.subject.id != ""
	is_array(input.subject.roles)
	concat("", input.subject.roles)
	subject_municipality_ok
	is_string(input.action)
	is_string(input.resource.dataset)
	now_ns
	releases_ok
	table_shape_ok
	filters_ok
	is_boolean(object.get(input.resource, "row_level", false))
	project_shape_ok
}

# METADATA
# title: Subject's municipality well-formed
# description: True when the subject names no municipality or one of the collaboration's.
subject_municipality_ok if not input.subject.municipality

subject_municipality_ok if config.municipality_population[input.subject.municipality]

# METADATA
# title: Earlier releases well-formed
# description: True when the request lists no earlier releases, or a list of RFC 3339 times.
releases_ok if {
	rs := object.get(input.context, "releases", [])
	is_array(rs)
	count(release_ns) == count(rs)
}

# METADATA
# title: Filters well-formed
# description: True when the filters, if any, are an object whose municipality and icpc2 lists hold known codes.
filters_ok if not input.resource.filters

filters_ok if {
	is_object(input.resource.filters)
	municipality_list(object.get(input.resource.filters, "municipality", []))
	icpc2_list(object.get(input.resource.filters, "icpc2", []))
}

# METADATA
# title: Table fields well-formed
# description: True unless the request asks for a table without well-formed dimensions and smallest population.
table_shape_ok if not table_request

table_shape_ok if {
	is_array(input.resource.dimensions)
	concat("", input.resource.dimensions)
	is_number(input.resource.smallest_population)
	input.resource.smallest_population >= 0
}

# METADATA
# title: Project well-formed
# description: True when the request names no project, or a project whose fields all have their types.
project_shape_ok if not input.project

project_shape_ok if {
	is_string(input.project.status)
	is_string(input.project.purpose)
	is_array(input.project.members)
	concat("", input.project.members)
	end_ns
	approval_date_ok
	is_boolean(object.get(input.project, "dpia_done", false))
	is_string(object.get(input.project, "rek", ""))
	is_string(object.get(input.project, "legal_basis", ""))
}

# METADATA
# title: Approval date well-formed
# description: True when the project has no approval date or a valid one.
approval_date_ok if not input.project.approved_at

approval_date_ok if approved_ns

# METADATA
# title: Itemised shape problems
# description: Each shape problem of the request as a sentence naming the field.
shape_problems contains "input must be a JSON object" if not is_object(input)

shape_problems contains "subject.id must be a non-empty string" if not nonempty_string(object.get(input, ["subject", "id"], null))

shape_problems contains "subject.roles must be a list of role names" if not string_list(object.get(input, ["subject", "roles"], null))

shape_problems contains "subject.municipality must be a kommunenummer of the collaboration" if {
	m := input.subject.municipality
	m != false
	not config.municipality_population[m]
}

shape_problems contains "action must be a string" if not is_string(object.get(input, ["action"], null))

shape_problems contains "resource must be an object" if not is_object(object.get(input, ["resource"], null))

shape_problems contains "resource.dataset must be a string" if not is_string(object.get(input, ["resource", "dataset"], null))

shape_problems contains "context.time must be an RFC 3339 time" if not now_ns

shape_problems contains "context.releases must be a list of RFC 3339 times" if {
	rs := input.context.releases
	not rfc3339_list(rs)
}

shape_problems contains "resource.dimensions must be a list of dimension names" if {
	table_request
	not string_list(object.get(input, ["resource", "dimensions"], null))
}

shape_problems contains "resource.smallest_population must be a number of at least 0" if {
	table_request
	not non_negative(object.get(input, ["resource", "smallest_population"], null))
}

shape_problems contains "resource.filters must be an object" if {
	f := input.resource.filters
	not is_object(f)
}

shape_problems contains "resource.filters.municipality must list kommunenummer of the collaboration" if {
	f := input.resource.filters.municipality
	not municipality_list(f)
}

shape_problems contains "resource.filters.icpc2 must list ICPC-2 chapters (P) or codes (P76)" if {
	f := input.resource.filters.icpc2
	not icpc2_list(f)
}

shape_problems contains "resource.row_level must be true or false" if {
	v := input.resource.row_level
	not is_boolean(v)
}

shape_problems contains "project must be an object" if {
	p := input.project
	p != false
	not is_object(p)
}

shape_problems contains "project.status must be a string" if {
	is_object(input.project)
	not is_string(object.get(input, ["project", "status"], null))
}

shape_problems contains "project.purpose must be a string" if {
	is_object(input.project)
	not is_string(object.get(input, ["project", "purpose"], null))
}

shape_problems contains "project.members must be a list of user ids" if {
	is_object(input.project)
	not string_list(object.get(input, ["project", "members"], null))
}

shape_problems contains "project.end_date must be a date (YYYY-MM-DD)" if {
	is_object(input.project)
	not valid_date(object.get(input, ["project", "end_date"], null))
}

shape_problems contains "project.approved_at must be a date (YYYY-MM-DD)" if {
	d := input.project.approved_at
	d != false
	not valid_date(d)
}

shape_problems contains "project.dpia_done must be true or false" if {
	v := input.project.dpia_done
	not is_boolean(v)
}

shape_problems contains "project.rek must be a string" if {
	v := input.project.rek
	not is_string(v)
}

shape_problems contains "project.legal_basis must be a string" if {
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

	# concat is undefined when an element is not a string: one builtin call
	# instead of a loop.
	concat("", x)
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
