//! The desk's queries (issue 9): one page of a queue or of a search, in
//! `(due_at, code)` order, by **keyset** — the next page starts after the
//! last row shown, never at an `OFFSET`, so page 2,000 costs what page 1
//! costs — and the size of each queue.
//!
//! A queue is a union of [`Slice`]s, each one range of one index
//! (migration 8: `desk_holder`, `desk_open`, `desk_transfer`, and the
//! `dossier_search` side table); a page reads at most `limit` rows from each
//! slice, in index order, and merges them. Slices of one queue never
//! overlap, so the counts add up.
//!
//! Search looks at `dossier_search`, written beside the index row by
//! [`Writer::upsert_search`]: the applicant's name folded (lowercase, no
//! diacritics: "Nguyễn Văn Ấn" → "nguyen van an") and the ID number.

use chrono::{DateTime, Utc};
use lienthong_shared::dossier::Status;
use rusqlite::types::Value;

use super::documents::DocKey;
use super::index::{COLUMNS, IndexRow, from_row};
use super::{Reader, Result, Writer};

/// Where a page ends: the last row's due time, code and row id (the row id
/// only breaks ties between copies of one code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub due_at: Option<i64>,
    pub code: String,
    pub rowid: i64,
}

impl Cursor {
    /// `1767225600000~000.00.20.H12-260302-0001~42` (`-` for no due time),
    /// as carried by the "next page" link.
    pub fn encode(&self) -> String {
        let due = self
            .due_at
            .map_or_else(|| "-".to_string(), |d| d.to_string());
        format!("{due}~{}~{}", self.code, self.rowid)
    }

    /// The inverse of [`Self::encode`]; `None` for anything else.
    pub fn decode(text: &str) -> Option<Cursor> {
        let mut parts = text.splitn(3, '~');
        let due = parts.next()?;
        let code = parts.next()?;
        let rowid = parts.next()?.parse().ok()?;
        let due_at = if due == "-" {
            None
        } else {
            Some(due.parse().ok()?)
        };
        (code.len() <= 64).then(|| Cursor {
            due_at,
            code: code.to_string(),
            rowid,
        })
    }

    /// Sort key: no due time first (SQLite's order for NULL), then by time.
    fn key(&self) -> (bool, i64, &str, i64) {
        (
            self.due_at.is_some(),
            self.due_at.unwrap_or(0),
            &self.code,
            self.rowid,
        )
    }
}

/// One range of one index.
#[derive(Debug, Clone)]
pub enum Slice {
    /// Held by `holder` with `status` (`desk_holder`).
    Held { holder: String, status: Status },
    /// Held by `holder`, unfinished, clock running (not awaiting a
    /// supplement), due in `[from, before)` (`desk_open`).
    OpenDue {
        holder: String,
        from: Option<DateTime<Utc>>,
        before: DateTime<Utc>,
    },
    /// In transfer to `office`, not yet accepted (`desk_transfer`).
    TransferTo { office: String },
    /// Codes starting with `prefix` (`dossiers_code`).
    CodePrefix { prefix: String },
    /// ID numbers starting with `prefix` (`dossier_search_id`).
    IdPrefix { prefix: String },
    /// Applicants whose folded name contains `folded` (a scan of
    /// `dossier_search`, a narrow table: ~100 bytes a dossier).
    NameContains { folded: String },
}

/// One row of a page, with where it sits.
#[derive(Debug, Clone)]
pub struct PageRow {
    pub cursor: Cursor,
    pub row: IndexRow,
}

impl Slice {
    /// The slice's `FROM … WHERE …` and its parameters.
    fn clause(&self) -> (String, Vec<Value>) {
        let from = "FROM dossiers d";
        match self {
            Slice::Held { holder, status } => (
                format!("{from} WHERE d.holder = ?1 AND d.status = ?2"),
                vec![holder.clone().into(), i64::from(status.code()).into()],
            ),
            Slice::OpenDue {
                holder,
                from: start,
                before,
            } => (
                // The same terms as `desk_open`'s WHERE, so it is used.
                format!(
                    "{from} WHERE d.holder = ?1 AND d.ended_at IS NULL AND d.status IS NOT 5
                       AND d.due_at >= ?2 AND d.due_at < ?3"
                ),
                vec![
                    holder.clone().into(),
                    start.map_or(i64::MIN, |t| t.timestamp_millis()).into(),
                    before.timestamp_millis().into(),
                ],
            ),
            Slice::TransferTo { office } => (
                format!("{from} WHERE d.transfer_to = ?1"),
                vec![office.clone().into()],
            ),
            Slice::CodePrefix { prefix } => (
                format!("{from} WHERE d.code >= ?1 AND d.code < ?2"),
                vec![prefix.clone().into(), format!("{prefix}\u{10FFFF}").into()],
            ),
            Slice::IdPrefix { prefix } => (
                format!(
                    "FROM dossier_search s JOIN dossiers d ON d.doc_id = s.doc_id
                     WHERE s.id_number != '' AND s.id_number >= ?1 AND s.id_number < ?2"
                ),
                vec![prefix.clone().into(), format!("{prefix}\u{10FFFF}").into()],
            ),
            Slice::NameContains { folded } => (
                format!(
                    "FROM dossier_search s JOIN dossiers d ON d.doc_id = s.doc_id
                     WHERE s.name_folded LIKE ?1 ESCAPE '\\'"
                ),
                vec![format!("%{}%", escape_like(folded)).into()],
            ),
        }
    }
}

