-- Several sources, each owning its rows: a configured source may provide
-- only some datasets (the population register by file drop, GP contacts
-- over FHIR, care decisions from an SQL replica), and a pull replaces
-- (full snapshot) or upserts (incremental) only the rows of its own
-- source, in the datasets it provides.
--
-- src is the configured source's name ('' for a one-off pull from the
-- command line, which is what every row pulled before this migration
-- was); rid is the source system's own id of the record the row came
-- from (FHIR Resource.id of the Patient, Observation, Immunization,
-- Encounter or EpisodeOfCare), NULL for a source without ids (a file
-- drop), whose pulls are always full snapshots. person rows have no rid:
-- a person is derived from their population records.
ALTER TABLE person ADD COLUMN src VARCHAR DEFAULT '';
ALTER TABLE person ADD COLUMN rid VARCHAR;
ALTER TABLE residence ADD COLUMN src VARCHAR DEFAULT '';
ALTER TABLE residence ADD COLUMN rid VARCHAR;
ALTER TABLE growth ADD COLUMN src VARCHAR DEFAULT '';
ALTER TABLE growth ADD COLUMN rid VARCHAR;
ALTER TABLE vaccination ADD COLUMN src VARCHAR DEFAULT '';
ALTER TABLE vaccination ADD COLUMN rid VARCHAR;
ALTER TABLE gp_contact ADD COLUMN src VARCHAR DEFAULT '';
ALTER TABLE gp_contact ADD COLUMN rid VARCHAR;
ALTER TABLE care_decision ADD COLUMN src VARCHAR DEFAULT '';
ALTER TABLE care_decision ADD COLUMN rid VARCHAR;

-- The extract registry per source. source_name is the configured
-- source's name ('' for one-off pulls); mode says whether the pull
-- replaced the source's rows ('full') or upserted a change set
-- ('incremental'); mark is the source's high-water mark after the pull
-- (FHIR: the export's transactionTime), written in the same transaction
-- as the data so that the next incremental pull asks for exactly what
-- came after what is loaded; datasets lists what the pull provided.
ALTER TABLE extract ADD COLUMN source_name VARCHAR DEFAULT '';
ALTER TABLE extract ADD COLUMN mode VARCHAR DEFAULT 'full';
ALTER TABLE extract ADD COLUMN mark VARCHAR DEFAULT '';
ALTER TABLE extract ADD COLUMN datasets VARCHAR DEFAULT '';
