-- name: duplicates
-- Exact duplicates among a dataset's clean rows: the first occurrence is
-- kept, every later one is quarantined naming the line it repeats. Rows
-- are grouped by the hash of their values (one integer: cheap), and the
-- few groups with more than one row are confirmed column by column, so a
-- hash collision can never drop a row.
CREATE OR REPLACE TEMP TABLE dup AS
SELECT 'population' AS dataset, c.line, f.line AS first
FROM (SELECT h, min(line) AS first FROM chk_population WHERE problem IS NULL GROUP BY h HAVING count(*) > 1) g
JOIN chk_population f ON f.line = g.first
JOIN chk_population c ON c.h = g.h AND c.problem IS NULL AND c.line <> g.first
WHERE c.pid IS NOT DISTINCT FROM f.pid AND c.sex IS NOT DISTINCT FROM f.sex AND c.death_month IS NOT DISTINCT FROM f.death_month AND c.municipality IS NOT DISTINCT FROM f.municipality AND c.district IS NOT DISTINCT FROM f.district AND c.moved_in IS NOT DISTINCT FROM f.moved_in AND c.moved_out IS NOT DISTINCT FROM f.moved_out
UNION ALL
SELECT 'growth' AS dataset, c.line, f.line AS first
FROM (SELECT h, min(line) AS first FROM chk_growth WHERE problem IS NULL GROUP BY h HAVING count(*) > 1) g
JOIN chk_growth f ON f.line = g.first
JOIN chk_growth c ON c.h = g.h AND c.problem IS NULL AND c.line <> g.first
WHERE c.pid IS NOT DISTINCT FROM f.pid AND c.municipality IS NOT DISTINCT FROM f.municipality AND c.check_type IS NOT DISTINCT FROM f.check_type AND c.measured_on IS NOT DISTINCT FROM f.measured_on AND c.height_cm IS NOT DISTINCT FROM f.height_cm AND c.weight_kg IS NOT DISTINCT FROM f.weight_kg
UNION ALL
SELECT 'vaccination' AS dataset, c.line, f.line AS first
FROM (SELECT h, min(line) AS first FROM chk_vaccination WHERE problem IS NULL GROUP BY h HAVING count(*) > 1) g
JOIN chk_vaccination f ON f.line = g.first
JOIN chk_vaccination c ON c.h = g.h AND c.problem IS NULL AND c.line <> g.first
WHERE c.pid IS NOT DISTINCT FROM f.pid AND c.municipality IS NOT DISTINCT FROM f.municipality AND c.vaccine IS NOT DISTINCT FROM f.vaccine AND c.dose IS NOT DISTINCT FROM f.dose AND c.vaccinated_on IS NOT DISTINCT FROM f.vaccinated_on
UNION ALL
SELECT 'gp_contact' AS dataset, c.line, f.line AS first
FROM (SELECT h, min(line) AS first FROM chk_gp_contact WHERE problem IS NULL GROUP BY h HAVING count(*) > 1) g
JOIN chk_gp_contact f ON f.line = g.first
JOIN chk_gp_contact c ON c.h = g.h AND c.problem IS NULL AND c.line <> g.first
WHERE c.pid IS NOT DISTINCT FROM f.pid AND c.municipality IS NOT DISTINCT FROM f.municipality AND c.contact_date IS NOT DISTINCT FROM f.contact_date AND c.icpc2 IS NOT DISTINCT FROM f.icpc2 AND c.service IS NOT DISTINCT FROM f.service AND c.contact_type IS NOT DISTINCT FROM f.contact_type
UNION ALL
SELECT 'care' AS dataset, c.line, f.line AS first
FROM (SELECT h, min(line) AS first FROM chk_care WHERE problem IS NULL GROUP BY h HAVING count(*) > 1) g
JOIN chk_care f ON f.line = g.first
JOIN chk_care c ON c.h = g.h AND c.problem IS NULL AND c.line <> g.first
WHERE c.pid IS NOT DISTINCT FROM f.pid AND c.municipality IS NOT DISTINCT FROM f.municipality AND c.service_type IS NOT DISTINCT FROM f.service_type AND c.decision_start IS NOT DISTINCT FROM f.decision_start AND c.decision_end IS NOT DISTINCT FROM f.decision_end;

-- name: replace
-- Replace the pulled tables with the checked extract. Runs inside the
-- pull's transaction: either all of it becomes visible or none.
DELETE FROM person;
DELETE FROM residence;
DELETE FROM growth;
DELETE FROM vaccination;
DELETE FROM gp_contact;
DELETE FROM care_decision;
INSERT INTO person
SELECT pid, any_value(birth_year), any_value(birth_month), any_value(sex), max(death_month), any_value(record_key)
FROM chk_population WHERE problem IS NULL GROUP BY pid;
INSERT INTO residence
SELECT pid, municipality, district, moved_in, moved_out FROM chk_population c
WHERE problem IS NULL AND NOT EXISTS (SELECT 1 FROM dup d WHERE d.dataset = 'population' AND d.line = c.line)
ORDER BY pid, moved_in;
INSERT INTO growth
SELECT pid, municipality, check_type, measured_on, height_cm, weight_kg FROM chk_growth c
WHERE problem IS NULL AND NOT EXISTS (SELECT 1 FROM dup d WHERE d.dataset = 'growth' AND d.line = c.line);
INSERT INTO vaccination
SELECT pid, municipality, vaccine, dose, vaccinated_on FROM chk_vaccination c
WHERE problem IS NULL AND NOT EXISTS (SELECT 1 FROM dup d WHERE d.dataset = 'vaccination' AND d.line = c.line);
INSERT INTO gp_contact
SELECT pid, municipality, contact_date, icpc2, service, contact_type FROM chk_gp_contact c
WHERE problem IS NULL AND NOT EXISTS (SELECT 1 FROM dup d WHERE d.dataset = 'gp_contact' AND d.line = c.line);
INSERT INTO care_decision
SELECT pid, municipality, service_type, decision_start, decision_end FROM chk_care c
WHERE problem IS NULL AND NOT EXISTS (SELECT 1 FROM dup d WHERE d.dataset = 'care' AND d.line = c.line);

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
DROP TABLE IF EXISTS temp.code_municipality;
DROP TABLE IF EXISTS temp.code_district;
DROP TABLE IF EXISTS temp.code_vaccine;
DROP TABLE IF EXISTS temp.code_icpc2;
DROP TABLE IF EXISTS temp.code_map;
DROP TABLE IF EXISTS temp.pull_ctx;
