-- The audit and decision log: one row per event, hash-chained.
--
-- Each row's hash is SHA-256 over a canonical encoding of (seq, prev_hash,
-- logged_at, kind, actor, object, detail); prev_hash is the previous row's hash, so
-- editing, deleting or reordering a row breaks the chain. The table is only
-- ever appended to by broker/audit; nothing updates or deletes rows.
-- detail is canonical JSON (sorted keys) and never holds a raw identifier or
-- a row-level value.

CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,            -- 1, 2, 3, ... without gaps
    prev_hash VARCHAR NOT NULL,              -- hex; 64 zeros for the first entry
    hash      VARCHAR NOT NULL,              -- hex SHA-256 of this entry
    logged_at VARCHAR NOT NULL,              -- RFC 3339 UTC, microseconds: hashed exactly as stored
    kind      VARCHAR NOT NULL,              -- decision, release, download, approval, pull, policy.change, ...
    actor     VARCHAR NOT NULL,              -- user id or 'system'
    object    VARCHAR NOT NULL,              -- request, release, project or extract id
    detail    VARCHAR NOT NULL               -- canonical JSON object
);
