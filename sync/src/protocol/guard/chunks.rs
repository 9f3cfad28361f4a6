//! Automerge storage chunks (documents and changes), checked header by
//! header and column by column without decoding them.
//!
//! A chunk is `magic(4) checksum(4) type(1) length(uLEB) data`; several may
//! be concatenated. Document chunks (type 0) and change chunks (type 1) are
//! the only types accepted: compressed changes (type 2) and bundles (type 3)
//! never come from this system. A column's specification carries a DEFLATE
//! bit; a deflated column is refused, as Automerge would inflate it without
//! limit. Every other column is RLE, delta or boolean encoded: its values
//! are counted run by run (a run of a billion costs one LEB128 number), and
//! the counts are held to the budget before Automerge expands them.

use super::reader::Reader;
use super::{Budget, GuardError, GuardLimits};

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const DOCUMENT: u8 = 0;
const CHANGE: u8 = 1;
const COMPRESSED_CHANGE: u8 = 2;
const BUNDLE: u8 = 3;
/// The DEFLATE bit of a column specification.
const DEFLATE: u32 = 0b1000;
/// Column specifications a well-formed chunk may hold (Automerge uses ~20).
const MAX_COLUMNS: u64 = 64;

/// The layout of one column: specification and length.
#[derive(Clone, Copy)]
struct Column {
    spec: u32,
    len: u64,
}

/// Which part of a chunk a column belongs to, for the budget and errors.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Section {
    DocumentChanges,
    DocumentOps,
    ChangeOps,
}

impl Section {
    pub(super) fn name(self) -> &'static str {
        match self {
            Section::DocumentChanges => "document change columns",
            Section::DocumentOps => "document op columns",
            Section::ChangeOps => "change op columns",
        }
    }
}

/// Check every chunk in `bytes` (one or more, concatenated).
pub(super) fn chunks(
    bytes: &[u8],
    limits: &GuardLimits,
    budget: &mut Budget,
) -> Result<(), GuardError> {
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let magic = r.take(4, "chunk magic bytes")?;
        if magic != MAGIC {
            return Err(GuardError::NotAChunk);
        }
        r.take(4, "chunk checksum")?;
        let kind = r.byte("chunk type")?;
        let len = r.uleb("chunk length")?;
        if len > r.remaining() as u64 {
            return Err(GuardError::ChunkLength {
                claimed: len,
                available: r.remaining(),
            });
        }
        let data = r.take(len, "chunk data")?;
        match kind {
            DOCUMENT => document(data, limits, budget)?,
            CHANGE => change(data, limits, budget)?,
            COMPRESSED_CHANGE => return Err(GuardError::CompressedChunk),
            BUNDLE => return Err(GuardError::BundleChunk),
            other => return Err(GuardError::UnknownChunkType(other)),
        }
    }
    Ok(())
}

/// Is this chunk list free of compressed chunks and deflated columns (so a
/// peer's guard will not refuse it for that)? Reads headers only.
pub(super) fn uncompressed(bytes: &[u8]) -> bool {
    let mut budget = Budget::unlimited();
    match chunks(bytes, &GuardLimits::unlimited(), &mut budget) {
        Ok(()) => true,
        Err(e) => !e.is_compression(),
    }
}

