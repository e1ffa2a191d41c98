# Shared fixtures of the policy tests: a request every rule allows, and
# helpers that evaluate the decision on a variation of it.
package folkekommune.decision_test

import data.folkekommune.decision

# A research table request that every rule allows.
base := {
	"subject": {"id": "u-researcher", "roles": ["researcher"], "organisation": "UiB", "municipality": "4601"},
	"action": "release.request",
	"resource": {
		"dataset": "population",
		"dimensions": ["municipality", "sex", "age_broad"],
		"filters": {},
		"period": {"from": "2024-01-01", "to": "2024-12-31"},
		"smallest_population": 1700,
		"row_level": false,
	},
	"project": {
		"id": "p-1",
		"status": "approved",
		"purpose": "research",
		"approved_at": "2025-01-10",
		"end_date": "2027-12-31",
		"rek": "2024/123456",
		"dpia_done": false,
		"legal_basis": "hfl-35",
		"members": ["u-researcher", "u-other"],
	},
	"context": {"time": "2026-11-25T14:00:00Z", "releases": []},
}

# A governance table request a coordinator in Askøy may make.
governance := {
	"subject": {"id": "u-coordinator", "roles": ["coordinator"], "organisation": "Askøy kommune", "municipality": "4627"},
	"action": "governance.request",
	"resource": {
		"dataset": "care",
		"dimensions": ["care_service", "age_10y"],
		"filters": {"municipality": ["4627"]},
		"smallest_population": 30000,
	},
	"project": {
		"id": "g-askoy",
		"status": "approved",
		"purpose": "governance",
		"approved_at": "2025-01-01",
		"end_date": "2027-12-31",
		"dpia_done": false,
		"legal_basis": "fhl-5",
		"members": ["u-coordinator"],
	},
	"context": {"time": "2026-11-25T14:00:00Z"},
}

# patched applies JSON patch operations to the base request.
patched(ops) := json.patch(base, ops)

# set_op replaces the value at path.
set_op(path, value) := {"op": "add", "path": path, "value": value}

# result evaluates the decision on request r.
result(r) := res if {
	res := decision.result with input as r
}

# deny_codes are the reason codes of the findings that deny r.
deny_codes(r) := {f.code | some f in result(r).deny}

# review_codes are the reason codes of the findings that send r to review.
review_codes(r) := {f.code | some f in result(r).review_reasons}

# denies holds when code denies r and r is neither allowed nor reviewed,
# and the finding carries its documentation.
denies(r, code) if {
	res := result(r)
	some f in res.deny
	f.code == code
	documented(f)
	res.allow == false
	res.review == false
}

# reviews holds when code sends r to review and nothing denies it.
reviews(r, code) if {
	res := result(r)
	some f in res.review_reasons
	f.code == code
	documented(f)
	count(res.deny) == 0
	res.allow == false
	res.review == true
}

# quiet holds when code neither denies r nor sends it to review.
quiet(r, code) if {
	not code in deny_codes(r)
	not code in review_codes(r)
}

# documented holds when a finding carries the title, Norwegian title, legal
# basis and messages from its rule's annotations: a rule without them fails
# its own tests.
documented(f) if {
	f.code != ""
	f.title != ""
	f.title_nb != ""
	f.legal_basis != ""
	f.message.nb != ""
	f.message.en != ""
}
