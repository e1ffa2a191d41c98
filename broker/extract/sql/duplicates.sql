-- Exact duplicates within a file: the first occurrence is kept, every
-- later one is quarantined naming the line it repeats.
CREATE OR REPLACE TEMP TABLE stg_duplicate AS
SELECT 'population' AS dataset, line, first FROM (
    SELECT line, min(line) OVER (PARTITION BY pid, birth_year, birth_month, sex, death_month, municipality, district, moved_in, moved_out) AS first
    FROM stg_population) WHERE line <> first
UNION ALL
SELECT 'growth', line, first FROM (
    SELECT line, min(line) OVER (PARTITION BY pid, municipality, check_type, measured_on, height_cm, weight_kg) AS first
    FROM stg_growth) WHERE line <> first
UNION ALL
SELECT 'vaccination', line, first FROM (
    SELECT line, min(line) OVER (PARTITION BY pid, municipality, vaccine, dose, vaccinated_on) AS first
    FROM stg_vaccination) WHERE line <> first
UNION ALL
SELECT 'gp_contact', line, first FROM (
    SELECT line, min(line) OVER (PARTITION BY pid, municipality, contact_date, icpc2, service, contact_type) AS first
    FROM stg_gp_contact) WHERE line <> first
UNION ALL
SELECT 'care', line, first FROM (
    SELECT line, min(line) OVER (PARTITION BY pid, municipality, service_type, decision_start, decision_end) AS first
    FROM stg_care) WHERE line <> first;
