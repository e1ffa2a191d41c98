-- A clinical systems' reporting replica as the SQL replica tests imagine
-- it: each system's own table and column names and PostgreSQL types.
-- The fixture loads a synthetic extract into it row by row; lopenr is the
-- row's line in the file drop's CSV file (so the two pulls can be compared
-- line for line) and endret is when the row last changed (for @since).
--
-- The columns the synthetic exports break on purpose with impossible dates
-- ("2021-02-30") are text, as in a legacy system that kept what was typed;
-- a DATE column could not hold them. Every other date is a DATE, every
-- measure NUMERIC, the dose a SMALLINT, and codes char(n), varchar, an
-- enum or a domain.

-- The register's own code types: an enum, and a domain over char(n).
CREATE TYPE kjonn_kode AS ENUM ('M', 'K');
CREATE DOMAIN kommunenr AS char(4);

CREATE TABLE folkereg_person (
    lopenr      bigint PRIMARY KEY,
    fnr         char(11),
    fodt        date,
    kjonn       kjonn_kode,
    kommune     kommunenr,
    bydel       varchar(6),
    flyttet_inn text,
    flyttet_ut  date,
    dod         date,
    endret      timestamptz NOT NULL DEFAULT '2024-12-31 12:00:00+01'
);

CREATE TABLE hs_maling (
    lopenr   bigint PRIMARY KEY,
    fnr      char(11),
    kommune  char(4),
    kontroll char(8), -- padded: '4ar     '
    maledato text,
    hoyde    numeric,
    vekt     numeric,
    endret   timestamptz NOT NULL DEFAULT '2024-12-31 12:00:00+01'
);

CREATE TABLE hs_vaksine (
    lopenr  bigint PRIMARY KEY,
    fnr     char(11),
    kommune char(4),
    vaksine varchar(40),
    dose    smallint,
    dato    text,
    endret  timestamptz NOT NULL DEFAULT '2024-12-31 12:00:00+01'
);

CREATE TABLE kuhr_kontakt (
    lopenr      bigint PRIMARY KEY,
    fnr         char(11),
    kommune     char(4),
    dato        text,
    diagnose    varchar(12),
    tjeneste    varchar(20),
    kontakttype varchar(20),
    endret      timestamptz NOT NULL DEFAULT '2024-12-31 12:00:00+01'
);

CREATE TABLE iplos_vedtak (
    lopenr   bigint PRIMARY KEY,
    fnr      char(11),
    kommune  char(4),
    tjeneste varchar(30),
    fra      text,
    til      date,
    endret   timestamptz NOT NULL DEFAULT '2024-12-31 12:00:00+01'
);
