-- The first schema of a PostgreSQL queue. {s} is the queue's schema
-- (quoted); the migration runner replaces it. Times are timestamptz (UTC,
-- microseconds); statuses and priorities the numbers of package queuetype.

CREATE TABLE {s}.messages (
    seq                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- send order
    id                 text     NOT NULL UNIQUE,
    type               text     NOT NULL DEFAULT 'task',
    status             smallint NOT NULL CHECK (status BETWEEN 0 AND 7),
    destination        text     NOT NULL,
    source             text     NOT NULL,
    content            bytea    NOT NULL,              -- JSON, byte for byte as sent
    result             bytea,                          -- JSON
    priority           smallint NOT NULL CHECK (priority BETWEEN 0 AND 3),
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    run_at             timestamptz NOT NULL,
    expire_at          timestamptz,
    finished_at        timestamptz,
    attempt            integer  NOT NULL DEFAULT 0,
    max_attempts       integer  NOT NULL CHECK (max_attempts > 0),
    max_attempts_unset boolean  NOT NULL DEFAULT false, -- a stand-in the first claim replaces
    retry_count        integer  NOT NULL DEFAULT 0,
    last_error         text,
    tags               jsonb,                          -- JSON array of strings
    metadata           bytea,                          -- JSON object
    lease_owner        text,
    lease_expires_at   timestamptz,                    -- display only; in no index, so renewals are HOT updates
    shard_key          text,
    callback_owner     text,                           -- the instance waiting for the callback
    unique_key         text,
    unique_states      integer  NOT NULL DEFAULT 0     -- bit 1<<status: statuses in which unique_key blocks
) WITH (fillfactor = 85, autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);

-- The narrow ready set a claim reads, in claim order.
CREATE INDEX messages_ready ON {s}.messages (destination, priority DESC, seq) WHERE status = 0;
CREATE INDEX messages_leased ON {s}.messages (lease_owner) WHERE status = 1;
CREATE INDEX messages_due ON {s}.messages (run_at) WHERE status IN (4, 7);
CREATE INDEX messages_expiry ON {s}.messages (expire_at) WHERE expire_at IS NOT NULL AND status IN (0, 4, 7);
CREATE INDEX messages_finished ON {s}.messages (status, finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX messages_callback ON {s}.messages (callback_owner) WHERE callback_owner IS NOT NULL;
CREATE INDEX messages_unique_key ON {s}.messages (unique_key) WHERE unique_key IS NOT NULL;

CREATE TABLE {s}.meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

-- Lease owners' liveness: heartbeats bump beats (see driver.OwnerState).
CREATE UNLOGGED TABLE {s}.owners (
    owner    text    PRIMARY KEY,
    beats    bigint  NOT NULL,
    lease_us bigint  NOT NULL,
    gone     boolean NOT NULL DEFAULT false,
    beat_at  timestamptz NOT NULL
);

CREATE TABLE {s}.leader (
    name     text   PRIMARY KEY,
    owner    text   NOT NULL,       -- '' once the holder resigned: the seat is empty
    term     bigint NOT NULL,
    since_at timestamptz NOT NULL
);

CREATE TABLE {s}.pauses (
    kind     smallint NOT NULL,
    name     text     COLLATE "C" NOT NULL,
    since_at timestamptz NOT NULL,
    PRIMARY KEY (kind, name)
);

CREATE TABLE {s}.listen_data (
    key        text     COLLATE "C" PRIMARY KEY,     -- byte order, for prefix reads
    kind       smallint NOT NULL,
    value      bytea    NOT NULL,
    version    bigint   NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Seqs come from this sequence, taken under the listen lock (see sql.go),
-- so changes become visible in seq order.
CREATE SEQUENCE {s}.listen_seq;

CREATE TABLE {s}.listen_changes (
    seq        bigint   PRIMARY KEY,
    key        text     NOT NULL,
    old_kind   smallint,                -- NULL: the key did not exist
    old_value  bytea,
    new_kind   smallint,                -- NULL: the key was deleted
    new_value  bytea,
    changed_at timestamptz NOT NULL
);
CREATE INDEX listen_changes_time ON {s}.listen_changes (changed_at);

CREATE TABLE {s}.listen_cursors (
    grp              text   PRIMARY KEY,
    seq              bigint NOT NULL,
    lease_owner      text,
    lease_expires_at timestamptz,
    updated_at       timestamptz NOT NULL
);

CREATE TABLE {s}.listen_failures (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    grp       text    NOT NULL,
    listener  text    NOT NULL,
    seq       bigint  NOT NULL,
    key       text    NOT NULL,
    attempts  integer NOT NULL,
    error     text    NOT NULL,
    failed_at timestamptz NOT NULL
);
CREATE INDEX listen_failures_grp ON {s}.listen_failures (grp, seq);
