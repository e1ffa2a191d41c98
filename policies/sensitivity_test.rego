package folkekommune.decision_test

# Requests on sensitive diagnoses, each by a different route.
sensitive_cases := {
	"psychological chapter": patched([set_op("/resource/dataset", "gp_contact"), set_op("/resource/filters/icpc2", ["P"])]),
	"substance use code": patched([set_op("/resource/dataset", "gp_contact"), set_op("/resource/filters/icpc2", ["P15"])]),
	"pregnancy": patched([set_op("/resource/dataset", "gp_contact"), set_op("/resource/filters/icpc2", ["W78"])]),
	"male genital": patched([set_op("/resource/dataset", "gp_contact"), set_op("/resource/filters/icpc2", ["K86", "Y06"])]),
	"diagnosis breakdown unfiltered": patched([set_op("/resource/dataset", "gp_contact"), set_op("/resource/dimensions", ["icpc2_chapter", "sex"])]),
}

test_sensitive_without_dpia_denies if {
	every _, r in sensitive_cases {
		denies(r, "sensitive_without_dpia")
	}
}

test_sensitive_without_dpia_allows if {
	every _, r in sensitive_cases {
		quiet(json.patch(r, [set_op("/project/dpia_done", true)]), "sensitive_without_dpia")
	}

	# Hypertension is not a sensitive diagnosis.
	quiet(patched([set_op("/resource/dataset", "gp_contact"), set_op("/resource/filters/icpc2", ["K86"])]), "sensitive_without_dpia")
}

test_sensitive_review_reviews if {
	every _, r in sensitive_cases {
		reviews(json.patch(r, [set_op("/project/dpia_done", true)]), "sensitive_review")
	}
}

test_sensitive_review_allows if {
	quiet(base, "sensitive_review")
	r := patched([set_op("/resource/dataset", "gp_contact"), set_op("/resource/filters/icpc2", ["K86", "R"])])
	quiet(r, "sensitive_review")
	result(r).allow
}

test_sensitive_dataset_needs_dpia_and_review if {
	r := result(base) with data.folkekommune.config.datasets.population.sensitivity as "sensitive"
	"sensitive_without_dpia" in {f.code | some f in r.deny}
	r.obligations.k == 10
}

test_substance_use_codes_sensitive_on_their_own if {
	# Even if chapter P were taken off the list, P15-P19 stay sensitive.
	r := patched([set_op("/resource/dataset", "gp_contact"), set_op("/resource/filters/icpc2", ["P16"])])
	res := result(r) with data.folkekommune.config.sensitive_icpc2.chapters as ["W", "X", "Y"]
	"sensitive_without_dpia" in {f.code | some f in res.deny}
}
