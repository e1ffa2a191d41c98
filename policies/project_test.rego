package folkekommune.decision_test

test_project_not_approved_denies if {
	denies(patched([set_op("/project/status", "submitted")]), "project_not_approved")
	denies(patched([set_op("/project/approved_at", "2026-12-01")]), "project_not_approved")
	denies(json.remove(base, ["/project/approved_at"]), "project_not_approved")
}

test_project_not_approved_allows if {
	quiet(base, "project_not_approved")

	# Approved this very day.
	quiet(patched([set_op("/project/approved_at", "2026-11-25")]), "project_not_approved")
}

test_project_expired_denies if {
	denies(patched([set_op("/project/end_date", "2026-11-24")]), "project_expired")
}

test_project_expired_allows if {
	# The end date itself is still inside the project.
	quiet(patched([set_op("/project/end_date", "2026-11-25")]), "project_expired")
}

test_not_project_member_denies if {
	denies(patched([set_op("/project/members", ["u-other"])]), "not_project_member")
	denies(patched([set_op("/project/members", [])]), "not_project_member")
}

test_not_project_member_allows if {
	quiet(base, "not_project_member")
}

test_research_without_rek_denies if {
	denies(json.remove(base, ["/project/rek"]), "research_without_rek")
	denies(patched([set_op("/project/rek", "pending")]), "research_without_rek")
}

test_research_without_rek_allows if {
	quiet(base, "research_without_rek")
	quiet(patched([set_op("/project/rek", "REK 2023/98765")]), "research_without_rek")

	# Governance needs no REK approval.
	quiet(governance, "research_without_rek")
}

test_purpose_without_legal_basis_denies if {
	# Quality improvement under the research exemption is the wrong basis.
	denies(patched([set_op("/project/purpose", "quality_improvement")]), "purpose_without_legal_basis")
	denies(json.patch(governance, [set_op("/project/legal_basis", "hpl-26")]), "purpose_without_legal_basis")
	denies(json.remove(governance, ["/project/legal_basis"]), "purpose_without_legal_basis")
	denies(patched([set_op("/project/purpose", "marketing")]), "purpose_without_legal_basis")
}

test_purpose_without_legal_basis_allows if {
	quiet(base, "purpose_without_legal_basis")
	quiet(governance, "purpose_without_legal_basis")
	quiet(patched([set_op("/project/purpose", "quality_improvement"), set_op("/project/legal_basis", "hpl-26")]), "purpose_without_legal_basis")
}
