package folkekommune.decision_test

test_base_request_allowed if {
	res := result(base)
	res.allow == true
	res.review == false
	count(res.deny) == 0
	count(res.review_reasons) == 0
}

test_governance_request_allowed if {
	res := result(governance)
	res.allow == true
}

# The anonymous web visitor's role (public) is pinned in access_test.rego, where
# the web tests can take it out to show that the policy decides.
test_published_indicator_allowed_for_every_role if {
	every role in ["researcher", "coordinator", "privacy_officer", "fou_contact", "admin"] {
		r := {
			"subject": {"id": "u", "roles": [role]},
			"action": "indicator.read",
			"resource": {"dataset": "indicators", "published": true, "filters": {"municipality": ["4634"]}},
			"context": {"time": "2026-11-25T14:00:00Z"},
		}
		result(r).allow == true
	}
}

test_empty_request_denied if {
	res := result({})
	res.allow == false
	"input_malformed" in deny_codes({})
}

test_non_object_request_denied if {
	res := result([1, 2])
	res.allow == false
}

test_standard_obligations if {
	o := result(base).obligations
	o.k == 5
	o.protection_level == "standard"
	o.rounding_base == 3
	o.perturbation == false
	o.geo_levels == ["cluster", "municipality"]
	o.age_groupings == ["broad"]
}

test_sensitive_obligations if {
	r := patched([
		set_op("/resource/dataset", "gp_contact"),
		set_op("/resource/filters/icpc2", ["P"]),
		set_op("/project/dpia_done", true),
	])
	o := result(r).obligations
	o.k == 10
	o.protection_level == "sensitive"
	o.rounding_base == 5
	o.perturbation == true
}

test_perturbation_after_first_release if {
	r := patched([set_op("/context/releases", ["2026-10-01T10:00:00Z"])])
	result(r).obligations.perturbation == true
}

test_large_population_unlocks_district_and_fine_ages if {
	r := patched([
		set_op("/resource/filters/municipality", ["4601"]),
		set_op("/resource/smallest_population", 285000),
	])
	o := result(r).obligations
	o.geo_levels == ["cluster", "district", "municipality"]
	o.age_groupings == ["10y", "5y", "broad", "single"]
}

test_overstated_population_does_not_unlock if {
	# The request claims a large population but includes Masfjorden.
	r := patched([
		set_op("/resource/filters/municipality", ["4601", "4634"]),
		set_op("/resource/smallest_population", 285000),
	])
	result(r).obligations.age_groupings == ["broad"]
}
