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
    /// Codes starting with `prefix` (`dossiers_code`, then sorted).
    CodePrefix { prefix: String },
    /// ID numbers starting with `prefix` (`dossier_search_id`, then sorted).
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
    /// The slice's table and `WHERE` terms (on that table's own columns:
    /// `dossiers` and `dossier_search` both have `due_at`, `code`, and a
    /// row id), and their parameters.
    fn clause(&self) -> (&'static str, String, Vec<Value>) {
        match self {
            Slice::Held { holder, status } => (
                "dossiers",
                "holder = ?1 AND status = ?2".into(),
                vec![holder.clone().into(), i64::from(status.code()).into()],
            ),
            Slice::OpenDue {
                holder,
                from: start,
                before,
            } => (
                "dossiers",
                // The same terms as `desk_open`'s WHERE, so it is used.
                "holder = ?1 AND ended_at IS NULL AND status IS NOT 5
                   AND due_at >= ?2 AND due_at < ?3"
                    .into(),
                vec![
                    holder.clone().into(),
                    start.map_or(i64::MIN, |t| t.timestamp_millis()).into(),
                    before.timestamp_millis().into(),
                ],
            ),
            Slice::TransferTo { office } => (
                "dossiers",
                "transfer_to = ?1".into(),
                vec![office.clone().into()],
            ),
            // A code prefix is a range of `dossiers_code`; its matches
            // (one day's codes, say) sorted by due time.
            Slice::CodePrefix { prefix } => (
                "dossiers",
                "code >= ?1 AND code < ?2".into(),
                vec![prefix.clone().into(), format!("{prefix}\u{10FFFF}").into()],
            ),
            // The others read the narrow side table, which carries the sort
            // key too: its matches sorted (top N), then only the page's rows
            // looked up in `dossiers`.
            Slice::IdPrefix { prefix } => (
                "dossier_search",
                "id_number != '' AND id_number >= ?1 AND id_number < ?2".into(),
                vec![prefix.clone().into(), format!("{prefix}\u{10FFFF}").into()],
            ),
            // Both sides folded: a plain substring test, cheaper than LIKE.
            Slice::NameContains { folded } => (
                "dossier_search",
                "instr(name_folded, ?1) > 0".into(),
                vec![folded.clone().into()],
            ),
        }
    }
}

/// Which part of a slice's order a query reads, from where.
enum Part {
    NoDueTime { code: String, rowid: i64 },
    ByDueTime { due: i64, code: String, rowid: i64 },
}

