-- The collaboration's registries: the project portfolio, the knowledge needs,
-- the inquiry registry with its directory of R&D contacts, and the outbox of
-- notification e-mails.
--
-- Links between a project and people, organisations, funding and results are
-- role-typed, as in CERIF (cfProj_Pers, cfProj_OrgUnit, cfProj_Fund,
-- cfProj_ResPubl): the role column carries the classification. Codes are
-- checked by the Go domain packages (broker/portfolio, broker/inquiry), which
-- own the vocabularies; the CHECK constraints here are the last line.
--
-- Personal data kept: researchers' and contacts' names and e-mail addresses,
-- nothing else. Retention and erasure are implemented by broker/inquiry
-- (ErasePerson, ApplyRetention).

CREATE SEQUENCE project_id_seq START 1;
CREATE SEQUENCE need_id_seq START 1;
CREATE SEQUENCE inquiry_id_seq START 1;
CREATE SEQUENCE assignment_id_seq START 1;
CREATE SEQUENCE contact_id_seq START 1;
CREATE SEQUENCE outbox_id_seq START 1;

CREATE TABLE project (
    id                   INTEGER PRIMARY KEY DEFAULT nextval('project_id_seq'),
    title                VARCHAR NOT NULL,
    summary              VARCHAR NOT NULL,
    type                 VARCHAR NOT NULL,
    health_project_type  VARCHAR NOT NULL DEFAULT '',     -- Cristin: DRUGSTUDY, OTHERCLINICAL, NONCLINICAL, ''
    status               VARCHAR NOT NULL CHECK (status IN ('planned', 'applied', 'active', 'completed', 'rejected')),
    start_date           DATE,
    end_date             DATE,
    owner_institution    VARCHAR NOT NULL,                -- the project owner (prosjekteier)
    municipality_role    VARCHAR NOT NULL CHECK (municipality_role IN ('owner', 'partner')),
    user_involvement     VARCHAR NOT NULL DEFAULT '',
    ethics_authority     VARCHAR NOT NULL DEFAULT '',     -- Cristin approval authority: REK, DATATILSYNET, ...
    ethics_reference     VARCHAR NOT NULL DEFAULT '',     -- e.g. the REK case number
    ethics_status        VARCHAR NOT NULL DEFAULT '',     -- Cristin approval status: NOTAPPLIED, APPLIED, APPROVED, DECLINED
    ethics_date          DATE,
    dpia_status          VARCHAR NOT NULL DEFAULT 'not_assessed',
    legal_basis          VARCHAR NOT NULL DEFAULT '',     -- policy code: hfl-35, gdpr-9-2-j, hpl-26, pjl-6, fhl-5, hol-3-3, gdpr-9-2-a
    purpose              VARCHAR NOT NULL DEFAULT '',     -- of data from the broker: research, quality_improvement, governance
    data_access          VARCHAR NOT NULL DEFAULT 'none' CHECK (data_access IN ('none', 'requested', 'approved', 'refused', 'revoked')),
    data_access_by       VARCHAR NOT NULL DEFAULT '',
    data_access_at       TIMESTAMPTZ,
    inquiry_id           INTEGER,                         -- the inquiry it came from, if any
    created_by           VARCHAR NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);

-- Participating municipalities and, within them, service units (etater).
-- service_area '' is the municipality as a whole.
CREATE TABLE project_unit (
    project_id   INTEGER NOT NULL,
    municipality VARCHAR NOT NULL,
    service_area VARCHAR NOT NULL DEFAULT ''
);

-- Partner institutions (cfProj_OrgUnit with a role).
CREATE TABLE project_partner (
    project_id  INTEGER NOT NULL,
    institution VARCHAR NOT NULL,
    role        VARCHAR NOT NULL
);

-- People linked to the project (cfProj_Pers): Cristin roles ProjectManager,
-- ProjectParticipant, LocalProjectManager, plus 'contact'.
CREATE TABLE project_person (
    project_id INTEGER NOT NULL,
    role       VARCHAR NOT NULL,
    name       VARCHAR NOT NULL,
    email      VARCHAR NOT NULL DEFAULT '',
    affiliation VARCHAR NOT NULL DEFAULT ''
);

-- Broker users who may request data for the project.
CREATE TABLE project_member (
    project_id INTEGER NOT NULL,
    user_id    VARCHAR NOT NULL
);

-- Funding (cfProj_Fund): source code and amount in NOK.
CREATE TABLE project_funding (
    project_id  INTEGER NOT NULL,
    source      VARCHAR NOT NULL,
    programme   VARCHAR NOT NULL DEFAULT '',
    amount_nok  BIGINT NOT NULL CHECK (amount_nok >= 0),
    year        INTEGER                                   -- NULL: the whole period
);

-- Priority areas (innsatsområder) the project serves.
CREATE TABLE project_area (
    project_id INTEGER NOT NULL,
    area       VARCHAR NOT NULL
);

-- Results (cfProj_ResPubl and the like): publications, reports, knowledge returned.
CREATE TABLE project_result (
    project_id INTEGER NOT NULL,
    kind       VARCHAR NOT NULL CHECK (kind IN ('publication', 'report', 'knowledge_return', 'phd_thesis')),
    title      VARCHAR NOT NULL,
    doi        VARCHAR NOT NULL DEFAULT '',
    url        VARCHAR NOT NULL DEFAULT '',
    year       INTEGER NOT NULL
);

