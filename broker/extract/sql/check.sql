-- Validation of each dataset: one row per source row with its typed
-- values and the first problem found as 'field|reason', NULL when the row
-- is clean. Reads the views src_<dataset> (line + the source columns as
-- text).
--
-- Each text value is cast once in the inner query; the outer CASE tests
-- the cheap typed conditions first and builds the detailed message only
-- for rows that fail, since nearly all rows are clean. In the two largest
-- datasets the CASE's first branch takes a row whose typed values are all
-- good (it implies every later branch is false), so clean rows skip the
-- detailed CASE: a rule added below must be added to that branch too.

-- name: population
CREATE OR REPLACE TEMP TABLE chk_population AS
SELECT r.line, i.pid, year(i.birth)::SMALLINT AS birth_year, month(i.birth)::TINYINT AS birth_month,
       map_sex(r.kjonn) AS sex, date_trunc('month', r.dod)::DATE AS death_month,
       i.record_key, r.kommunenummer AS municipality, nullif(r.bydel, '') AS district,
       r.inn AS moved_in, r.ut AS moved_out,
       CASE
           WHEN coalesce(r.fodselsnummer, '') = '' THEN 'fodselsnummer|is missing'
           WHEN i.problem IS NOT NULL THEN 'fodselsnummer|' || i.problem
           WHEN bad_date(r.fodselsdato, r.fod, c.today, NULL) THEN 'fodselsdato|' || date_problem(r.fodselsdato, c.today, NULL)
           WHEN r.fod <> i.birth THEN 'fodselsdato|does not match the fødselsnummer'
           WHEN coalesce(r.kjonn, '') = '' THEN 'kjonn|is missing'
           WHEN map_sex(r.kjonn) IS NULL THEN 'kjonn|has an unknown code'
           WHEN (map_sex(r.kjonn) = 'M') <> i.male THEN 'kjonn|does not match the fødselsnummer'
           WHEN coalesce(r.kommunenummer, '') = '' THEN 'kommunenummer|is missing'
           WHEN NOT is_municipality(r.kommunenummer) THEN 'kommunenummer|is not a municipality of the collaboration'
           WHEN r.kommunenummer = '4601' AND coalesce(r.bydel, '') = '' THEN 'bydel|is missing for a Bergen resident'
           WHEN r.kommunenummer = '4601' AND NOT is_district(r.bydel) THEN 'bydel|is not a Bergen district'
           WHEN r.kommunenummer <> '4601' AND coalesce(r.bydel, '') <> '' THEN 'bydel|is given outside Bergen'
           WHEN bad_date(r.innflyttet, r.inn, c.today, i.birth) THEN 'innflyttet|' || date_problem(r.innflyttet, c.today, i.birth)
           WHEN bad_optional_date(r.utflyttet, r.ut, c.today, i.birth) THEN 'utflyttet|' || date_problem(r.utflyttet, c.today, i.birth)
           WHEN r.ut < r.inn THEN 'utflyttet|is before innflyttet'
           WHEN bad_optional_date(r.dodsdato, r.dod, c.today, i.birth) THEN 'dodsdato|' || date_problem(r.dodsdato, c.today, i.birth)
       END AS problem
FROM (SELECT *, try_cast(fodselsdato AS DATE) AS fod, try_cast(innflyttet AS DATE) AS inn,
             try_cast(utflyttet AS DATE) AS ut, try_cast(dodsdato AS DATE) AS dod FROM src_population) r
CROSS JOIN pull_ctx c
LEFT JOIN ident i ON i.fnr = r.fodselsnummer;