fn document(data: &[u8], limits: &GuardLimits, budget: &mut Budget) -> Result<(), GuardError> {
    let mut r = Reader::new(data);
    let actors = r.uleb("document actors")?;
    limit("actors in a document", actors, limits.max_actors as u64)?;
    for _ in 0..actors {
        let len = r.uleb("actor id length")?;
        r.take(len, "actor id")?;
    }
    let heads = r.uleb("document heads")?;
    limit("heads of a document", heads, limits.max_hashes as u64)?;
    r.take(heads.saturating_mul(32), "document heads")?;
    let mut change_cols = [Column { spec: 0, len: 0 }; MAX_COLUMNS as usize];
    let change_cols = columns(&mut r, Section::DocumentChanges, &mut change_cols)?;
    let mut op_cols = [Column { spec: 0, len: 0 }; MAX_COLUMNS as usize];
    let op_cols = columns(&mut r, Section::DocumentOps, &mut op_cols)?;
    let change_data = r.take(total(change_cols), "document change columns")?;
    let op_data = r.take(total(op_cols), "document op columns")?;
    let changes = values(
        change_cols,
        change_data,
        Section::DocumentChanges,
        budget.changes,
    )?;
    // Automerge panics on an actor that authored no change (`Authors` is
    // sized by changes, not actors); in a real document every actor has one.
    let authored = authored_changes(change_cols, change_data, budget.changes)?;
    if actors > authored {
        return Err(GuardError::IdleActors {
            actors,
            changes: authored,
        });
    }
    budget.spend_changes(changes)?;
    let ops = values(op_cols, op_data, Section::DocumentOps, budget.ops)?;
    budget.spend_ops(ops);
    // The suffix: one index per head (absent in documents of old writers).
    if !r.is_empty() {
        for _ in 0..heads {
            r.uleb("document head index")?;
        }
    }
    if !r.is_empty() {
        return Err(GuardError::Leftover(r.remaining()));
    }
    Ok(())
}

fn change(data: &[u8], limits: &GuardLimits, budget: &mut Budget) -> Result<(), GuardError> {
    let mut r = Reader::new(data);
    let deps = r.uleb("change dependencies")?;
    limit("dependencies of a change", deps, limits.max_hashes as u64)?;
    r.take(deps.saturating_mul(32), "change dependencies")?;
    let len = r.uleb("change actor length")?;
    r.take(len, "change actor")?;
    r.uleb("change sequence number")?;
    r.uleb("change start op")?;
    r.sleb("change time")?;
    let len = r.uleb("change message length")?;
    r.take(len, "change message")?;
    let others = r.uleb("change other actors")?;
    limit("actors in a change", others, limits.max_actors as u64)?;
    for _ in 0..others {
        let len = r.uleb("actor id length")?;
        r.take(len, "actor id")?;
    }
    let mut cols = [Column { spec: 0, len: 0 }; MAX_COLUMNS as usize];
    let cols = columns(&mut r, Section::ChangeOps, &mut cols)?;
    let op_data = r.take(total(cols), "change op columns")?;
    // What follows the columns is the change's "extra bytes", kept as is.
    budget.spend_changes(1)?;
    let ops = values(cols, op_data, Section::ChangeOps, budget.ops)?;
    budget.spend_ops(ops);
    Ok(())
}

fn limit(what: &'static str, count: u64, limit: u64) -> Result<(), GuardError> {
    if count > limit {
        return Err(GuardError::TooMany { what, count, limit });
    }
    Ok(())
}

/// Read a column layout (count, then specification and length of each)
/// into `into`, refusing deflated columns.
fn columns<'c>(
    r: &mut Reader<'_>,
    section: Section,
    into: &'c mut [Column; MAX_COLUMNS as usize],
) -> Result<&'c [Column], GuardError> {
    let count = r.uleb("column count")?;
    limit("columns in a chunk", count, MAX_COLUMNS)?;
    let mut total: u64 = 0;
    for slot in into.iter_mut().take(count as usize) {
        let spec = r.uleb32("column specification")?;
        let len = r.uleb("column length")?;
        if spec & DEFLATE != 0 {
            return Err(GuardError::DeflatedColumn {
                section: section.name(),
                spec,
            });
        }
        total = total.saturating_add(len);
        if total > r.remaining() as u64 {
            return Err(GuardError::ColumnLength {
                section: section.name(),
                claimed: total,
                available: r.remaining(),
            });
        }
        *slot = Column { spec, len };
    }
    Ok(&into[..count as usize])
}

fn total(cols: &[Column]) -> u64 {
    cols.iter().map(|c| c.len).sum()
}

