package folkekommune.decision_test

test_too_many_dimensions_denies if {
	r := patched([
		set_op("/resource/dataset", "gp_contact"),
		set_op("/resource/dimensions", ["municipality", "sex", "age_broad", "service", "contact_type"]),
	])
	denies(r, "too_many_dimensions")
}

test_too_many_dimensions_allows if {
	r := patched([
		set_op("/resource/dataset", "gp_contact"),
		set_op("/resource/dimensions", ["municipality", "sex", "age_broad", "service"]),
	])
	quiet(r, "too_many_dimensions")
}

test_district_population_too_small_denies if {
	# All nine municipalities: Masfjorden is the smallest.
	denies(patched([set_op("/resource/dimensions", ["district", "sex"])]), "district_population_too_small")

	# Bergen, but the request states a small population.
	denies(
		patched([
			set_op("/resource/dimensions", ["district", "sex"]),
			set_op("/resource/filters/municipality", ["4601"]),
			set_op("/resource/smallest_population", 4000),
		]),
		"district_population_too_small",
	)
}

test_district_population_too_small_allows if {
	quiet(
		patched([
			set_op("/resource/dimensions", ["district", "sex"]),
			set_op("/resource/filters/municipality", ["4601"]),
			set_op("/resource/smallest_population", 14500),
		]),
		"district_population_too_small",
	)
}

test_age_groups_too_fine_denies if {
	every m in ["4634", "4632", "4628"] {
		denies(
			patched([
				set_op("/resource/dimensions", ["age_10y", "sex"]),
				set_op("/resource/filters/municipality", [m]),
				set_op("/resource/smallest_population", 300000),
			]),
			"age_groups_too_fine",
		)
	}
	denies(
		patched([
			set_op("/resource/dimensions", ["age_single"]),
			set_op("/resource/filters/municipality", ["4627"]),
			set_op("/resource/smallest_population", 30000),
		]),
		"age_groups_too_fine",
	)
}

test_age_groups_too_fine_allows if {
	# The small municipalities get the broad bands.
	every m in ["4634", "4632", "4628"] {
		quiet(
			patched([
				set_op("/resource/dimensions", ["age_broad", "sex"]),
				set_op("/resource/filters/municipality", [m]),
				set_op("/resource/smallest_population", 1700),
			]),
			"age_groups_too_fine",
		)
	}
	quiet(
		patched([
			set_op("/resource/dimensions", ["age_5y"]),
			set_op("/resource/filters/municipality", ["4627"]),
			set_op("/resource/smallest_population", 30000),
		]),
		"age_groups_too_fine",
	)
}

releases(n) := [sprintf("2026-11-%02dT10:00:00Z", [i + 1]) | some i in numbers.range(0, n - 1)]

test_release_cap_reached_reviews if {
	reviews(patched([set_op("/context/releases", releases(10))]), "release_cap_reached")
}

test_release_cap_reached_allows if {
	quiet(patched([set_op("/context/releases", releases(9))]), "release_cap_reached")

	# Old releases fall out of the period.
	old := [sprintf("2026-0%d-01T10:00:00Z", [i]) | some i in numbers.range(1, 9)]
	quiet(patched([set_op("/context/releases", array.concat(old, releases(5)))]), "release_cap_reached")
}
