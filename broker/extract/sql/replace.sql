-- Replace the pulled tables with the staged extract. Runs inside the
-- pull's transaction: either all of it becomes visible or none.
DELETE FROM person;
DELETE FROM residence;
DELETE FROM growth;
DELETE FROM vaccination;
DELETE FROM gp_contact;
DELETE FROM care_decision;
INSERT INTO person
SELECT pid, any_value(birth_year), any_value(birth_month), any_value(sex), max(death_month), any_value(record_key)
FROM stg_population GROUP BY pid;
INSERT INTO residence
SELECT pid, municipality, district, moved_in, moved_out
FROM stg_population s WHERE NOT EXISTS (SELECT 1 FROM stg_duplicate d WHERE d.dataset = 'population' AND d.line = s.line)
ORDER BY pid, moved_in;
INSERT INTO growth
SELECT pid, municipality, check_type, measured_on, height_cm, weight_kg
FROM stg_growth s WHERE NOT EXISTS (SELECT 1 FROM stg_duplicate d WHERE d.dataset = 'growth' AND d.line = s.line);
INSERT INTO vaccination
SELECT pid, municipality, vaccine, dose, vaccinated_on
FROM stg_vaccination s WHERE NOT EXISTS (SELECT 1 FROM stg_duplicate d WHERE d.dataset = 'vaccination' AND d.line = s.line);
INSERT INTO gp_contact
SELECT pid, municipality, contact_date, icpc2, service, contact_type
FROM stg_gp_contact s WHERE NOT EXISTS (SELECT 1 FROM stg_duplicate d WHERE d.dataset = 'gp_contact' AND d.line = s.line);
INSERT INTO care_decision
SELECT pid, municipality, service_type, decision_start, decision_end
FROM stg_care s WHERE NOT EXISTS (SELECT 1 FROM stg_duplicate d WHERE d.dataset = 'care' AND d.line = s.line);
