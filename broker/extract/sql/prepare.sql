-- Per-pull working tables, temporary to the pull's connection: they live
-- in memory (spilling to DuckDB's temp directory under pressure), vanish
-- with the connection and never reach the database file. Raw identity
-- numbers exist only here, for the length of one pull.
CREATE OR REPLACE TEMP TABLE pull_ctx (today DATE);
CREATE OR REPLACE TEMP TABLE ident (
    fnr VARCHAR, pid UBIGINT, problem VARCHAR, birth DATE, male BOOLEAN, record_key UINTEGER);

-- The first problem with a date field, or NULL: the same rules as the
-- source systems' own contract (ISO 8601 calendar dates, none before 1850,
-- none in the future, none before the person's birth).
CREATE OR REPLACE TEMP MACRO date_problem(s, today, birth) AS
    CASE
        WHEN coalesce(s, '') = '' THEN 'is missing'
        WHEN s NOT LIKE '____-__-__'
             OR try_cast(s[1:4] AS INTEGER) IS NULL OR try_cast(s[6:7] AS INTEGER) IS NULL
             OR try_cast(s[9:10] AS INTEGER) IS NULL THEN 'is not a date in the form YYYY-MM-DD'
        WHEN try_cast(s AS DATE) IS NULL THEN 'is not a calendar date'
        WHEN s < '1850' THEN 'is before 1850'
        WHEN try_cast(s AS DATE) > today THEN 'is in the future'
        WHEN birth IS NOT NULL AND try_cast(s AS DATE) < birth THEN 'is before the person''s birth'
    END;
-- The quick test whether date_problem has anything to say, given the
-- value already cast (d): cheap for the clean rows that are nearly all.
-- (The cast alone would also take 2015-1-5 or 2015/01/05; a LIKE pattern
-- checks the form for a third of the cost of length and slicing.)
CREATE OR REPLACE TEMP MACRO bad_date(s, d, today, birth) AS
    d IS NULL OR s NOT LIKE '____-__-__' OR d > today OR d < DATE '1850-01-01'
    OR (birth IS NOT NULL AND d < birth);
CREATE OR REPLACE TEMP MACRO bad_optional_date(s, d, today, birth) AS
    coalesce(s, '') <> '' AND bad_date(s, d, today, birth);
CREATE OR REPLACE TEMP MACRO number_problem(s, lo, hi) AS
    CASE
        WHEN coalesce(s, '') = '' THEN 'is missing'
        WHEN try_cast(s AS DOUBLE) IS NULL THEN 'is not a number'
        WHEN try_cast(s AS DOUBLE) < lo OR try_cast(s AS DOUBLE) > hi THEN 'is outside the plausible range ' || lo || '–' || hi
    END;
-- The key rows are grouped by when duplicates are looked for (load.sql):
-- 32 bits of a hash of the person and the date.
CREATE OR REPLACE TEMP MACRO dup_key(p, d) AS (hash(p, d) >> 32)::UINTEGER;
