-- Several sources, each owning its rows: a configured source may provide
-- only some datasets (the population register by file drop, GP contacts
-- over FHIR, care decisions from an SQL replica), and a pull replaces
-- (full snapshot) or upserts (incremental) only the rows of its own
-- source, in the datasets it provides.
--
-- src is the configured source's name ('' for a one-off pull from the
-- command line, which is what every row pulled before this migration
-- was); rid is the source system's own id of the record the row came
-- from (FHIR Resource.id of the Patient, Observation, Immunization,
-- Encounter or EpisodeOfCare), NULL for a source without ids (a file
-- drop), whose pulls are always full snapshots. person rows have no rid:
-- a person is derived from their population records.
ALTER TABLE person ADD COLUMN src VARCHAR DEFAULT '';
ALTER TABLE person ADD COLUMN rid VARCHAR;
ALTER TABLE residence ADD COLUMN src VARCHAR DEFAULT '';
ALTER TABLE residence ADD COLUMN rid VARCHAR;
ALTER TABLE growth ADD COLUMN src VARCHAR DEFAULT '';
ALTER TABLE growth ADD COLUMN rid VARCHAR;
ALTER TABLE vaccination ADD COLUMN src VARCHAR DEFAULT '';
ALTER TABLE vaccination ADD COLUMN rid VARCHAR;
ALTER TABLE gp_contact ADD COLUMN src VARCHAR DEFAULT '';
ALTER TABLE gp_contact ADD COLUMN rid VARCHAR;
ALTER TABLE care_decision ADD COLUMN src VARCHAR DEFAULT '';
ALTER TABLE care_decision ADD COLUMN rid VARCHAR;

-- The extract registry per source. source_name is the configured
-- source's name ('' for one-off pulls); mode says whether the pull
-- replaced the source's rows ('full') or upserted a change set
-- ('incremental'); mark is the source's high-water mark after the pull
-- (FHIR: the export's transactionTime), written in the same transaction
-- as the data so that the next incremental pull asks for exactly what
-- came after what is loaded; datasets lists what the pull provided.
--
-- The table is made anew rather than altered: DuckDB cannot replay an
-- ALTER TABLE ... ADD COLUMN on a table with a nextval() default from
-- its write-ahead log ("GetDefaultDatabase with no default database
-- set"), so a broker killed after this migration and before the next
-- checkpoint could not open its database again. CREATE, INSERT, DROP and
-- RENAME replay fine (kill_test.go in cmd/folkekommune kills pulls).
CREATE TABLE extract_0007 (
    id               INTEGER PRIMARY KEY DEFAULT nextval('extract_id_seq'),
    source           VARCHAR NOT NULL,
    connector        VARCHAR NOT NULL,
    fingerprint      VARCHAR NOT NULL,
    status           VARCHAR NOT NULL CHECK (status IN ('running', 'loaded', 'failed', 'unchanged')),
    started_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ,
    rows_read        BIGINT NOT NULL DEFAULT 0,
    rows_loaded      BIGINT NOT NULL DEFAULT 0,
    rows_quarantined BIGINT NOT NULL DEFAULT 0,
    message          VARCHAR NOT NULL DEFAULT '',
    source_name      VARCHAR NOT NULL DEFAULT '',
    mode             VARCHAR NOT NULL DEFAULT 'full' CHECK (mode IN ('full', 'incremental')),
    mark             VARCHAR NOT NULL DEFAULT '',
    datasets         VARCHAR NOT NULL DEFAULT ''
);
INSERT INTO extract_0007 (id, source, connector, fingerprint, status, started_at, finished_at, rows_read, rows_loaded, rows_quarantined, message)
SELECT id, source, connector, fingerprint, status, started_at, finished_at, rows_read, rows_loaded, rows_quarantined, message FROM extract;
DROP TABLE extract;
ALTER TABLE extract_0007 RENAME TO extract;

-- The persons a source's records refer to by the source's own id (FHIR
-- Patient.id), as pseudonyms: a change set's records may refer to a
-- Patient the change set does not carry, and a source of GP contacts may
-- refer to persons whose register another source provides.
CREATE TABLE source_person (
    src VARCHAR NOT NULL,
    rid VARCHAR NOT NULL,
    pid UBIGINT NOT NULL
);