-- name: growth
CREATE OR REPLACE TEMP TABLE chk_growth AS
SELECT r.line, i.pid, r.kommunenummer AS municipality, map_check(r.kontroll) AS check_type,
       r.on_ AS measured_on, r.hc AS height_cm, r.wk AS weight_kg,
       CASE
           WHEN coalesce(r.fodselsnummer, '') = '' THEN 'fodselsnummer|is missing'
           WHEN i.problem IS NOT NULL THEN 'fodselsnummer|' || i.problem
           WHEN coalesce(r.kommunenummer, '') = '' THEN 'kommunenummer|is missing'
           WHEN NOT is_municipality(r.kommunenummer) THEN 'kommunenummer|is not a municipality of the collaboration'
           WHEN coalesce(r.kontroll, '') = '' THEN 'kontroll|is missing'
           WHEN map_check(r.kontroll) IS NULL THEN 'kontroll|has an unknown code'
           WHEN bad_date(r.maledato, r.on_, c.today, i.birth) THEN 'maledato|' || date_problem(r.maledato, c.today, i.birth)
           WHEN r.hc IS NULL OR r.hc NOT BETWEEN 40 AND 220 THEN 'hoyde_cm|' || number_problem(r.hoyde_cm, 40, 220)
           WHEN r.wk IS NULL OR r.wk NOT BETWEEN 5 AND 200 THEN 'vekt_kg|' || number_problem(r.vekt_kg, 5, 200)
           WHEN r.wk / (r.hc / 100) ^ 2 NOT BETWEEN 8 AND 70 THEN 'vekt_kg|gives an impossible BMI with hoyde_cm'
       END AS problem
FROM (SELECT *, try_cast(maledato AS DATE) AS on_, try_cast(hoyde_cm AS DOUBLE) AS hc,
             try_cast(vekt_kg AS DOUBLE) AS wk FROM src_growth) r
CROSS JOIN pull_ctx c
LEFT JOIN ident i ON i.fnr = r.fodselsnummer;

-- name: vaccination
CREATE OR REPLACE TEMP TABLE chk_vaccination AS
SELECT r.line, i.pid, r.kommunenummer AS municipality, CASE WHEN r.doses IS NOT NULL THEN r.vaksine END AS vaccine,
       r.dn::TINYINT AS dose, r.on_ AS vaccinated_on,
       CASE
           WHEN i.pid IS NOT NULL AND r.muni_ok AND r.dn BETWEEN 1 AND r.doses
                AND r.on_ <= c.today AND r.on_ >= i.birth AND r.vaksinasjonsdato LIKE '____-__-__' THEN NULL
           WHEN coalesce(r.fodselsnummer, '') = '' THEN 'fodselsnummer|is missing'
           WHEN i.problem IS NOT NULL THEN 'fodselsnummer|' || i.problem
           WHEN coalesce(r.kommunenummer, '') = '' THEN 'kommunenummer|is missing'
           WHEN NOT is_municipality(r.kommunenummer) THEN 'kommunenummer|is not a municipality of the collaboration'
           WHEN coalesce(r.vaksine, '') = '' THEN 'vaksine|is missing'
           WHEN vaccine_doses(r.vaksine) IS NULL THEN 'vaksine|has an unknown code'
           WHEN coalesce(r.dose, '') = '' THEN 'dose|is missing'
           WHEN r.dn IS NULL OR r.dn NOT BETWEEN 1 AND vaccine_doses(r.vaksine) THEN 'dose|is not a dose of the programme for this vaccine'
           WHEN bad_date(r.vaksinasjonsdato, r.on_, c.today, i.birth)
               THEN 'vaksinasjonsdato|' || date_problem(r.vaksinasjonsdato, c.today, i.birth)
       END AS problem
FROM (SELECT *, try_cast(dose AS INTEGER) AS dn, try_cast(vaksinasjonsdato AS DATE) AS on_, vaccine_doses(vaksine) AS doses,
             coalesce(is_municipality(kommunenummer), false) AS muni_ok FROM src_vaccination) r
CROSS JOIN pull_ctx c
LEFT JOIN ident i ON i.fnr = r.fodselsnummer;