/// The index's columns, as `d.code, d.status, …`.
fn qualified() -> String {
    COLUMNS
        .split(", ")
        .map(|c| format!("d.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The row id's place in a page's row, after the index's columns.
const ROWID: usize = 18;

fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Reader<'_> {
    /// Dossiers in any of `slices`, in `(due_at, code)` order (no due time
    /// first), after `after`, at most `limit`.
    pub fn desk_page(
        &self,
        slices: &[Slice],
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<PageRow>> {
        let mut rows = Vec::new();
        for slice in slices {
            rows.extend(self.slice_page(slice, after, limit)?);
        }
        rows.sort_by(|a, b| a.cursor.key().cmp(&b.cursor.key()));
        rows.truncate(limit);
        Ok(rows)
    }

    /// How many dossiers `slices` hold.
    pub fn desk_count(&self, slices: &[Slice]) -> Result<u64> {
        let mut total = 0u64;
        for slice in slices {
            let (clause, values) = slice.clause();
            let n: i64 = self
                .conn()
                .prepare_cached(&format!("SELECT count(*) {clause}"))?
                .query_row(rusqlite::params_from_iter(values), |r| r.get(0))?;
            total += n as u64;
        }
        Ok(total)
    }

    /// One slice's page: the rows without a due time (they come first),
    /// then the rest; each part a range of the slice's index read in order.
    fn slice_page(
        &self,
        slice: &Slice,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<PageRow>> {
        let (clause, values) = slice.clause();
        let n = values.len();
        let select = format!("SELECT {}, d.rowid {clause}", qualified());
        let mut out = Vec::new();
        // Part 1: no due time, by code (only while the cursor is still there).
        if after.is_none_or(|c| c.due_at.is_none()) {
            let (code, rowid) =
                after.map_or((String::new(), i64::MIN), |c| (c.code.clone(), c.rowid));
            let sql = format!(
                "{select} AND d.due_at IS NULL AND d.code >= ?{a}
                   AND (d.code > ?{a} OR d.rowid > ?{b})
                 ORDER BY d.code, d.rowid LIMIT ?{c}",
                a = n + 1,
                b = n + 2,
                c = n + 3
            );
            let mut params = values.clone();
            params.extend([code.into(), rowid.into(), (limit as i64).into()]);
            self.collect(&sql, params, &mut out)?;
        }
        if out.len() >= limit {
            return Ok(out);
        }
        // Part 2: by due time. `due_at >= ?` is the index range; the rest
        // only skips the rows of that one instant already shown.
        let (due, code, rowid) = match after {
            Some(Cursor {
                due_at: Some(d),
                code,
                rowid,
            }) => (*d, code.clone(), *rowid),
            _ => (i64::MIN, String::new(), i64::MIN),
        };
        let sql = format!(
            "{select} AND d.due_at >= ?{a}
               AND (d.due_at > ?{a} OR d.code > ?{b} OR (d.code = ?{b} AND d.rowid > ?{c}))
             ORDER BY d.due_at, d.code, d.rowid LIMIT ?{l}",
            a = n + 1,
            b = n + 2,
            c = n + 3,
            l = n + 4
        );
        let mut params = values;
        params.extend([
            due.into(),
            code.into(),
            rowid.into(),
            ((limit - out.len()) as i64).into(),
        ]);
        self.collect(&sql, params, &mut out)?;
        Ok(out)
    }

    fn collect(&self, sql: &str, params: Vec<Value>, out: &mut Vec<PageRow>) -> Result<()> {
        let mut statement = self.conn().prepare_cached(sql)?;
        let mut rows = statement.query(rusqlite::params_from_iter(params))?;
        while let Some(r) = rows.next()? {
            let row = from_row(r)?;
            let rowid: i64 = r.get(ROWID)?;
            out.push(PageRow {
                cursor: Cursor {
                    due_at: row.due_at.map(|t| t.timestamp_millis()),
                    code: row.code.clone(),
                    rowid,
                },
                row,
            });
        }
        Ok(())
    }

    /// SQLite's plan for a slice's page (the due-time part), for tests that
    /// the desk reads an index in order and sorts nothing.
    pub fn desk_plan(&self, slice: &Slice) -> Result<Vec<String>> {
        let (clause, values) = slice.clause();
        let n = values.len();
        let sql = format!(
            "EXPLAIN QUERY PLAN SELECT {cols}, d.rowid {clause} AND d.due_at >= ?{a}
               AND (d.due_at > ?{a} OR d.code > ?{b} OR (d.code = ?{b} AND d.rowid > ?{c}))
             ORDER BY d.due_at, d.code, d.rowid LIMIT 50",
            cols = qualified(),
            a = n + 1,
            b = n + 2,
            c = n + 3
        );
        let mut params = values;
        params.extend([0i64.into(), String::new().into(), 0i64.into()]);
        let mut statement = self.conn().prepare(&sql)?;
        let rows = statement.query_map(rusqlite::params_from_iter(params), |r| {
            r.get::<_, String>(3)
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Indexed dossiers without a `dossier_search` row (written by a build
    /// before migration 8), at most `limit`.
    pub fn unsearchable(&self, limit: usize) -> Result<Vec<(DocKey, String)>> {
        let mut statement = self.conn().prepare_cached(
            "SELECT d.doc_id, d.applicant FROM dossiers d
             WHERE NOT EXISTS (SELECT 1 FROM dossier_search s WHERE s.doc_id = d.doc_id)
             LIMIT ?1",
        )?;
        let rows = statement.query_map([limit as i64], |r| {
            let key: Vec<u8> = r.get(0)?;
            Ok((
                DocKey::try_from(key.as_slice()).unwrap_or([0; 16]),
                r.get(1)?,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl Writer<'_> {
    /// Keep a dossier's search row: its applicant's folded name and ID
    /// number. Writes nothing when they are unchanged (most events).
    pub fn upsert_search(&self, key: &DocKey, name: &str, id_number: &str) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO dossier_search (doc_id, name_folded, id_number) VALUES (?1, ?2, ?3)
                 ON CONFLICT (doc_id) DO UPDATE SET
                    name_folded = excluded.name_folded, id_number = excluded.id_number
                 WHERE name_folded IS NOT excluded.name_folded OR id_number IS NOT excluded.id_number",
            )?
            .execute(rusqlite::params![&key[..], fold(name), id_number.trim()])?;
        Ok(())
    }
}

/// Lowercase without diacritics, `đ` as `d`, spaces collapsed: how names are
/// searched. Precomposed (NFC) Vietnamese letters are mapped by table;
/// combining marks (U+0300–U+036F, as NFD input carries them) are dropped.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    for c in text.chars() {
        if ('\u{0300}'..='\u{036F}').contains(&c) {
            continue;
        }
        if c.is_whitespace() {
            if !space {
                out.push(' ');
                space = true;
            }
            continue;
        }
        space = false;
        let lower = c.to_lowercase().next().unwrap_or(c);
        out.push(base_letter(lower).unwrap_or(lower));
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// The Vietnamese letters with marks, lowercase, by base letter.
const VIETNAMESE: [(char, &str); 7] = [
    ('a', "àáảãạăằắẳẵặâầấẩẫậ"),
    ('e', "èéẻẽẹêềếểễệ"),
    ('i', "ìíỉĩị"),
    ('o', "òóỏõọôồốổỗộơờớởỡợ"),
    ('u', "ùúủũụưừứửữự"),
    ('y', "ỳýỷỹỵ"),
    ('d', "đ"),
];

fn base_letter(c: char) -> Option<char> {
    if c.is_ascii() {
        return None;
    }
    VIETNAMESE
        .iter()
        .find(|(_, marked)| marked.contains(c))
        .map(|(base, _)| *base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_drops_every_vietnamese_mark_in_either_normal_form() {
        assert_eq!(fold("Nguyễn Văn Ấn"), "nguyen van an");
        assert_eq!(fold("  ĐẶNG   thị  Hương "), "dang thi huong");
        assert_eq!(fold("Trương Ngọc Ỷ Lan"), "truong ngoc y lan");
        // NFD: base letters with combining marks.
        assert_eq!(fold("Nguye\u{0302}\u{0303}n"), "nguyen");
        // Every letter of the table folds to ASCII.
        for (base, marked) in VIETNAMESE {
            for c in marked.chars() {
                assert_eq!(fold(&c.to_string()), base.to_string(), "{c}");
                assert_eq!(fold(&c.to_uppercase().to_string()), base.to_string(), "{c}");
            }
        }
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        for cursor in [
            Cursor {
                due_at: Some(1_767_225_600_000),
                code: "000.00.20.H12-260302-0001".into(),
                rowid: 42,
            },
            Cursor {
                due_at: None,
                code: "X-1".into(),
                rowid: -3,
            },
        ] {
            assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        }
        for bad in [
            "",
            "12",
            "x~a~1",
            "1~a~b",
            &format!("1~{}~1", "a".repeat(65)),
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }
}
