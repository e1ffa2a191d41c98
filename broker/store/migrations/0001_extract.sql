-- The extract registry, the quarantine and the pulled, pseudonymised tables.
--
-- The pulled tables hold the current extract version only: a pull replaces
-- their contents in one transaction. Persons are identified by pid, the
-- first 64 bits of HMAC-SHA256(pseudonymisation key, fødselsnummer); the raw
-- number never reaches this database. Only what indicators need is kept:
-- birth year and month, not the birth date.

CREATE SEQUENCE extract_id_seq START 1;

-- One row per pull attempt, whatever its outcome.
CREATE TABLE extract (
    id               INTEGER PRIMARY KEY DEFAULT nextval('extract_id_seq'),
    source           VARCHAR NOT NULL,              -- connector kind and location
    connector        VARCHAR NOT NULL,              -- 'filedrop', later 'fhir', 'sql'
    fingerprint      VARCHAR NOT NULL,              -- SHA-256 over the sorted file checksums
    status           VARCHAR NOT NULL CHECK (status IN ('running', 'loaded', 'failed', 'unchanged')),
    started_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ,
    rows_read        BIGINT NOT NULL DEFAULT 0,
    rows_loaded      BIGINT NOT NULL DEFAULT 0,
    rows_quarantined BIGINT NOT NULL DEFAULT 0,
    message          VARCHAR NOT NULL DEFAULT ''
);

-- One row per file of an extract.
CREATE TABLE extract_file (
    extract_id       INTEGER NOT NULL,
    dataset          VARCHAR NOT NULL,              -- population, growth, vaccination, gp_contact, care
    path             VARCHAR NOT NULL,              -- relative to the drop folder
    sha256           VARCHAR NOT NULL,
    bytes            BIGINT NOT NULL,
    rows_read        BIGINT NOT NULL DEFAULT 0,
    rows_loaded      BIGINT NOT NULL DEFAULT 0,
    rows_quarantined BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (extract_id, path)
);

-- Rows refused by validation. No raw identifier is stored: the line number
-- lets the source system's owner find the row in their own file.
CREATE TABLE quarantine (
    extract_id INTEGER NOT NULL,
    dataset    VARCHAR NOT NULL,
    file       VARCHAR NOT NULL,
    line       BIGINT NOT NULL,
    field      VARCHAR NOT NULL,                     -- the offending column, or '' for the whole row
    reason     VARCHAR NOT NULL
);

-- Population register: one row per person.
CREATE TABLE person (
    pid         UBIGINT NOT NULL,
    birth_year  SMALLINT NOT NULL,
    birth_month TINYINT NOT NULL,
    sex         VARCHAR NOT NULL CHECK (sex IN ('M', 'F')),   -- SDMX sex codes
    death_month DATE,                                          -- first day of the month of death
    record_key  UINTEGER NOT NULL                              -- cell-key record key, uniform on [0, 2^32)
);

-- Population register: residence periods (a person who moved has several).
CREATE TABLE residence (
    pid          UBIGINT NOT NULL,
    municipality VARCHAR NOT NULL,     -- kommunenummer (2024)
    district     VARCHAR,              -- Bergen bydel, 4601xx; NULL outside Bergen
    moved_in     DATE NOT NULL,
    moved_out    DATE                  -- NULL while still resident
);

-- Health station and school health: height and weight at routine checks.
CREATE TABLE growth (
    pid          UBIGINT NOT NULL,
    municipality VARCHAR NOT NULL,
    check_type   VARCHAR NOT NULL CHECK (check_type IN ('age4', 'grade3', 'grade8')),
    measured_on  DATE NOT NULL,
    height_cm    DOUBLE NOT NULL,
    weight_kg    DOUBLE NOT NULL
);

-- Health station and school health: vaccinations in the childhood programme.
CREATE TABLE vaccination (
    pid           UBIGINT NOT NULL,
    municipality  VARCHAR NOT NULL,
    vaccine       VARCHAR NOT NULL,    -- catalogue code list 'vaccine'
    dose          TINYINT NOT NULL,
    vaccinated_on DATE NOT NULL
);

-- GP and emergency-room contacts (KUHR-like).
CREATE TABLE gp_contact (
    pid          UBIGINT NOT NULL,
    municipality VARCHAR NOT NULL,
    contact_date DATE NOT NULL,
    icpc2        VARCHAR NOT NULL,     -- e.g. 'P76'
    service      VARCHAR NOT NULL CHECK (service IN ('gp', 'emergency')),
    contact_type VARCHAR NOT NULL      -- catalogue code list 'contact_type'
);

-- Care services (IPLOS-like): decisions with start and end.
CREATE TABLE care_decision (
    pid            UBIGINT NOT NULL,
    municipality   VARCHAR NOT NULL,
    service_type   VARCHAR NOT NULL,   -- catalogue code list 'care_service'
    decision_start DATE NOT NULL,
    decision_end   DATE                -- NULL while the decision runs
);
