package folkekommune.decision_test

test_role_not_permitted_denies if {
	denies(patched([set_op("/subject/roles", ["fou_contact"])]), "role_not_permitted")
	denies(patched([set_op("/subject/roles", [])]), "role_not_permitted")

	# A researcher cannot order governance tables.
	denies(json.patch(governance, [set_op("/subject/roles", ["researcher"])]), "role_not_permitted")
}

test_role_not_permitted_allows if {
	quiet(patched([set_op("/subject/roles", ["fou_contact", "researcher"])]), "role_not_permitted")
	quiet(governance, "role_not_permitted")
}

test_row_level_refused_denies if {
	denies(patched([set_op("/resource/row_level", true)]), "row_level_refused")
	denies(patched([set_op("/resource/dimensions", ["pid"])]), "row_level_refused")

	# Not even an administrator on a project, nor a privacy officer.
	denies(patched([set_op("/resource/row_level", true), set_op("/subject/roles", ["admin", "privacy_officer", "researcher"])]), "row_level_refused")
}

test_row_level_refused_allows if {
	quiet(base, "row_level_refused")
	quiet(json.remove(base, ["/resource/row_level"]), "row_level_refused")
}

test_coordinator_outside_own_municipality_denies if {
	denies(json.patch(governance, [set_op("/resource/filters/municipality", ["4601"])]), "coordinator_outside_own_municipality")
	denies(json.patch(governance, [set_op("/resource/filters/municipality", ["4627", "4601"])]), "coordinator_outside_own_municipality")
	denies(json.remove(governance, ["/resource/filters/municipality"]), "coordinator_outside_own_municipality")
	denies(json.remove(governance, ["/subject/municipality"]), "coordinator_outside_own_municipality")
}

test_coordinator_outside_own_municipality_allows if {
	quiet(governance, "coordinator_outside_own_municipality")

	# Published indicators for another municipality are open to coordinators.
	r := {
		"subject": {"id": "u-coordinator", "roles": ["coordinator"], "municipality": "4627"},
		"action": "indicator.read",
		"resource": {"dataset": "indicators", "published": true, "filters": {"municipality": ["4601", "4634"]}},
		"context": {"time": "2026-11-25T14:00:00Z"},
	}
	quiet(r, "coordinator_outside_own_municipality")
	result(r).allow
}

indicator_read := {
	"subject": {"id": "u", "roles": ["coordinator"], "municipality": "4627"},
	"action": "indicator.read",
	"resource": {"dataset": "indicators", "published": true},
	"context": {"time": "2026-11-25T14:00:00Z"},
}

test_indicator_not_published_denies if {
	denies(json.patch(indicator_read, [set_op("/resource/published", false)]), "indicator_not_published")
	denies(json.remove(indicator_read, ["/resource/published"]), "indicator_not_published")
}

test_indicator_not_published_allows if {
	quiet(indicator_read, "indicator_not_published")
}

# The request of a visitor who has not signed in, as the web pages send it.
public_read := {
	"subject": {"id": "anonymous", "roles": ["public"]},
	"action": "indicator.read",
	"resource": {"dataset": "indicators", "published": true},
	"context": {"time": "2026-11-25T14:00:00Z"},
}

test_public_reads_published_indicators if {
	res := result(public_read)
	res.allow == true
	count(res.deny) == 0
	res.review == false
}

test_public_is_refused_everything_else if {
	# Not a research table, even with a project that would otherwise pass.
	denies(patched([set_op("/subject/roles", ["public"]), set_op("/subject/id", "anonymous")]), "role_not_permitted")

	# Not a governance table, even for a municipality of the collaboration.
	denies(json.patch(governance, [set_op("/subject/roles", ["public"]), set_op("/subject/id", "anonymous")]), "role_not_permitted")

	# Not an indicator before it is published.
	unpublished := json.patch(public_read, [set_op("/resource/published", false)])
	denies(unpublished, "indicator_not_published")
	not result(unpublished).allow

	# Not an action the catalogue does not know.
	not result(json.patch(public_read, [set_op("/action", "release.download")])).allow

	# Not row-level data dressed as an indicator read.
	denies(json.patch(public_read, [set_op("/resource/row_level", true)]), "row_level_refused")
}

test_only_indicator_read_lists_public if {
	public_actions := {name | some name, a in data.folkekommune.config.actions; "public" in a.roles}
	public_actions == {"indicator.read"}
}