/// The values the longest column of a section expands to (the number of
/// changes or ops it describes, or more), each held to `cap`.
fn values(cols: &[Column], data: &[u8], section: Section, cap: u64) -> Result<u64, GuardError> {
    let mut r = Reader::new(data);
    let mut longest = 0;
    for col in cols {
        let bytes = r.take(col.len, "column data")?;
        let count = column_values(col.spec, bytes, cap).map_err(|problem| match problem {
            ColumnProblem::Over(count) => GuardError::ColumnTooLong {
                section: section.name(),
                spec: col.spec,
                count,
                limit: cap,
            },
            ColumnProblem::Malformed(what) => GuardError::MalformedColumn {
                section: section.name(),
                spec: col.spec,
                problem: what,
            },
        })?;
        longest = longest.max(count);
    }
    Ok(longest)
}

/// The spec of a document's change-actor column (id 0, actor).
const CHANGE_ACTOR: u32 = 0x01;

/// The changes a document's change-actor column lists.
fn authored_changes(cols: &[Column], data: &[u8], cap: u64) -> Result<u64, GuardError> {
    let mut r = Reader::new(data);
    for col in cols {
        let bytes = r.take(col.len, "column data")?;
        if col.spec == CHANGE_ACTOR {
            // Already counted within `cap` by `values`.
            return column_values(col.spec, bytes, cap).map_err(|_| GuardError::MalformedColumn {
                section: Section::DocumentChanges.name(),
                spec: col.spec,
                problem: "unreadable",
            });
        }
    }
    Ok(0)
}

enum ColumnProblem {
    /// More values than the cap (the count reached so far).
    Over(u64),
    Malformed(&'static str),
}

impl From<GuardError> for ColumnProblem {
    fn from(e: GuardError) -> Self {
        match e {
            GuardError::Truncated(what) | GuardError::BadNumber(what) => {
                ColumnProblem::Malformed(what)
            }
            _ => ColumnProblem::Malformed("unreadable"),
        }
    }
}

/// The encodings, by the low three bits of a column specification.
const GROUP: u32 = 0;
const DELTA: u32 = 3;
const BOOLEAN: u32 = 4;
const STRING: u32 = 5;
const RAW: u32 = 7;

/// How many values a column holds, counting runs without expanding them;
/// for a group column (whose values are counts of entries in the columns it
/// groups) the sum of its values counts too. Stops as soon as `cap` is passed.
fn column_values(spec: u32, bytes: &[u8], cap: u64) -> Result<u64, ColumnProblem> {
    let mut r = Reader::new(bytes);
    let mut count: u64 = 0;
    let mut grouped: u64 = 0;
    let check = |n: u64| {
        if n > cap {
            Err(ColumnProblem::Over(n))
        } else {
            Ok(())
        }
    };
    match spec & 0b111 {
        RAW => {}
        BOOLEAN => {
            while !r.is_empty() {
                count = count.saturating_add(r.uleb("boolean run")?);
                check(count)?;
            }
        }
        kind => {
            while !r.is_empty() {
                let run = r.sleb("run length")?;
                if run > 0 {
                    let value = value(&mut r, kind)?;
                    count = count.saturating_add(run as u64);
                    grouped = grouped.saturating_add(value.saturating_mul(run as u64));
                } else if run < 0 {
                    // Each literal takes at least a byte: the loop ends with
                    // the column, whatever the count claims.
                    let literals = run.unsigned_abs();
                    for _ in 0..literals {
                        let value = value(&mut r, kind)?;
                        grouped = grouped.saturating_add(value);
                    }
                    count = count.saturating_add(literals);
                } else {
                    count = count.saturating_add(r.uleb("null run")?);
                }
                check(count)?;
                if kind == GROUP {
                    check(grouped)?;
                }
            }
        }
    }
    Ok(count)
}

/// Skip one value of an RLE column; returns it when it is a count.
fn value(r: &mut Reader<'_>, kind: u32) -> Result<u64, ColumnProblem> {
    Ok(match kind {
        DELTA => {
            r.sleb("delta value")?;
            0
        }
        STRING => {
            let len = r.uleb("string length")?;
            r.take(len, "string")?;
            0
        }
        _ => r.uleb("value")?,
    })
}
