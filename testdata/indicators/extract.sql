-- A small fixed extract for the indicator golden tests. Every expected
-- value in indicators/golden_test.go is worked out by hand from these rows.
INSERT INTO extract (id, source, connector, fingerprint, status, started_at)
VALUES (1, 'testdata/indicators/extract.sql', 'filedrop', 'fixture', 'loaded', TIMESTAMPTZ '2025-01-15 08:00:00+00');

-- Voss: 100 men born May 1982 (aged 40-42 in 2022-2024) and 100 women born
-- August 1962 (aged 60-62): type 2 diabetes for 10 of the men and 30 of
-- the women, one GP contact each year.
INSERT INTO person (pid, birth_year, birth_month, sex, death_month, record_key) SELECT 1000 + i, 1982, 5, 'M', NULL, 1 FROM range(100) t(i);
INSERT INTO person (pid, birth_year, birth_month, sex, death_month, record_key) SELECT 2000 + i, 1962, 8, 'F', NULL, 1 FROM range(100) t(i);
INSERT INTO residence (pid, municipality, district, moved_in, moved_out) SELECT pid, '4621', NULL, DATE '2000-01-01', NULL FROM person WHERE pid BETWEEN 1000 AND 2099;
INSERT INTO gp_contact (pid, municipality, contact_date, icpc2, service, contact_type)
SELECT pid, '4621', make_date(y, 6, 10), 'T90', 'gp', 'consultation'
FROM person, range(2022, 2025) r(y) WHERE pid BETWEEN 1000 AND 1009 OR pid BETWEEN 2000 AND 2029;
-- One man has three emergency-room contacts in 2024, one of them recorded
-- by Bergen's emergency room: events count by residence, so all are Voss's.
INSERT INTO gp_contact (pid, municipality, contact_date, icpc2, service, contact_type) VALUES
  (1050, '4621', DATE '2024-02-01', 'R74', 'emergency', 'consultation'),
  (1050, '4621', DATE '2024-02-03', 'R74', 'emergency', 'simple'),
  (1050, '4601', DATE '2024-07-20', 'L73', 'emergency', 'consultation');

-- Arna (Bergen): 30 men and 20 women born February 1939 (aged 83-85).
-- Home nursing for 5 men and 5 women in 2022 and in 2024; the care system
-- delivered nothing for 2023. Two men in long-term nursing-home care in 2024.
INSERT INTO person (pid, birth_year, birth_month, sex, death_month, record_key) SELECT 3000 + i, 1939, 2, CASE WHEN i < 30 THEN 'M' ELSE 'F' END, NULL, 1 FROM range(50) t(i);
INSERT INTO residence (pid, municipality, district, moved_in, moved_out) SELECT pid, '4601', '460101', DATE '1990-01-01', NULL FROM person WHERE pid BETWEEN 3000 AND 3049;
INSERT INTO care_decision (pid, municipality, service_type, decision_start, decision_end)
SELECT pid, '4601', 'home_nursing', make_date(y, 2, 1), make_date(y, 5, 31)
FROM person, (VALUES (2022), (2024)) r(y) WHERE pid BETWEEN 3000 AND 3004 OR pid BETWEEN 3030 AND 3034;
INSERT INTO care_decision (pid, municipality, service_type, decision_start, decision_end) VALUES
  (3010, '4601', 'long_term_nursing_home', DATE '2024-01-10', NULL),
  (3011, '4601', 'long_term_nursing_home', DATE '2024-01-10', DATE '2024-12-20');

-- Voss: ten children in each of the cohorts born January 2013, 2014 and
-- 2015, measured at the 3rd-grade check in October 2021, 2022 and 2023
-- (school years 2021/22, 2022/23, 2023/24). Overweight (BMI 22, above the
-- IOTF cut-off of about 18.9 at 8 years 9 months): 2, 3 and 4 of them.
-- The others have BMI 16.
INSERT INTO person (pid, birth_year, birth_month, sex, death_month, record_key) SELECT 4000 + i, 2013 + i // 10, 1, CASE WHEN i % 2 = 0 THEN 'M' ELSE 'F' END, NULL, 1 FROM range(30) t(i);
INSERT INTO residence (pid, municipality, district, moved_in, moved_out) SELECT pid, '4621', NULL, make_date(birth_year, 1, 20), NULL FROM person WHERE pid BETWEEN 4000 AND 4029;
INSERT INTO growth (pid, municipality, check_type, measured_on, height_cm, weight_kg)
SELECT pid, '4621', 'grade3', make_date(birth_year + 8, 10, 15), 130.0,
       CASE WHEN pid % 10 < (birth_year - 2011) THEN 22.0 ELSE 16.0 END * 1.69
FROM person WHERE pid BETWEEN 4000 AND 4029;

-- Bergenhus (Bergen): 10 boys and 10 girls born March 2022. MMR dose 1 at
-- 15 months for 18 of them; one girl got it in April 2024, after the month
-- she turned 24 months, so she does not count; one girl has none.
INSERT INTO person (pid, birth_year, birth_month, sex, death_month, record_key) SELECT 5000 + i, 2022, 3, CASE WHEN i < 10 THEN 'M' ELSE 'F' END, NULL, 1 FROM range(20) t(i);
INSERT INTO residence (pid, municipality, district, moved_in, moved_out) SELECT pid, '4601', '460102', DATE '2022-03-15', NULL FROM person WHERE pid BETWEEN 5000 AND 5019;
INSERT INTO vaccination (pid, municipality, vaccine, dose, vaccinated_on) SELECT pid, '4601', 'MMR', 1, DATE '2023-06-15' FROM person WHERE pid BETWEEN 5000 AND 5017;
INSERT INTO vaccination (pid, municipality, vaccine, dose, vaccinated_on) VALUES (5018, '4601', 'MMR', 1, DATE '2024-04-10');
