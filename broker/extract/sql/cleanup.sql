DROP TABLE IF EXISTS temp.stg_population;
DROP TABLE IF EXISTS temp.stg_growth;
DROP TABLE IF EXISTS temp.stg_vaccination;
DROP TABLE IF EXISTS temp.stg_gp_contact;
DROP TABLE IF EXISTS temp.stg_care;
DROP TABLE IF EXISTS temp.stg_quarantine;
DROP TABLE IF EXISTS temp.stg_duplicate;