-- Academic positions tied to the project: public-sector PhDs, combined and
-- adjunct positions (bistillinger).
CREATE TABLE project_position (
    project_id   INTEGER NOT NULL,
    kind         VARCHAR NOT NULL CHECK (kind IN ('public_phd', 'phd', 'postdoc', 'combined', 'adjunct')),
    municipality VARCHAR NOT NULL,
    start_year   INTEGER NOT NULL,
    end_year     INTEGER
);

-- Knowledge needs (kunnskapsbehov) identified by the municipalities.
CREATE TABLE knowledge_need (
    id            INTEGER PRIMARY KEY DEFAULT nextval('need_id_seq'),
    title         VARCHAR NOT NULL,
    description   VARCHAR NOT NULL DEFAULT '',
    municipality  VARCHAR NOT NULL,                       -- kommunenummer or '_T' for all
    service_area  VARCHAR NOT NULL DEFAULT '',
    identified_on DATE NOT NULL,
    status        VARCHAR NOT NULL CHECK (status IN ('open', 'closed')),
    created_by    VARCHAR NOT NULL
);

CREATE TABLE project_need (
    project_id INTEGER NOT NULL,
    need_id    INTEGER NOT NULL
);

-- The directory of R&D contacts (FoU-kontakter) kept by the advisers.
-- service_area '' is the municipality's general contact, the fallback for
-- units with none.
CREATE TABLE rd_contact (
    id           INTEGER PRIMARY KEY DEFAULT nextval('contact_id_seq'),
    municipality VARCHAR NOT NULL,
    service_area VARCHAR NOT NULL DEFAULT '',
    name         VARCHAR NOT NULL,
    email        VARCHAR NOT NULL,
    user_id      VARCHAR NOT NULL DEFAULT '',             -- broker login, if any
    active       BOOLEAN NOT NULL DEFAULT true
);

-- A research inquiry (forskningshenvendelse) from the public form.
CREATE TABLE inquiry (
    id                  INTEGER PRIMARY KEY DEFAULT nextval('inquiry_id_seq'),
    title               VARCHAR NOT NULL,
    kind                VARCHAR NOT NULL,                 -- project type code
    description         VARCHAR NOT NULL,
    institution         VARCHAR NOT NULL,
    researcher_name     VARCHAR NOT NULL,
    researcher_email    VARCHAR NOT NULL,
    funding             VARCHAR NOT NULL,
    funding_status      VARCHAR NOT NULL,                 -- Research Council phases: planned, applied, granted, none
    resources_needed    VARCHAR NOT NULL,
    knowledge_return    VARCHAR NOT NULL,
    target_groups       VARCHAR NOT NULL,
    ethics_status       VARCHAR NOT NULL,                 -- Cristin approval status
    ethics_reference    VARCHAR NOT NULL DEFAULT '',
    start_date          DATE NOT NULL,
    end_date            DATE NOT NULL,
    fingerprint         VARCHAR NOT NULL,                 -- duplicate-submission guard
    receipt_hash        VARCHAR NOT NULL DEFAULT '',      -- SHA-256 of the receipt code the researcher got; '' when erased
    received_at         TIMESTAMPTZ NOT NULL,
    project_id          INTEGER,                          -- set when converted into a project
    erased              BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE inquiry_need (
    inquiry_id INTEGER NOT NULL,
    need_id    INTEGER NOT NULL
);

-- One assignment per inquiry × municipality × service area, routed to one
-- contact; its status is the municipality's answer.
CREATE TABLE inquiry_assignment (
    id               INTEGER PRIMARY KEY DEFAULT nextval('assignment_id_seq'),
    inquiry_id       INTEGER NOT NULL,
    municipality     VARCHAR NOT NULL,
    service_area     VARCHAR NOT NULL DEFAULT '',
    contact_id       INTEGER,                             -- NULL: routed to the advisers
    contact_email    VARCHAR NOT NULL,
    routed_by        VARCHAR NOT NULL CHECK (routed_by IN ('unit', 'municipality', 'advisers')),
    status           VARCHAR NOT NULL CHECK (status IN ('received', 'under_assessment', 'needs_information', 'accepted', 'declined', 'withdrawn')),
    assessment       VARCHAR NOT NULL DEFAULT '',         -- internal, never sent to the researcher
    answer           VARCHAR NOT NULL DEFAULT '',         -- what the researcher is told
    researcher_note  VARCHAR NOT NULL DEFAULT '',         -- the researcher's latest message (more information, withdrawal)
    deadline         DATE NOT NULL,
    answered_at      TIMESTAMPTZ,
    reminded_at      TIMESTAMPTZ,
    overdue_notice_at TIMESTAMPTZ,
    updated_at       TIMESTAMPTZ NOT NULL
);

-- Notification e-mails, written in the transaction of the change that
-- causes them and delivered later over SMTP with bounded retries.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY DEFAULT nextval('outbox_id_seq'),
    recipient       VARCHAR NOT NULL,
    subject         VARCHAR NOT NULL,
    body            VARCHAR NOT NULL,
    topic           VARCHAR NOT NULL,                     -- e.g. inquiry.accepted
    object          VARCHAR NOT NULL DEFAULT '',          -- e.g. inquiry/12
    status          VARCHAR NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error      VARCHAR NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ
);
