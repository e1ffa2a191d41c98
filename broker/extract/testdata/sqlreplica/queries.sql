-- The SQL replica source's queries for the replica of schema.sql: one
-- SELECT per dataset, its columns named as the dataset's layout. Each
-- section starts with a "-- dataset: NAME" line.

-- dataset: population
SELECT fnr AS fodselsnummer, fodt AS fodselsdato, kjonn, kommune AS kommunenummer, bydel,
       flyttet_inn AS innflyttet, flyttet_ut AS utflyttet, dod AS dodsdato
FROM folkereg_person ORDER BY lopenr

-- dataset: growth
SELECT fnr AS fodselsnummer, kommune AS kommunenummer, kontroll, maledato, hoyde AS hoyde_cm, vekt AS vekt_kg
FROM hs_maling ORDER BY lopenr

-- dataset: vaccination
-- Columns in another order than the layout's: the source puts them right.
SELECT vaksine, dose, dato AS vaksinasjonsdato, fnr AS fodselsnummer, kommune AS kommunenummer
FROM hs_vaksine ORDER BY lopenr

-- dataset: gp_contact
SELECT fnr AS fodselsnummer, kommune AS kommunenummer, dato AS kontaktdato, diagnose AS icpc2, tjeneste, kontakttype
FROM kuhr_kontakt ORDER BY lopenr

-- dataset: care
SELECT fnr AS fodselsnummer, kommune AS kommunenummer, tjeneste, fra AS vedtak_fra, til AS vedtak_til
FROM iplos_vedtak ORDER BY lopenr
