-- name: duplicates
-- Exact duplicates among a dataset's clean rows: the first occurrence is
-- kept, every later one is quarantined naming the line it repeats. Two
-- equal rows are the same person on the same date, so only rows whose hash
-- of person and date occurs more than once are candidates: sorted, such a
-- hash is followed by itself (one integer per row to compute and sort,
-- cheaper than hashing every column, and than a hash table of millions of
-- groups that are nearly all single rows). The hash is cut to 32 bits
-- (dup_key, prepare.sql), which sorts 12 million rows in two thirds of the
-- time; the few thousand more candidates its collisions let in are sorted
-- out by the comparison below. Among those few, rows are
-- compared on every column, so neither a hash collision nor two different
-- visits on one day can drop a row or hide a duplicate.
CREATE OR REPLACE TEMP TABLE dup AS
SELECT 'population' AS dataset, line, first FROM (
    SELECT line, min(line) OVER (PARTITION BY pid, sex, death_month, municipality, district, moved_in, moved_out) AS first
    FROM chk_population
    WHERE problem IS NULL AND dup_key(pid, moved_in) IN (
        SELECT h FROM (
            SELECT h, lead(h) OVER (ORDER BY h) AS next
            FROM (SELECT dup_key(pid, moved_in) AS h FROM chk_population WHERE problem IS NULL))
        WHERE h = next)
) WHERE line <> first
UNION ALL
SELECT 'growth' AS dataset, line, first FROM (
    SELECT line, min(line) OVER (PARTITION BY pid, municipality, check_type, measured_on, height_cm, weight_kg) AS first
    FROM chk_growth
    WHERE problem IS NULL AND dup_key(pid, measured_on) IN (
        SELECT h FROM (
            SELECT h, lead(h) OVER (ORDER BY h) AS next
            FROM (SELECT dup_key(pid, measured_on) AS h FROM chk_growth WHERE problem IS NULL))
        WHERE h = next)
) WHERE line <> first
UNION ALL
SELECT 'vaccination' AS dataset, line, first FROM (
    SELECT line, min(line) OVER (PARTITION BY pid, municipality, vaccine, dose, vaccinated_on) AS first
    FROM chk_vaccination
    WHERE problem IS NULL AND dup_key(pid, vaccinated_on) IN (
        SELECT h FROM (
            SELECT h, lead(h) OVER (ORDER BY h) AS next
            FROM (SELECT dup_key(pid, vaccinated_on) AS h FROM chk_vaccination WHERE problem IS NULL))
        WHERE h = next)
) WHERE line <> first
UNION ALL
SELECT 'gp_contact' AS dataset, line, first FROM (
    SELECT line, min(line) OVER (PARTITION BY pid, municipality, contact_date, icpc2, service, contact_type) AS first
    FROM chk_gp_contact
    WHERE problem IS NULL AND dup_key(pid, contact_date) IN (
        SELECT h FROM (
            SELECT h, lead(h) OVER (ORDER BY h) AS next
            FROM (SELECT dup_key(pid, contact_date) AS h FROM chk_gp_contact WHERE problem IS NULL))
        WHERE h = next)
) WHERE line <> first
UNION ALL
SELECT 'care' AS dataset, line, first FROM (
    SELECT line, min(line) OVER (PARTITION BY pid, municipality, service_type, decision_start, decision_end) AS first
    FROM chk_care
    WHERE problem IS NULL AND dup_key(pid, decision_start) IN (
        SELECT h FROM (
            SELECT h, lead(h) OVER (ORDER BY h) AS next
            FROM (SELECT dup_key(pid, decision_start) AS h FROM chk_care WHERE problem IS NULL))
        WHERE h = next)
) WHERE line <> first;

-- name: typed gp_contact
-- The contacts' values typed as they are staged: 12 million rows of six
-- texts cost more to keep in a working table than the same rows as an
-- identity number, a date and four ENUM codes, and each value is then
-- converted once. The texts are kept, as one list in the order of the
-- file's columns (kommunenummer, kontaktdato, icpc2, tjeneste,
-- kontakttype), only for a row where a value did not convert (or is a date
-- before 1850), for the check's message. raw.go fills in the staged
-- relation and whether a line column passes through.
-- The date must be written YYYY-MM-DD (the form checked before the cast,
-- which would also take 2015-1-5).
SELECT {line}fodselsnummer, muni_e, on_, icpc_e, svc, ct,
       CASE WHEN muni_e IS NULL OR on_ IS NULL OR on_ < DATE '1850-01-01' OR icpc_e IS NULL OR svc IS NULL OR ct IS NULL
            THEN [kommunenummer, kontaktdato, icpc2, tjeneste, kontakttype] END AS texts
FROM (SELECT *, municipality_code(kommunenummer) AS muni_e,
             CASE WHEN kontaktdato LIKE '____-__-__' THEN try_cast(kontaktdato AS DATE) END AS on_,
             icpc2_code(icpc2) AS icpc_e, service_code(tjeneste) AS svc, contact_code(kontakttype) AS ct
      FROM {from})

-- name: drop raw
DROP VIEW IF EXISTS temp.src_population;
DROP VIEW IF EXISTS temp.src_growth;
DROP VIEW IF EXISTS temp.src_vaccination;
DROP VIEW IF EXISTS temp.src_gp_contact;
DROP VIEW IF EXISTS temp.src_care;
DROP TABLE IF EXISTS temp.raw_population;
DROP TABLE IF EXISTS temp.raw_growth;
DROP TABLE IF EXISTS temp.raw_vaccination;
DROP TABLE IF EXISTS temp.raw_gp_contact;
DROP TABLE IF EXISTS temp.raw_care;
DROP TABLE IF EXISTS temp.ident;

-- name: cleanup
DROP VIEW IF EXISTS temp.src_population;
DROP VIEW IF EXISTS temp.src_growth;
DROP VIEW IF EXISTS temp.src_vaccination;
DROP VIEW IF EXISTS temp.src_gp_contact;
DROP VIEW IF EXISTS temp.src_care;
DROP TABLE IF EXISTS temp.raw_population;
DROP TABLE IF EXISTS temp.raw_growth;
DROP TABLE IF EXISTS temp.raw_vaccination;
DROP TABLE IF EXISTS temp.raw_gp_contact;
DROP TABLE IF EXISTS temp.raw_care;
DROP TABLE IF EXISTS temp.chk_population;
DROP TABLE IF EXISTS temp.chk_growth;
DROP TABLE IF EXISTS temp.chk_vaccination;
DROP TABLE IF EXISTS temp.chk_gp_contact;
DROP TABLE IF EXISTS temp.chk_care;
DROP TABLE IF EXISTS temp.dup;
DROP TABLE IF EXISTS temp.ident;
DROP TABLE IF EXISTS temp.pull_ctx;
