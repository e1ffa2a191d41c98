package folkekommune.decision_test

malformed_cases := {
	"missing subject id": json.remove(base, ["/subject/id"]),
	"roles not a list": patched([set_op("/subject/roles", "researcher")]),
	"dimensions not a list": patched([set_op("/resource/dimensions", "sex")]),
	"population a string": patched([set_op("/resource/smallest_population", "1700")]),
	"negative population": patched([set_op("/resource/smallest_population", -1)]),
	"project a string": patched([set_op("/project", "p-1")]),
	"members missing": json.remove(base, ["/project/members"]),
	"end date not a date": patched([set_op("/project/end_date", "next year")]),
	"approval date impossible": patched([set_op("/project/approved_at", "2025-02-30")]),
	"dpia a string": patched([set_op("/project/dpia_done", "yes")]),
	"time missing": json.remove(base, ["/context/time"]),
	"time not RFC 3339": patched([set_op("/context/time", "25.11.2026")]),
	"releases not times": patched([set_op("/context/releases", [42])]),
	"unknown municipality": patched([set_op("/resource/filters/municipality", ["0301"])]),
	"bad icpc2 code": patched([set_op("/resource/filters/icpc2", ["P7"])]),
	"filters a list": patched([set_op("/resource/filters", ["4601"])]),
	"row_level a string": patched([set_op("/resource/row_level", "no")]),
	"action missing": json.remove(base, ["/action"]),
	"unknown home municipality": patched([set_op("/subject/municipality", "9999")]),
	"status a number": patched([set_op("/project/status", 1)]),
	"purpose missing": json.remove(base, ["/project/purpose"]),
	"rek a number": patched([set_op("/project/rek", 2024)]),
	"legal basis a list": patched([set_op("/project/legal_basis", ["hfl-35"])]),
}

test_input_malformed_denies if {
	every _, r in malformed_cases {
		denies(r, "input_malformed")
	}
}

test_input_malformed_names_the_field if {
	some f in result(json.remove(base, ["/subject/id"])).deny
	f.code == "input_malformed"
	f.detail.fields == ["subject.id must be a non-empty string"]
}

test_input_malformed_allows if {
	quiet(base, "input_malformed")
	quiet(governance, "input_malformed")
}

test_action_unknown_denies if {
	denies(patched([set_op("/action", "release.download_rows")]), "action_unknown")
}

test_action_unknown_allows if {
	quiet(base, "action_unknown")
}

test_dataset_unknown_denies if {
	denies(patched([set_op("/resource/dataset", "prescriptions")]), "dataset_unknown")
}

test_dataset_unknown_allows if {
	every ds in ["population", "growth", "vaccination", "gp_contact", "care"] {
		quiet(patched([set_op("/resource/dataset", ds), set_op("/resource/dimensions", ["municipality"])]), "dataset_unknown")
	}
}

test_dimension_unknown_denies if {
	denies(patched([set_op("/resource/dimensions", ["municipality", "vaccine"])]), "dimension_unknown")
}

test_dimension_unknown_allows if {
	quiet(patched([set_op("/resource/dataset", "vaccination"), set_op("/resource/dimensions", ["municipality", "vaccine"])]), "dimension_unknown")
}

test_project_missing_denies if {
	denies(json.remove(base, ["/project"]), "project_missing")
}

test_project_missing_allows if {
	# A published indicator needs no project.
	r := {
		"subject": {"id": "u", "roles": ["researcher"]},
		"action": "indicator.read",
		"resource": {"dataset": "indicators", "published": true},
		"context": {"time": "2026-11-25T14:00:00Z"},
	}
	quiet(r, "project_missing")
	result(r).allow
}

# The fast shape check agrees with the itemised one on every case.
test_well_formed_agrees_with_shape_problems if {
	every _, r in malformed_cases {
		not data.folkekommune.lib.well_formed with input as r
		count(data.folkekommune.lib.shape_problems) > 0 with input as r
	}
	every r in [base, governance, indicator_read, json.remove(base, ["/project"])] {
		data.folkekommune.lib.well_formed with input as r
		count(data.folkekommune.lib.shape_problems) == 0 with input as r
	}
}
