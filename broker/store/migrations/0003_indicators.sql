-- Computed public-health indicators, kept per extract version so that a
-- coordinator can see what changed after a pull, and the IOTF cut-offs the
-- overweight indicators need.

-- One row per indicator computed on an extract.
CREATE TABLE indicator_run (
    extract_id        INTEGER NOT NULL,        -- extract.id the values were computed from
    indicator         VARCHAR NOT NULL,        -- definition id
    definition_sha256 VARCHAR NOT NULL,        -- of the definition file, to tell a changed method from changed data
    computed_at       TIMESTAMPTZ NOT NULL,
    first_period      VARCHAR NOT NULL,
    last_period       VARCHAR NOT NULL,
    PRIMARY KEY (extract_id, indicator)
);

-- One row per indicator, period, area and sex. Numbers are the broker's
-- own: only rows with status 'published' may leave it with their numbers.
CREATE TABLE indicator_value (
    extract_id  INTEGER NOT NULL,
    indicator   VARCHAR NOT NULL,
    period      VARCHAR NOT NULL,    -- '2024', school year '2024' (2023/24), or '2022-2024' when smoothed
    geo         VARCHAR NOT NULL,    -- '_T' (the cluster), kommunenummer, or Bergen district 4601xx
    sex         VARCHAR NOT NULL CHECK (sex IN ('M', 'F', '_T')),
    numerator   BIGINT,              -- NULL when the source data are missing for the period
    denominator BIGINT,
    crude_rate  DOUBLE,              -- in the definition's unit (percent or per 1 000)
    std_rate    DOUBLE,              -- directly age-standardised, when the definition asks
    ci_lower    DOUBLE,              -- 95 % interval of the main value (std_rate if any, else crude_rate)
    ci_upper    DOUBLE,
    comparison  VARCHAR NOT NULL CHECK (comparison IN ('better', 'worse', 'no_difference', 'not_testable')),
    status      VARCHAR NOT NULL CHECK (status IN ('published', 'primary', 'secondary', 'missing')),
    PRIMARY KEY (extract_id, indicator, period, geo, sex)
);

-- IOTF BMI cut-offs for overweight (adult BMI 25) and obesity (adult BMI 30)
-- by sex and age (Cole TJ, Bellizzi MC, Flegal KM, Dietz WH. Establishing a
-- standard definition for child overweight and obesity worldwide:
-- international survey. BMJ 2000;320:1240, table 4), given there at half
-- years from 2 to 18 and interpolated linearly here to whole months.
CREATE TABLE iotf_cutoff (
    sex        VARCHAR NOT NULL,
    age_months SMALLINT NOT NULL,
    bmi25      DOUBLE NOT NULL,
    bmi30      DOUBLE NOT NULL,
    PRIMARY KEY (sex, age_months)
);

INSERT INTO iotf_cutoff
WITH half (age, m25, f25, m30, f30) AS (VALUES
    (2.0, 18.41, 18.02, 20.09, 19.81), (2.5, 18.13, 17.76, 19.80, 19.55),
    (3.0, 17.89, 17.56, 19.57, 19.36), (3.5, 17.69, 17.40, 19.39, 19.23),
    (4.0, 17.55, 17.28, 19.29, 19.15), (4.5, 17.47, 17.19, 19.26, 19.12),
    (5.0, 17.42, 17.15, 19.30, 19.17), (5.5, 17.45, 17.20, 19.47, 19.34),
    (6.0, 17.55, 17.34, 19.78, 19.65), (6.5, 17.71, 17.53, 20.23, 20.08),
    (7.0, 17.92, 17.75, 20.63, 20.51), (7.5, 18.16, 18.03, 21.09, 21.01),
    (8.0, 18.44, 18.35, 21.60, 21.57), (8.5, 18.76, 18.69, 22.17, 22.18),
    (9.0, 19.10, 19.07, 22.77, 22.81), (9.5, 19.46, 19.45, 23.39, 23.46),
    (10.0, 19.84, 19.86, 24.00, 24.11), (10.5, 20.20, 20.29, 24.57, 24.77),
    (11.0, 20.55, 20.74, 25.10, 25.42), (11.5, 20.89, 21.20, 25.58, 26.05),
    (12.0, 21.22, 21.68, 26.02, 26.67), (12.5, 21.56, 22.14, 26.43, 27.24),
    (13.0, 21.91, 22.58, 26.84, 27.76), (13.5, 22.27, 22.98, 27.25, 28.20),
    (14.0, 22.62, 23.34, 27.63, 28.57), (14.5, 22.96, 23.66, 27.98, 28.87),
    (15.0, 23.29, 23.94, 28.30, 29.11), (15.5, 23.60, 24.17, 28.60, 29.29),
    (16.0, 23.90, 24.37, 28.88, 29.43), (16.5, 24.19, 24.54, 29.14, 29.56),
    (17.0, 24.46, 24.70, 29.41, 29.69), (17.5, 24.73, 24.85, 29.70, 29.84),
    (18.0, 25.00, 25.00, 30.00, 30.00)
),
by_sex AS (
    SELECT 'M' AS sex, CAST(age * 12 AS INTEGER) AS m, m25 AS b25, m30 AS b30 FROM half
    UNION ALL
    SELECT 'F', CAST(age * 12 AS INTEGER), f25, f30 FROM half
),
spans AS (
    SELECT sex, m, b25, b30,
           lead(b25) OVER (PARTITION BY sex ORDER BY m) AS n25,
           lead(b30) OVER (PARTITION BY sex ORDER BY m) AS n30
    FROM by_sex
)
SELECT sex, CAST(m + k AS SMALLINT), b25 + (n25 - b25) * k / 6.0, b30 + (n30 - b30) * k / 6.0
FROM spans, range(6) AS r(k)
WHERE n25 IS NOT NULL
UNION ALL
SELECT sex, CAST(m AS SMALLINT), b25, b30 FROM spans WHERE n25 IS NULL;
