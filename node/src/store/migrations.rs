//! Schema migrations, tracked with `PRAGMA user_version`.

use std::path::Path;

use rusqlite::Connection;

use super::{Result, StoreError};

/// Each entry moves the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: documents, feed, scope, index, dossier codes.
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value ANY
    ) STRICT;
    INSERT INTO meta (key, value) VALUES ('last_seq', 0);

    CREATE TABLE documents (
        doc_id         BLOB PRIMARY KEY,
        kind           TEXT NOT NULL,
        snapshot       BLOB NOT NULL,
        snapshot_bytes INTEGER NOT NULL,
        chunk_bytes    INTEGER NOT NULL DEFAULT 0,
        chunk_count    INTEGER NOT NULL DEFAULT 0,
        heads          BLOB NOT NULL
    ) STRICT;

    CREATE TABLE doc_chunks (
        doc_id BLOB NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
        n      INTEGER NOT NULL,
        data   BLOB NOT NULL,
        PRIMARY KEY (doc_id, n)
    ) STRICT;

    CREATE TABLE feed (
        doc_id BLOB PRIMARY KEY REFERENCES documents(doc_id) ON DELETE CASCADE,
        seq    INTEGER NOT NULL UNIQUE
    ) STRICT;

    -- Which nodes (by the office each serves as) a document goes to; '*' = every node.
    CREATE TABLE doc_scope (
        node   TEXT NOT NULL,
        doc_id BLOB NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
        PRIMARY KEY (node, doc_id)
    ) STRICT;
    CREATE INDEX doc_scope_by_doc ON doc_scope (doc_id);

    CREATE TABLE dossiers (
        doc_id         BLOB PRIMARY KEY REFERENCES documents(doc_id) ON DELETE CASCADE,
        code           TEXT NOT NULL,
        procedure_code TEXT NOT NULL,
        procedure_name TEXT NOT NULL,
        applicant      TEXT NOT NULL,
        origin         TEXT NOT NULL,
        holder         TEXT,
        transfer_to    TEXT,
        status         INTEGER,
        received_at    INTEGER,
        due_at         INTEGER,
        ended_at       INTEGER,
        returned_at    INTEGER,
        timeliness     TEXT,
        conflicts      INTEGER NOT NULL,
        supplement_requests INTEGER NOT NULL,
        open_consultations  INTEGER NOT NULL,
        rules          TEXT NOT NULL,
        updated_seq    INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX dossiers_code ON dossiers (code);
    CREATE INDEX dossiers_status ON dossiers (status, due_at);
    CREATE INDEX dossiers_holder ON dossiers (holder, status);
    CREATE INDEX dossiers_origin ON dossiers (origin);
    CREATE INDEX dossiers_due ON dossiers (due_at);

    CREATE TABLE code_counters (
        agency_code TEXT NOT NULL,
        day         TEXT NOT NULL,
        last        INTEGER NOT NULL,
        PRIMARY KEY (agency_code, day)
    ) STRICT;
    "#,
    // 2: replication with peers.
    r#"
    -- One row per peer node: checkpoints both ways and what the daemon last saw.
    CREATE TABLE peers (
        node_id       BLOB PRIMARY KEY,
        incoming      INTEGER NOT NULL DEFAULT 0,  -- their feed sequence held here
        outgoing      INTEGER NOT NULL DEFAULT 0,  -- our feed sequence they confirmed
        peer_last_seq INTEGER NOT NULL DEFAULT 0,  -- their feed head when last heard
        connected     INTEGER NOT NULL DEFAULT 0,
        last_contact  INTEGER,
        last_success  INTEGER,
        last_error    TEXT,
        last_error_at INTEGER
    ) STRICT;

    -- What each peer is known to hold of each document (its heads).
    CREATE TABLE peer_docs (
        node_id BLOB NOT NULL,
        doc_id  BLOB NOT NULL,
        heads   BLOB NOT NULL,
        PRIMARY KEY (node_id, doc_id)
    ) STRICT, WITHOUT ROWID;
    "#,
    // 3: attachments (content-addressed blobs in 64 KiB chunks).
    r#"
    CREATE TABLE blobs (
        hash         BLOB PRIMARY KEY,
        size         INTEGER NOT NULL,
        media_type   TEXT NOT NULL,
        root         BLOB NOT NULL,   -- SHA-256 of the chunk hashes
        manifest     BLOB,            -- the chunk hashes, once known
        complete     INTEGER NOT NULL DEFAULT 0,
        stored_bytes INTEGER NOT NULL DEFAULT 0
    ) STRICT;

    CREATE TABLE blob_chunks (
        hash BLOB NOT NULL,
        idx  INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (hash, idx)
    ) STRICT;

    -- Which documents reference which blobs (from their attachment references).
    CREATE TABLE blob_refs (
        hash       BLOB NOT NULL,
        doc_id     BLOB NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
        size       INTEGER NOT NULL,
        root       BLOB NOT NULL,
        media_type TEXT NOT NULL,
        PRIMARY KEY (hash, doc_id)
    ) STRICT;
    CREATE INDEX blob_refs_by_doc ON blob_refs (doc_id);

    -- Blobs a peer is known to hold.
    CREATE TABLE peer_blobs (
        node_id BLOB NOT NULL,
        hash    BLOB NOT NULL,
        PRIMARY KEY (node_id, hash)
    ) STRICT, WITHOUT ROWID;
    "#,
    // 4: the notice outbox (deadline and result notices; a gateway sends them).
    r#"
    CREATE TABLE outbox (
        id         INTEGER PRIMARY KEY,
        doc_id     BLOB NOT NULL,
        code       TEXT NOT NULL,
        kind       TEXT NOT NULL,     -- due_soon, overdue, consultation_overdue, result_ready
        key        TEXT NOT NULL,     -- what the notice is about: a due time, a consultation, a result
        office     TEXT NOT NULL,     -- the office it is from (the dossier's holder, served here)
        audience   TEXT NOT NULL,     -- applicant or office
        applicant  TEXT NOT NULL,
        phone      TEXT NOT NULL,
        email      TEXT NOT NULL,
        message    TEXT NOT NULL,
        created_at INTEGER NOT NULL,  -- the `now` it was queued at (ms since the epoch)
        sent_at    INTEGER,           -- set by the gateway that sends it
        UNIQUE (doc_id, kind, key)
    ) STRICT;
    CREATE INDEX outbox_unsent ON outbox (sent_at, id);
    "#,
    // 5: hostile peers: quarantine, per-peer daily quotas, the limit each
    // peer last ran into, refusal counts.
    r#"
    -- Documents that failed to load, or whose attachment references are
    -- unsafe: kept as they are, never sent on, listed by `status` and `show`.
    CREATE TABLE quarantine (
        doc_id  BLOB PRIMARY KEY,
        problem TEXT NOT NULL,
        at      INTEGER NOT NULL   -- ms since the epoch
    ) STRICT;

    -- What each peer sent per local day (calendar time zone), for quotas.
    CREATE TABLE peer_days (
        node_id   BLOB NOT NULL,
        day       TEXT NOT NULL,    -- YYYY-MM-DD
        documents INTEGER NOT NULL DEFAULT 0,
        bytes     INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (node_id, day)
    ) STRICT;

    -- The limit a peer last ran into. While `lifted_at` is NULL the incoming
    -- checkpoint is held at `hold`, so what was refused is offered again
    -- once the limit lifts.
    CREATE TABLE peer_limits (
        node_id   BLOB PRIMARY KEY,
        kind      TEXT NOT NULL,    -- documents_per_day, bytes_per_day, disk_floor
        reason    TEXT NOT NULL,
        since     INTEGER NOT NULL,
        until     INTEGER,          -- when it lifts; NULL: when disk space is freed
        hold      INTEGER NOT NULL,
        lifted_at INTEGER
    ) STRICT;

    ALTER TABLE peers ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE peers ADD COLUMN last_refusal TEXT;
    ALTER TABLE peers ADD COLUMN last_refusal_at INTEGER;
    "#,
    // 6: officers' accounts for the console. `IF NOT EXISTS`: builds of
    // 2026-12-07 created this table on first write, before it had a number.
    r#"
    CREATE TABLE IF NOT EXISTS accounts (
        name            TEXT PRIMARY KEY,
        display_name    TEXT NOT NULL,
        role            TEXT NOT NULL,   -- desk, processing, leader, admin
        password_hash   TEXT NOT NULL,   -- argon2id PHC string
        failed_attempts INTEGER NOT NULL DEFAULT 0,
        locked_until    INTEGER,         -- ms since the epoch
        created_at      INTEGER NOT NULL
    ) STRICT;
    "#,
    // 7: the console's sign-in sessions. Only a hash of the cookie's token
    // is kept, so a copy of the store does not sign anyone in.
    r#"
    CREATE TABLE console_sessions (
        token_hash BLOB PRIMARY KEY,     -- SHA-256 of the session cookie
        account    TEXT NOT NULL REFERENCES accounts(name) ON DELETE CASCADE,
        csrf       TEXT NOT NULL,        -- the token every form must echo
        created_at INTEGER NOT NULL,     -- ms since the epoch
        expires_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
    "#,
    // 8 (dashboard and JSON API, issue 9): the API's bearer tokens, kept
    // only as hashes; per receiving office, when the last change to one of
    // its dossiers arrived from a peer (the dashboard's freshness): one row
    // per office, so reading it costs nothing whatever the dossiers.
    r#"
    CREATE TABLE api_tokens (
        name       TEXT PRIMARY KEY,    -- recorded as the officer on events
        role       TEXT NOT NULL,       -- desk, processing, leader, admin
        token_hash BLOB NOT NULL UNIQUE, -- SHA-256 of the bearer token
        created_at INTEGER NOT NULL,    -- ms since the epoch
        revoked_at INTEGER
    ) STRICT;
    CREATE TABLE origin_arrivals (
        origin     TEXT PRIMARY KEY,    -- the office that received the dossiers
        arrived_at INTEGER NOT NULL     -- ms since the epoch, this node's clock
    ) STRICT;
    "#,
    // 9 (console desk, issue 9): the desk's queues and search. Each queue
    // is read as ranges of these indexes in (due_at, code) order (keyset
    // paging, `store/desk.rs`); `desk_holder` supersedes `dossiers_holder`.
    // `dossier_search` holds what the index lacks for search: the folded
    // applicant name and the ID number (rows for older dossiers are written
    // by `console::desk::backfill_search` when the console starts).
    r#"
    -- The sort key (due_at, code) is repeated here so that a search sorts
    -- this narrow table and looks up only the page's rows in `dossiers`.
    CREATE TABLE dossier_search (
        doc_id      BLOB PRIMARY KEY REFERENCES dossiers(doc_id) ON DELETE CASCADE,
        code        TEXT NOT NULL,
        due_at      INTEGER,
        name_folded TEXT NOT NULL,   -- lowercase, no diacritics (store::desk::fold)
        id_number   TEXT NOT NULL    -- CCCD / CMND as written at the desk
    ) STRICT;
    CREATE INDEX dossier_search_id ON dossier_search (id_number) WHERE id_number != '';
    DROP INDEX dossiers_holder;
    CREATE INDEX desk_holder ON dossiers (holder, status, due_at, code);
    CREATE INDEX desk_open ON dossiers (holder, due_at, code)
        WHERE ended_at IS NULL AND status IS NOT 5;
    CREATE INDEX desk_transfer ON dossiers (transfer_to, due_at, code)
        WHERE transfer_to IS NOT NULL;
    "#,
    // 10 (enrolment, issue 10): one-time invitations; only a hash of each
    // secret is kept (store/invitations.rs).
    r#"
    CREATE TABLE invitations (
        id          BLOB PRIMARY KEY,
        office      TEXT NOT NULL,
        secret_hash BLOB NOT NULL,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        used_at     INTEGER,
        used_by     BLOB
    ) STRICT;
    "#,
    // 11 (gateway, issue 10): delivering the outbox and the portal's queue. `sent_at` is the time
    // the gateway delivered a notice (delivered_at); a failed try counts in
    // `attempts`, keeps its `last_error` and waits until `next_attempt_at`.
    r#"
    ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN next_attempt_at INTEGER;  -- ms since the epoch; NULL: at once
    ALTER TABLE outbox ADD COLUMN last_error TEXT;

    -- The national portal's export queue (province): one record per dossier
    -- and status it reached, delivered like the outbox.
    CREATE TABLE portal_queue (
        id              INTEGER PRIMARY KEY,
        doc_id          BLOB NOT NULL,
        status          INTEGER NOT NULL,  -- 1-10, the portal's code
        record          TEXT NOT NULL,     -- the record (JSON) as it was when queued
        queued_at       INTEGER NOT NULL,
        sent_at         INTEGER,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        last_error      TEXT,
        UNIQUE (doc_id, status)
    ) STRICT;
    CREATE INDEX portal_queue_unsent ON portal_queue (sent_at, id);
    "#,
    // 12 (operations, issue 10): blobs a peer said it does not hold (it
    // answered a want with BlobMissing), so attachment bytes waiting are
    // attributed to the peers that can supply them (dropped for a blob when
    // the peer says it has it); counters for the metrics (`observed.rs`).
    r#"
    CREATE TABLE peer_blob_misses (
        node_id BLOB NOT NULL,
        hash    BLOB NOT NULL,
        PRIMARY KEY (node_id, hash)
    ) STRICT, WITHOUT ROWID;

    -- Officers' operations recorded here, by event kind, office and face (cli, console, api).
    CREATE TABLE officer_operations (
        action TEXT NOT NULL,
        office TEXT NOT NULL,
        face   TEXT NOT NULL,
        count  INTEGER NOT NULL,
        PRIMARY KEY (action, office, face)
    ) STRICT, WITHOUT ROWID;

    -- Each peer's traffic, added by the daemon while a link is up.
    CREATE TABLE peer_traffic (
        node_id         BLOB PRIMARY KEY,
        bytes_sent      INTEGER NOT NULL DEFAULT 0,
        bytes_received  INTEGER NOT NULL DEFAULT 0,
        refused_by_peer INTEGER NOT NULL DEFAULT 0
    ) STRICT, WITHOUT ROWID;
    "#,
    // 13 (authorship, issue 8): each change's attestation, its author's
    // Ed25519 signature over the change hash, stored beside the document.
    r#"
    CREATE TABLE attestations (
        doc_id    BLOB NOT NULL,
        change    BLOB NOT NULL,
        key       BLOB NOT NULL,
        signature BLOB NOT NULL,
        PRIMARY KEY (doc_id, change)
    ) STRICT, WITHOUT ROWID;
    "#,
    // 14 (province under load, issue 11): the feed's sequence beside each
    // scope row (kept by `bump_feed` and `set_scope`), so what is new for a
    // node is read from its own rows in sequence order instead of walking
    // the whole feed and testing each document's scope: a new commune's
    // first sync costs its scope, not the province's store. And the
    // consolidated report's two covering indexes (by origin, by holder:
    // `reports.rs`), read in group order without touching the table's wide
    // rows (under 1 s at a million dossiers); `dossiers_report` also
    // serves what `dossiers_origin` did.
    r#"
    DROP INDEX dossiers_origin;
    CREATE INDEX dossiers_report
        ON dossiers (origin, status, ended_at, due_at, timeliness, received_at);
    CREATE INDEX dossiers_report_holder
        ON dossiers (coalesce(holder, origin), status, ended_at, due_at, timeliness, received_at);
    ALTER TABLE doc_scope ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
    UPDATE doc_scope
       SET seq = coalesce((SELECT f.seq FROM feed f WHERE f.doc_id = doc_scope.doc_id), 0);
    CREATE INDEX doc_scope_feed ON doc_scope (node, seq, doc_id);
    "#,
];

/// Bring the store up to date; `turn` takes the writers' turn
/// (`write_lock/`) around each migration's transaction.
pub(super) fn migrate<'t>(
    conn: &mut Connection,
    path: &Path,
    turn: impl Fn() -> Result<Option<super::write_lock::Turn<'t>>>,
) -> Result<()> {
    let known = MIGRATIONS.len() as i64;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version > known {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: version,
            known,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let _turn = turn()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another process may have migrated while we waited for the lock.
        let current: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if current > index as i64 {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
