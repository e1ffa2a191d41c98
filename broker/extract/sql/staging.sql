-- Per-pull staging tables, temporary to the pull's connection so that
-- they vanish with it and never reach the database file. Rows arrive here
-- already validated and pseudonymised; `line` points into the source file.
CREATE OR REPLACE TEMP TABLE stg_population (
    line BIGINT, pid UBIGINT, birth_year SMALLINT, birth_month TINYINT, sex VARCHAR,
    death_month DATE, record_key UINTEGER, municipality VARCHAR, district VARCHAR,
    moved_in DATE, moved_out DATE);
CREATE OR REPLACE TEMP TABLE stg_growth (
    line BIGINT, pid UBIGINT, municipality VARCHAR, check_type VARCHAR, measured_on DATE,
    height_cm DOUBLE, weight_kg DOUBLE);
CREATE OR REPLACE TEMP TABLE stg_vaccination (
    line BIGINT, pid UBIGINT, municipality VARCHAR, vaccine VARCHAR, dose TINYINT, vaccinated_on DATE);
CREATE OR REPLACE TEMP TABLE stg_gp_contact (
    line BIGINT, pid UBIGINT, municipality VARCHAR, contact_date DATE, icpc2 VARCHAR,
    service VARCHAR, contact_type VARCHAR);
CREATE OR REPLACE TEMP TABLE stg_care (
    line BIGINT, pid UBIGINT, municipality VARCHAR, service_type VARCHAR,
    decision_start DATE, decision_end DATE);
CREATE OR REPLACE TEMP TABLE stg_quarantine (
    dataset VARCHAR, file VARCHAR, line BIGINT, field VARCHAR, reason VARCHAR);
