-- Bearer tokens, data requests, their reviews, releases and the release
-- ledger.
--
-- Tokens are stored as the SHA-256 of the token text: the database never
-- holds a usable credential. A release is immutable once written: its
-- table (withheld cells without numbers), its checksum and the versions it
-- was made from. The ledger keeps every cell a project has received, with
-- its definition and true count, so that a later release can be protected
-- together with what the project already knows (DESIGN.md "Disclosure
-- across releases"); it never leaves the broker.

CREATE TABLE api_token (
    id           VARCHAR PRIMARY KEY,          -- public token id, the prefix shown in listings
    token_sha256 VARCHAR NOT NULL UNIQUE,      -- hex SHA-256 of the whole token
    user_id      VARCHAR NOT NULL,
    role         VARCHAR NOT NULL CHECK (role IN ('researcher', 'coordinator', 'privacy_officer', 'fou_contact', 'admin')),
    municipality VARCHAR NOT NULL DEFAULT '',  -- kommunenummer the user works for, '' for none
    created_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ
);

-- One row per data request; state changes follow the transition table in
-- broker/requests (states.go).
CREATE TABLE data_request (
    id               VARCHAR PRIMARY KEY,      -- req-<hex>
    requester        VARCHAR NOT NULL,
    requester_role   VARCHAR NOT NULL,
    project_id       VARCHAR NOT NULL,
    dataset          VARCHAR NOT NULL,
    spec             VARCHAR NOT NULL,         -- canonical JSON of the validated specification
    spec_sha256      VARCHAR NOT NULL,
    purpose          VARCHAR NOT NULL,
    state            VARCHAR NOT NULL CHECK (state IN ('review', 'released', 'denied', 'rejected', 'failed')),
    decision_id      VARCHAR NOT NULL,
    policy_version   VARCHAR NOT NULL,
    outcome          VARCHAR NOT NULL,         -- the policy's: allow, review, deny
    reasons          VARCHAR NOT NULL,         -- JSON list of findings (deny and review)
    obligations      VARCHAR NOT NULL,         -- JSON object
    approvals_needed INTEGER NOT NULL DEFAULT 0,
    extract_id       INTEGER NOT NULL,
    release_id       VARCHAR,
    message          VARCHAR NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);

-- The privacy officer's approvals and rejections.
CREATE TABLE request_review (
    request_id  VARCHAR NOT NULL,
    reviewer    VARCHAR NOT NULL,
    verdict     VARCHAR NOT NULL CHECK (verdict IN ('approve', 'reject')),
    comment     VARCHAR NOT NULL,
    reviewed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (request_id, reviewer)
);

-- Immutable releases.
CREATE TABLE release (
    id             VARCHAR PRIMARY KEY,        -- rel-<hex>
    request_id     VARCHAR NOT NULL,
    project_id     VARCHAR NOT NULL,
    dataset        VARCHAR NOT NULL,
    spec_sha256    VARCHAR NOT NULL,
    policy_version VARCHAR NOT NULL,
    decision_id    VARCHAR NOT NULL,
    extract_id     INTEGER NOT NULL,
    table_json     VARCHAR NOT NULL,           -- cube.WriteJSON of the protected table: withheld cells carry no number
    sha256         VARCHAR NOT NULL,           -- of table_json
    cells          INTEGER NOT NULL,
    primary_cells  INTEGER NOT NULL,
    secondary_cells INTEGER NOT NULL,
    reuses         VARCHAR,                    -- the earlier release whose numbers this one repeats
    created_at     TIMESTAMPTZ NOT NULL
);

-- The release ledger: every cell of every release, by definition.
CREATE TABLE release_cell (
    release_id  VARCHAR NOT NULL,
    project_id  VARCHAR NOT NULL,
    definition  VARCHAR NOT NULL,              -- dataset, measure, filters, period and extract, canonical
    coords      VARCHAR NOT NULL,              -- dim=code pairs of the cell, in table order, '|'-joined
    true_count  BIGINT NOT NULL,               -- internal: the attacker model's knowledge, never served
    published   BIGINT,                        -- what the project received; NULL when withheld
    status      VARCHAR NOT NULL
);
