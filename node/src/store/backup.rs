//! A consistent copy of the live store, taken while the daemon and officers
//! keep writing (`lienthong backup`).

use std::path::Path;

use rusqlite::params;

use super::{Result, Store, StoreError, Writer};
use crate::store::peers::PeerKey;

impl Store {
    /// Copy the whole store into `dest` with `VACUUM INTO`: one read
    /// transaction, so the copy is the store as of one commit, whatever
    /// other connections write meanwhile (WAL lets them go on). `dest` must
    /// not exist; it is created owner-only (0600) before SQLite writes it,
    /// as the store holds applicants' personal data.
    pub fn backup_into(&self, dest: &Path) -> Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(dest).map_err(|e| {
            StoreError::Invalid(format!(
                "cannot create {}: {e}; choose a path that does not exist yet",
                dest.display()
            ))
        })?;
        let target = dest
            .to_str()
            .ok_or_else(|| StoreError::Invalid(format!("{} is not UTF-8", dest.display())))?;
        self.conn.execute("VACUUM INTO ?1", [target])?;
        Ok(())
    }

    /// The schema version (`PRAGMA user_version`) of this store.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))?)
    }
}

impl Writer<'_> {
    /// `peer` announced a feed shorter than our checkpoint of it: its store
    /// was replaced by an older copy (a restore) or a new one. What we
    /// believed it holds is void — the documents it received after that
    /// copy are gone — so forget it; our next offers send those documents
    /// whole instead of suppressing them as echoes. Returns whether it was
    /// such a peer.
    pub fn forget_if_restarted(&self, peer: &PeerKey, peer_last_seq: i64) -> Result<bool> {
        let incoming: Option<i64> = rusqlite::OptionalExtension::optional(
            self.conn()
                .prepare_cached("SELECT incoming FROM peers WHERE node_id = ?1")?
                .query_row([&peer[..]], |row| row.get(0)),
        )?;
        if incoming.is_none_or(|checkpoint| peer_last_seq >= checkpoint) {
            return Ok(false);
        }
        self.conn()
            .prepare_cached("DELETE FROM peer_docs WHERE node_id = ?1")?
            .execute(params![&peer[..]])?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_is_a_sound_owner_only_copy_that_opens() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::create(&dir.path().join("store.db")).unwrap();
        store
            .write(|w| {
                w.conn()
                    .execute("INSERT INTO meta (key, value) VALUES ('probe', 42)", [])
                    .map_err(StoreError::from)
            })
            .unwrap();
        let copy = dir.path().join("copy.db");
        store.backup_into(&copy).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let copied = Store::open(&copy).unwrap();
        copied.integrity_check().unwrap();
        let probe: i64 = copied
            .connection()
            .query_row("SELECT value FROM meta WHERE key = 'probe'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(probe, 42);
        assert_eq!(
            copied.schema_version().unwrap(),
            store.schema_version().unwrap()
        );
        // Never over an existing file.
        let again = store.backup_into(&copy).unwrap_err().to_string();
        assert!(again.contains("does not exist yet"), "{again}");
    }
}