/// The query for one part of a slice's page: the keys of the page's rows
/// from the slice's table, in order (a range of its index, or a top-N
/// sort of a search's matches), then those rows from `dossiers`.
fn page_sql(slice: &Slice, part: Part, limit: usize) -> (String, Vec<Value>) {
    let (table, terms, mut params) = slice.clause();
    let n = params.len();
    let (range, order) = match part {
        Part::NoDueTime { code, rowid } => {
            params.extend([code.into(), rowid.into()]);
            (
                format!(
                    "due_at IS NULL AND code >= ?{a} AND (code > ?{a} OR rowid > ?{b})",
                    a = n + 1,
                    b = n + 2
                ),
                "code, rowid",
            )
        }
        Part::ByDueTime { due, code, rowid } => {
            params.extend([due.into(), code.into(), rowid.into()]);
            // `due_at >= ?` is the index range; the rest only skips the rows
            // of that one instant already shown.
            (
                format!(
                    "due_at >= ?{a} AND (due_at > ?{a} OR code > ?{b} OR (code = ?{b} AND rowid > ?{c}))",
                    a = n + 1,
                    b = n + 2,
                    c = n + 3
                ),
                "due_at, code, rowid",
            )
        }
    };
    params.push((limit as i64).into());
    let sql = format!(
        "SELECT {cols}, k.rid FROM
           (SELECT doc_id, due_at, code, rowid AS rid FROM {table}
             WHERE {terms} AND {range} ORDER BY {order} LIMIT ?{l}) k
         JOIN dossiers d ON d.doc_id = k.doc_id
         ORDER BY k.due_at, k.code, k.rid",
        cols = qualified(),
        l = params.len()
    );
    (sql, params)
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
            let (table, terms, values) = slice.clause();
            let n: i64 = self
                .conn()
                .prepare_cached(&format!("SELECT count(*) FROM {table} WHERE {terms}"))?
                .query_row(rusqlite::params_from_iter(values), |r| r.get(0))?;
            total += n as u64;
        }
        Ok(total)
    }

    /// One slice's page: the rows without a due time (they come first),
    /// then the rest; each part the keys of at most `limit` rows read in
    /// order from the slice's table, then those rows from `dossiers`.
    fn slice_page(
        &self,
        slice: &Slice,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<PageRow>> {
        let mut out = Vec::new();
        // Part 1: no due time, by code (only while the cursor is still there).
        if after.is_none_or(|c| c.due_at.is_none()) {
            let (code, rowid) =
                after.map_or((String::new(), i64::MIN), |c| (c.code.clone(), c.rowid));
            let (sql, params) = page_sql(slice, Part::NoDueTime { code, rowid }, limit);
            self.collect(&sql, params, &mut out)?;
        }
        if out.len() >= limit {
            return Ok(out);
        }
        let (due, code, rowid) = match after {
            Some(Cursor {
                due_at: Some(d),
                code,
                rowid,
            }) => (*d, code.clone(), *rowid),
            _ => (i64::MIN, String::new(), i64::MIN),
        };
        let (sql, params) = page_sql(
            slice,
            Part::ByDueTime { due, code, rowid },
            limit - out.len(),
        );
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
    /// the desk reads an index in order and sorts nothing but the page.
    pub fn desk_plan(&self, slice: &Slice) -> Result<Vec<String>> {
        let (sql, params) = page_sql(
            slice,
            Part::ByDueTime {
                due: 0,
                code: String::new(),
                rowid: 0,
            },
            50,
        );
        let mut statement = self.conn().prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
        let rows = statement.query_map(rusqlite::params_from_iter(params), |r| {
            r.get::<_, String>(3)
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Indexed dossiers without a `dossier_search` row (written by a build
    /// before migration 8), at most `limit`: key, code, due time, name.
    pub fn unsearchable(&self, limit: usize) -> Result<Vec<Unsearchable>> {
        let mut statement = self.conn().prepare_cached(
            "SELECT d.doc_id, d.code, d.due_at, d.applicant FROM dossiers d
             WHERE NOT EXISTS (SELECT 1 FROM dossier_search s WHERE s.doc_id = d.doc_id)
             LIMIT ?1",
        )?;
        let rows = statement.query_map([limit as i64], |r| {
            let key: Vec<u8> = r.get(0)?;
            Ok(Unsearchable {
                key: DocKey::try_from(key.as_slice()).unwrap_or([0; 16]),
                code: r.get(1)?,
                due_at: r
                    .get::<_, Option<i64>>(2)?
                    .and_then(DateTime::from_timestamp_millis),
                applicant: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// An indexed dossier without its search row.
#[derive(Debug, Clone)]
pub struct Unsearchable {
    pub key: DocKey,
    pub code: String,
    pub due_at: Option<DateTime<Utc>>,
    /// The applicant's name as indexed.
    pub applicant: String,
}

/// What search reads of one dossier.
#[derive(Debug, Clone)]
pub struct SearchRow<'a> {
    pub code: &'a str,
    pub due_at: Option<DateTime<Utc>>,
    /// The applicant's name (and organisation); folded when stored.
    pub name: &'a str,
    pub id_number: &'a str,
}

impl Writer<'_> {
    /// Keep a dossier's search row: its sort key, its applicant's folded
    /// name and ID number. Writes nothing when they are unchanged (most
    /// events).
    pub fn upsert_search(&self, key: &DocKey, row: &SearchRow<'_>) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO dossier_search (doc_id, code, due_at, name_folded, id_number)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (doc_id) DO UPDATE SET
                    code = excluded.code, due_at = excluded.due_at,
                    name_folded = excluded.name_folded, id_number = excluded.id_number
                 WHERE code IS NOT excluded.code OR due_at IS NOT excluded.due_at
                    OR name_folded IS NOT excluded.name_folded
                    OR id_number IS NOT excluded.id_number",
            )?
            .execute(rusqlite::params![
                &key[..],
                row.code,
                row.due_at.map(|t| t.timestamp_millis()),
                fold(row.name),
                row.id_number.trim()
            ])?;
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
