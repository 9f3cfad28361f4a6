//! The node's former identities (issue 8, key rotation): each node id this
//! data directory used before, and when it was replaced, in `meta`
//! (`previous_node_id:<id>` → milliseconds). For reference only: nothing
//! trusts a key because it is listed here.

use chrono::{DateTime, Utc};

use super::{Result, Store};

const PREFIX: &str = "previous_node_id:";

impl Store {
    /// Record that `node_id` was this node's identity until `at`.
    pub fn record_previous_identity(&self, node_id: &str, at: DateTime<Utc>) -> Result<()> {
        self.with_turn(|conn| {
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                rusqlite::params![format!("{PREFIX}{node_id}"), at.timestamp_millis()],
            )
        })?;
        Ok(())
    }

    /// The node ids this node used before, oldest first.
    pub fn previous_identities(&self) -> Result<Vec<(String, DateTime<Utc>)>> {
        let connection = self.connection();
        let mut statement = connection.prepare(
            "SELECT key, value FROM meta WHERE key LIKE 'previous_node_id:%' ORDER BY value",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (key, millis) = row?;
            let id = key.strip_prefix(PREFIX).unwrap_or(&key).to_string();
            out.push((
                id,
                DateTime::from_timestamp_millis(millis).unwrap_or_default(),
            ));
        }
        Ok(out)
    }
}
