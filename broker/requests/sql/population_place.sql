-- The population of one extract in the years [?, ?]: a person belongs, in
-- year Y, to the municipality and district of the residence period
-- covering 1 January of Y, if alive then, with the age Y minus the birth
-- year: the placement the indicators use. Parameters: extract id, first
-- year, last year, last year. The builder in query.go joins each person-
-- year's events to these rows and inserts them into release_person_year.
SELECT CAST(? AS INTEGER) AS extract_id, CAST(y AS INTEGER) AS year, pid, sex, record_key, municipality,
       CASE WHEN municipality = '4601' THEN coalesce(district, '4601_U') END AS district,
       CAST(y - birth_year AS INTEGER) AS age
FROM (
  SELECT p.pid, p.sex, p.birth_year, p.death_month, p.record_key, r.municipality, r.district,
         unnest(generate_series(
           greatest(year(r.moved_in - INTERVAL 1 DAY) + 1, CAST(? AS BIGINT)),
           least(coalesce(year(r.moved_out - INTERVAL 1 DAY), CAST(? AS BIGINT)), CAST(? AS BIGINT)))) AS y
  FROM residence r JOIN person p ON p.pid = r.pid)
WHERE death_month IS NULL OR death_month >= make_date(y, 1, 1)