-- name: gp_contact
-- The largest dataset: about 12 million rows at cluster scale. Its view
-- carries the values already typed (load.sql, "typed gp_contact"): the
-- codes as the ENUM types they are stored as, NULL where a text did not
-- convert, and the texts (a list in the file's column order) only for such
-- rows, so every condition tests the typed value first. A failing row's values are NULL: only its line and problem
-- are used.
CREATE OR REPLACE TEMP TABLE chk_gp_contact AS
SELECT r.line, i.pid, r.muni_e AS municipality, r.on_ AS contact_date,
       r.icpc_e AS icpc2, r.svc AS service, r.ct AS contact_type,
       CASE
           WHEN i.pid IS NOT NULL AND r.muni_e IS NOT NULL AND r.icpc_e IS NOT NULL AND r.svc IS NOT NULL AND r.ct IS NOT NULL
                AND r.on_ <= c.today AND r.on_ >= i.birth AND r.on_ >= DATE '1850-01-01' THEN NULL
           WHEN coalesce(r.fodselsnummer, '') = '' THEN 'fodselsnummer|is missing'
           WHEN i.problem IS NOT NULL THEN 'fodselsnummer|' || i.problem
           WHEN r.muni_e IS NULL AND coalesce(r.texts[1], '') = '' THEN 'kommunenummer|is missing'
           WHEN r.muni_e IS NULL THEN 'kommunenummer|is not a municipality of the collaboration'
           WHEN r.on_ IS NULL OR r.on_ > c.today OR r.on_ < DATE '1850-01-01' OR (i.birth IS NOT NULL AND r.on_ < i.birth)
               THEN 'kontaktdato|' || coalesce(date_problem(coalesce(r.texts[2], strftime(r.on_, '%Y-%m-%d')), c.today, i.birth),
                                               'is not a date in the form YYYY-MM-DD')
           WHEN r.icpc_e IS NULL AND coalesce(r.texts[3], '') = '' THEN 'icpc2|is missing'
           WHEN r.icpc_e IS NULL THEN 'icpc2|is not an ICPC-2 symptom or diagnosis code'
           WHEN r.svc IS NULL AND coalesce(r.texts[4], '') = '' THEN 'tjeneste|is missing'
           WHEN r.svc IS NULL THEN 'tjeneste|has an unknown code'
           WHEN r.ct IS NULL AND coalesce(r.texts[5], '') = '' THEN 'kontakttype|is missing'
           WHEN r.ct IS NULL THEN 'kontakttype|has an unknown code'
       END AS problem
FROM src_gp_contact r
CROSS JOIN pull_ctx c
LEFT JOIN ident i ON i.fnr = r.fodselsnummer;

-- name: care
CREATE OR REPLACE TEMP TABLE chk_care AS
SELECT r.line, i.pid, r.kommunenummer AS municipality, map_care(r.tjeneste) AS service_type,
       r.fra AS decision_start, r.til AS decision_end,
       CASE
           WHEN coalesce(r.fodselsnummer, '') = '' THEN 'fodselsnummer|is missing'
           WHEN i.problem IS NOT NULL THEN 'fodselsnummer|' || i.problem
           WHEN coalesce(r.kommunenummer, '') = '' THEN 'kommunenummer|is missing'
           WHEN NOT is_municipality(r.kommunenummer) THEN 'kommunenummer|is not a municipality of the collaboration'
           WHEN coalesce(r.tjeneste, '') = '' THEN 'tjeneste|is missing'
           WHEN map_care(r.tjeneste) IS NULL THEN 'tjeneste|has an unknown code'
           WHEN bad_date(r.vedtak_fra, r.fra, c.today, i.birth) THEN 'vedtak_fra|' || date_problem(r.vedtak_fra, c.today, i.birth)
           -- A decision's end may lie in the future: it is planned.
           WHEN bad_optional_date(r.vedtak_til, r.til, DATE '9999-12-31', i.birth)
               THEN 'vedtak_til|' || date_problem(r.vedtak_til, DATE '9999-12-31', i.birth)
           WHEN r.til < r.fra THEN 'vedtak_til|is before vedtak_fra'
       END AS problem
FROM (SELECT *, try_cast(vedtak_fra AS DATE) AS fra, try_cast(vedtak_til AS DATE) AS til FROM src_care) r
CROSS JOIN pull_ctx c
LEFT JOIN ident i ON i.fnr = r.fodselsnummer;
