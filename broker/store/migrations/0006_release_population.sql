-- Who lives where in each year, per extract version: the population every
-- release is placed by, with each person-year's events folded in so that
-- "persons with an event in year Y" is a scan with a bit test instead of a
-- join over millions of events. Kept by broker/requests, filled year by
-- year on first use (broker/requests/sql/population_place.sql and the
-- builder in query.go); an extract's rows go when a newer extract is
-- placed. Earlier brokers created these tables at run time without the
-- event columns: they only ever held a cache, so they are rebuilt.
DROP TABLE IF EXISTS release_person_year;
DROP TABLE IF EXISTS release_person_year_filled;

-- Per event dataset D: D_n is the number of D's events of the person in
-- the year (0 for none), and D_<dimension> the set of the dimension's
-- categories among them, bit i for the catalogue's i-th category (in
-- catalogue order, the total excluded), bit 62 for a code the catalogue
-- does not know.
CREATE TABLE release_person_year (
    extract_id   INTEGER NOT NULL,
    year         INTEGER NOT NULL,
    pid          UBIGINT NOT NULL,
    sex          VARCHAR NOT NULL,
    record_key   UINTEGER NOT NULL,
    municipality VARCHAR NOT NULL,
    district     VARCHAR,              -- Bergen only: the bydel, or 4601_U when not known
    age          INTEGER NOT NULL,     -- the age reached during the year
    gp_contact_n             INTEGER NOT NULL DEFAULT 0,
    gp_contact_icpc2_chapter UBIGINT NOT NULL DEFAULT 0,
    gp_contact_service       UBIGINT NOT NULL DEFAULT 0,
    gp_contact_contact_type  UBIGINT NOT NULL DEFAULT 0,
    vaccination_n            INTEGER NOT NULL DEFAULT 0,
    vaccination_vaccine      UBIGINT NOT NULL DEFAULT 0,
    vaccination_dose         UBIGINT NOT NULL DEFAULT 0,
    growth_n                 INTEGER NOT NULL DEFAULT 0,
    growth_check_type        UBIGINT NOT NULL DEFAULT 0,
    care_n                   INTEGER NOT NULL DEFAULT 0,
    care_care_service        UBIGINT NOT NULL DEFAULT 0
);
CREATE TABLE release_person_year_filled (
    extract_id INTEGER NOT NULL,
    year       INTEGER NOT NULL,
    PRIMARY KEY (extract_id, year)
);
