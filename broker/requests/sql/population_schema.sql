-- Who lives where in each year, per extract version: the population every
-- release is placed by. Filled year by year on first use (fill.sql), so a
-- request pays for placing the population once per extract, not per
-- query. Kept by broker/requests; an extract's rows go when a newer
-- extract is placed.
CREATE TABLE IF NOT EXISTS release_person_year (
    extract_id   INTEGER NOT NULL,
    year         INTEGER NOT NULL,
    pid          UBIGINT NOT NULL,
    sex          VARCHAR NOT NULL,
    record_key   UINTEGER NOT NULL,
    municipality VARCHAR NOT NULL,
    district     VARCHAR,              -- Bergen only: the bydel, or 4601_U when not known
    age          INTEGER NOT NULL      -- the age reached during the year
);
CREATE TABLE IF NOT EXISTS release_person_year_filled (
    extract_id INTEGER NOT NULL,
    year       INTEGER NOT NULL,
    PRIMARY KEY (extract_id, year)
);
