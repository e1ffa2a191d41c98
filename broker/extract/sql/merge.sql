-- Loading the checked rows of one source into the pulled tables, inside
-- the pull's transaction: either all of it becomes visible or none.
--
-- Every statement is one dataset's and binds the source's key (?, the sid
-- of its name in source_key, migration 0009). A
-- full snapshot first deletes the source's rows of the dataset ("clear");
-- a change set deletes only the rows of the records it carries again
-- ("forget": changed, now skipped or now failing records alike) and then
-- inserts the clean rows ("insert"). Rows of other sources stay.
--
-- {rid} and {join} are filled in by merge.go: for a source with record
-- ids, the id of each row's record from rid_<dataset> (line → id, loaded
-- from the source's RecordIDs), else NULL and nothing to join. Duplicates
-- are removed with an explicit anti-join on the line (see load.sql).

-- name: clear population
DELETE FROM residence WHERE sid = ?;
-- name: clear person
DELETE FROM person WHERE sid = ?;
-- name: clear growth
DELETE FROM growth WHERE sid = ?;
-- name: clear vaccination
DELETE FROM vaccination WHERE sid = ?;
-- name: clear gp_contact
DELETE FROM gp_contact WHERE sid = ?;
-- name: clear care
DELETE FROM care_decision WHERE sid = ?;

-- name: forget population
DELETE FROM residence WHERE sid = ? AND rid IN (SELECT rid FROM rid_population);
-- name: forget growth
DELETE FROM growth WHERE sid = ? AND rid IN (SELECT rid FROM rid_growth);
-- name: forget vaccination
DELETE FROM vaccination WHERE sid = ? AND rid IN (SELECT rid FROM rid_vaccination);
-- name: forget gp_contact
DELETE FROM gp_contact WHERE sid = ? AND rid IN (SELECT rid FROM rid_gp_contact);
-- name: forget care
DELETE FROM care_decision WHERE sid = ? AND rid IN (SELECT rid FROM rid_care);

-- name: forget person
-- A person is derived from their population records: the persons a change
-- set carries are derived again, and a person none of whose records is
-- left (their record now names someone else, or fails) goes.
DELETE FROM person WHERE sid = ? AND (pid IN (SELECT pid FROM chk_population WHERE problem IS NULL)
    OR pid NOT IN (SELECT pid FROM residence WHERE sid = ?));

-- name: insert person
INSERT INTO person (pid, birth_year, birth_month, sex, death_month, record_key, sid, rid)
SELECT pid, any_value(birth_year), any_value(birth_month), any_value(sex), max(death_month), any_value(record_key), ?, NULL
FROM chk_population WHERE problem IS NULL GROUP BY pid;

-- name: insert population
INSERT INTO residence (pid, municipality, district, moved_in, moved_out, sid, rid)
SELECT c.pid, c.municipality, c.district, c.moved_in, c.moved_out, ?, {rid} FROM chk_population c {join}
ANTI JOIN (SELECT line FROM dup WHERE dataset = 'population') d ON d.line = c.line
WHERE c.problem IS NULL
ORDER BY c.pid, c.moved_in;

-- name: insert growth
INSERT INTO growth (pid, municipality, check_type, measured_on, height_cm, weight_kg, sid, rid)
SELECT c.pid, c.municipality, c.check_type, c.measured_on, c.height_cm, c.weight_kg, ?, {rid} FROM chk_growth c {join}
ANTI JOIN (SELECT line FROM dup WHERE dataset = 'growth') d ON d.line = c.line
WHERE c.problem IS NULL;

-- name: insert vaccination
INSERT INTO vaccination (pid, municipality, vaccine, dose, vaccinated_on, sid, rid)
SELECT c.pid, c.municipality, c.vaccine, c.dose, c.vaccinated_on, ?, {rid} FROM chk_vaccination c {join}
ANTI JOIN (SELECT line FROM dup WHERE dataset = 'vaccination') d ON d.line = c.line
WHERE c.problem IS NULL;

-- name: insert gp_contact
INSERT INTO gp_contact (pid, municipality, contact_date, icpc2, service, contact_type, sid, rid)
SELECT c.pid, c.municipality, c.contact_date, c.icpc2, c.service, c.contact_type, ?, {rid} FROM chk_gp_contact c {join}
ANTI JOIN (SELECT line FROM dup WHERE dataset = 'gp_contact') d ON d.line = c.line
WHERE c.problem IS NULL;

-- name: insert care
INSERT INTO care_decision (pid, municipality, service_type, decision_start, decision_end, sid, rid)
SELECT c.pid, c.municipality, c.service_type, c.decision_start, c.decision_end, ?, {rid} FROM chk_care c {join}
ANTI JOIN (SELECT line FROM dup WHERE dataset = 'care') d ON d.line = c.line
WHERE c.problem IS NULL;

-- name: population owner
-- One row per person: the population can come from one source only.
SELECT k.name FROM person p JOIN source_key k ON k.sid = p.sid WHERE p.sid <> ? LIMIT 1;

-- name: resolve patients
-- A change set's records may refer to a Patient that did not change (so
-- is not in it) as "fhir-patient:<id>": the person the source's earlier
-- pulls found behind that id stands in for the identity. The birth date,
-- when the person is in the register, is known to the month only: the
-- first of the month.
UPDATE ident SET pid = r.pid, problem = NULL, birth = make_date(p.birth_year, p.birth_month, 1),
       male = p.sex = 'M', record_key = p.record_key
FROM source_person r LEFT JOIN person p ON p.pid = r.pid
WHERE r.src = ? AND ident.fnr = 'fhir-patient:' || r.rid;

-- name: unresolved patients
UPDATE ident SET pid = NULL, problem = 'refers to a Patient the source has not exported'
WHERE fnr LIKE 'fhir-patient:%' AND pid IS NULL;

-- name: person refs
-- The persons behind the ids the records referred to, as pseudonyms; the
-- identity numbers go at once.
CREATE OR REPLACE TEMP TABLE person_pid AS
SELECT r.rid, i.pid FROM person_ref r JOIN ident i ON i.fnr = r.fnr WHERE i.pid IS NOT NULL;

-- name: clear person refs
DELETE FROM source_person WHERE src = ?;

-- name: forget person refs
DELETE FROM source_person WHERE src = ? AND rid IN (SELECT rid FROM person_pid);

-- name: insert person refs
INSERT INTO source_person (src, rid, pid) SELECT ?, rid, pid FROM person_pid;

-- name: keep diagnoses
-- An Encounter that changed without its Condition keeps the diagnosis its
-- earlier version was loaded with.
UPDATE raw_gp_contact SET icpc2 = g.icpc2
FROM rid_gp_contact r, gp_contact g
WHERE raw_gp_contact.line = r.line AND g.sid = ? AND g.rid = r.rid AND raw_gp_contact.icpc2 IS NULL;

-- name: source key
-- The key of the source's name (source_key, migration 0009), created on
-- its first pull.
INSERT INTO source_key
SELECT (SELECT coalesce(max(sid), 0) + 1 FROM source_key), ?
WHERE NOT EXISTS (SELECT 1 FROM source_key WHERE name = ?);

-- name: source key of
SELECT sid FROM source_key WHERE name = ?;
