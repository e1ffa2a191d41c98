-- Which source a pulled row came from, as a two-byte key instead of the
-- source's name on every row.
--
-- Migration 0007 gave every pulled table a src column holding the
-- configured source's name. Repeated on each of 15 million rows, that one
-- constant text column cost a cluster pull about 0.7 s of writing (DuckDB
-- analyses every text column for its codecs, constant or not); a small
-- integer costs under 0.1 s. The names live once, in source_key; key 0 is
-- '' (one-off pulls from the command line), which is what a row inserted
-- without a key belongs to. source_person keeps the name: it holds one row
-- per patient of a FHIR source, not per event.
--
-- The tables are rebuilt rather than altered: DuckDB refuses to commit a
-- transaction that adds a column to a table and then updates it.
CREATE TABLE source_key (
    sid  USMALLINT PRIMARY KEY,
    name VARCHAR NOT NULL UNIQUE
);
INSERT INTO source_key VALUES (0, '');
INSERT INTO source_key
SELECT row_number() OVER (ORDER BY name), name FROM (
    SELECT src AS name FROM person UNION SELECT src FROM residence UNION SELECT src FROM growth
    UNION SELECT src FROM vaccination UNION SELECT src FROM gp_contact UNION SELECT src FROM care_decision
    UNION SELECT src FROM source_person UNION SELECT source_name FROM extract
) WHERE coalesce(name, '') <> '';

CREATE TABLE person_0009 (
    pid         UBIGINT NOT NULL,
    birth_year  SMALLINT NOT NULL,
    birth_month TINYINT NOT NULL,
    sex         VARCHAR NOT NULL CHECK (sex IN ('M', 'F')),
    death_month DATE,
    record_key  UINTEGER NOT NULL,
    sid USMALLINT NOT NULL DEFAULT 0,
    rid VARCHAR
);
INSERT INTO person_0009
SELECT t.pid, t.birth_year, t.birth_month, t.sex, t.death_month, t.record_key, k.sid, t.rid
FROM person t JOIN source_key k ON k.name = coalesce(t.src, '');
DROP TABLE person;
ALTER TABLE person_0009 RENAME TO person;

CREATE TABLE residence_0009 (
    pid          UBIGINT NOT NULL,
    municipality VARCHAR NOT NULL,
    district     VARCHAR,
    moved_in     DATE NOT NULL,
    moved_out    DATE,
    sid USMALLINT NOT NULL DEFAULT 0,
    rid VARCHAR
);
INSERT INTO residence_0009
SELECT t.pid, t.municipality, t.district, t.moved_in, t.moved_out, k.sid, t.rid
FROM residence t JOIN source_key k ON k.name = coalesce(t.src, '');
DROP TABLE residence;
ALTER TABLE residence_0009 RENAME TO residence;

CREATE TABLE growth_0009 (
    pid          UBIGINT NOT NULL,
    municipality VARCHAR NOT NULL,
    check_type   VARCHAR NOT NULL CHECK (check_type IN ('age4', 'grade3', 'grade8')),
    measured_on  DATE NOT NULL,
    height_cm    DOUBLE NOT NULL,
    weight_kg    DOUBLE NOT NULL,
    sid USMALLINT NOT NULL DEFAULT 0,
    rid VARCHAR
);
INSERT INTO growth_0009
SELECT t.pid, t.municipality, t.check_type, t.measured_on, t.height_cm, t.weight_kg, k.sid, t.rid
FROM growth t JOIN source_key k ON k.name = coalesce(t.src, '');
DROP TABLE growth;
ALTER TABLE growth_0009 RENAME TO growth;

CREATE TABLE vaccination_0009 (
    pid           UBIGINT NOT NULL,
    municipality  VARCHAR NOT NULL,
    vaccine       VARCHAR NOT NULL,
    dose          TINYINT NOT NULL,
    vaccinated_on DATE NOT NULL,
    sid USMALLINT NOT NULL DEFAULT 0,
    rid VARCHAR
);
INSERT INTO vaccination_0009
SELECT t.pid, t.municipality, t.vaccine, t.dose, t.vaccinated_on, k.sid, t.rid
FROM vaccination t JOIN source_key k ON k.name = coalesce(t.src, '');
DROP TABLE vaccination;
ALTER TABLE vaccination_0009 RENAME TO vaccination;

CREATE TABLE gp_contact_0009 (
    pid          UBIGINT NOT NULL,
    municipality kommunenummer_enum NOT NULL,
    contact_date DATE NOT NULL,
    icpc2        icpc2_enum NOT NULL,
    service      gp_service_enum NOT NULL,
    contact_type contact_type_enum NOT NULL,
    sid USMALLINT NOT NULL DEFAULT 0,
    rid VARCHAR
);
INSERT INTO gp_contact_0009
SELECT t.pid, t.municipality, t.contact_date, t.icpc2, t.service, t.contact_type, k.sid, t.rid
FROM gp_contact t JOIN source_key k ON k.name = coalesce(t.src, '');
DROP TABLE gp_contact;
ALTER TABLE gp_contact_0009 RENAME TO gp_contact;

CREATE TABLE care_decision_0009 (
    pid            UBIGINT NOT NULL,
    municipality   VARCHAR NOT NULL,
    service_type   VARCHAR NOT NULL,
    decision_start DATE NOT NULL,
    decision_end   DATE,
    sid USMALLINT NOT NULL DEFAULT 0,
    rid VARCHAR
);
INSERT INTO care_decision_0009
SELECT t.pid, t.municipality, t.service_type, t.decision_start, t.decision_end, k.sid, t.rid
FROM care_decision t JOIN source_key k ON k.name = coalesce(t.src, '');
DROP TABLE care_decision;
ALTER TABLE care_decision_0009 RENAME TO care_decision;
