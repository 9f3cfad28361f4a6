//! A tiny hand encoder for Automerge's wire formats, to build the bytes a
//! hostile peer would send (Automerge itself never writes them).
#![allow(dead_code)]

use sha2::{Digest, Sha256};

pub const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
pub const DOCUMENT: u8 = 0;
pub const CHANGE: u8 = 1;
pub const COMPRESSED: u8 = 2;
pub const BUNDLE: u8 = 3;
pub const DEFLATE: u32 = 0b1000;

/// Column specifications (id << 4 | type).
pub const ACTOR_COL: u32 = 0x01; // change metadata: actor (id 0, actor)
pub const SEQ_COL: u32 = 0x03; // change metadata: seq (id 0, delta)
pub const MAX_OP_COL: u32 = 0x13; // change metadata: max op (id 1, delta)
pub const OP_ACTION: u32 = 0x42; // ops: action (id 4, integer)
pub const DEPS_COUNT_COL: u32 = 0x40; // change metadata: deps count (id 4, group)

/// Unsigned LEB128, as the frames encode it.
pub fn uleb(out: &mut Vec<u8>, value: u64) {
    lienthong_sync::protocol::frame::put_varint(out, value);
}

pub fn sleb(out: &mut Vec<u8>, mut value: i64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        let done = (value == 0 && byte & 0x40 == 0) || (value == -1 && byte & 0x40 != 0);
        if done {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

pub fn hash(n: u8) -> [u8; 32] {
    let mut h = [0u8; 32];
    h[0] = n;
    h[31] = n.wrapping_mul(7);
    h
}

fn hashes(out: &mut Vec<u8>, list: &[[u8; 32]]) {
    uleb(out, list.len() as u64);
    for h in list {
        out.extend_from_slice(h);
    }
}

/// A Bloom filter's bytes with the given parameters and `bits` bytes of filter.
pub fn bloom(entries: u64, bits_per_entry: u64, probes: u64, bits: usize) -> Vec<u8> {
    let mut out = Vec::new();
    uleb(&mut out, entries);
    uleb(&mut out, bits_per_entry);
    uleb(&mut out, probes);
    out.extend(std::iter::repeat_n(0xff, bits));
    out
}

/// The bytes of a sync message, field by field.
#[derive(Default, Clone)]
pub struct Msg {
    pub v2: bool,
    pub heads: Vec<[u8; 32]>,
    pub need: Vec<[u8; 32]>,
    /// (last_sync, Bloom filter bytes)
    pub have: Vec<(Vec<[u8; 32]>, Vec<u8>)>,
    pub changes: Vec<Vec<u8>>,
    pub flags: Option<Vec<u8>>,
}

impl Msg {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![if self.v2 { 0x43 } else { 0x42 }];
        hashes(&mut out, &self.heads);
        hashes(&mut out, &self.need);
        uleb(&mut out, self.have.len() as u64);
        for (last_sync, bloom) in &self.have {
            hashes(&mut out, last_sync);
            uleb(&mut out, bloom.len() as u64);
            out.extend_from_slice(bloom);
        }
        uleb(&mut out, self.changes.len() as u64);
        for change in &self.changes {
            uleb(&mut out, change.len() as u64);
            out.extend_from_slice(change);
        }
        if let Some(flags) = &self.flags {
            uleb(&mut out, flags.len() as u64);
            out.extend_from_slice(flags);
        }
        out
    }
}

/// A chunk with a valid checksum (SHA-256 over type, length and data).
pub fn chunk(kind: u8, data: &[u8]) -> Vec<u8> {
    let mut len = Vec::new();
    uleb(&mut len, data.len() as u64);
    let mut hasher = Sha256::new();
    hasher.update([kind]);
    hasher.update(&len);
    hasher.update(data);
    let digest = hasher.finalize();
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&digest[..4]);
    out.push(kind);
    out.extend_from_slice(&len);
    out.extend_from_slice(data);
    out
}

fn columns(out: &mut Vec<u8>, cols: &[(u32, Vec<u8>)]) {
    uleb(out, cols.len() as u64);
    for (spec, data) in cols {
        uleb(out, u64::from(*spec));
        uleb(out, data.len() as u64);
    }
}

/// A document chunk's data: actors, heads, change columns, op columns, and
/// one head index per head.
pub fn document(
    actors: &[&[u8]],
    heads: &[[u8; 32]],
    change_cols: &[(u32, Vec<u8>)],
    op_cols: &[(u32, Vec<u8>)],
) -> Vec<u8> {
    let mut out = Vec::new();
    uleb(&mut out, actors.len() as u64);
    for actor in actors {
        uleb(&mut out, actor.len() as u64);
        out.extend_from_slice(actor);
    }
    hashes(&mut out, heads);
    columns(&mut out, change_cols);
    columns(&mut out, op_cols);
    for (_, data) in change_cols.iter().chain(op_cols) {
        out.extend_from_slice(data);
    }
    for i in 0..heads.len() {
        uleb(&mut out, i as u64);
    }
    chunk(DOCUMENT, &out)
}

/// A change chunk: no dependencies, one actor, the given op columns.
pub fn change(actor: &[u8], seq: u64, start_op: u64, op_cols: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    uleb(&mut out, 0); // deps
    uleb(&mut out, actor.len() as u64);
    out.extend_from_slice(actor);
    uleb(&mut out, seq);
    uleb(&mut out, start_op);
    sleb(&mut out, 0); // time
    uleb(&mut out, 0); // message
    uleb(&mut out, 0); // other actors
    columns(&mut out, op_cols);
    for (_, data) in op_cols {
        out.extend_from_slice(data);
    }
    chunk(CHANGE, &out)
}

/// An RLE column holding `value` (unsigned) `run` times: a few bytes.
pub fn rle_run(run: i64, value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    sleb(&mut out, run);
    uleb(&mut out, value);
    out
}

/// A delta column holding `run` repetitions of `delta`.
pub fn delta_run(run: i64, delta: i64) -> Vec<u8> {
    let mut out = Vec::new();
    sleb(&mut out, run);
    sleb(&mut out, delta);
    out
}

/// A document whose change columns claim `changes` changes by one actor in
/// a handful of bytes (Automerge expands them into vectors when loading).
pub fn rle_bomb_document(changes: i64) -> Vec<u8> {
    let actor: &[u8] = &[0xaa; 16];
    document(
        &[actor],
        &[],
        &[
            (ACTOR_COL, rle_run(changes, 0)),
            (SEQ_COL, delta_run(changes, 1)),
            (MAX_OP_COL, delta_run(changes, 1)),
        ],
        &[],
    )
}

/// A chunk of `kind` that the guard passes and Automerge panics on while
/// loading: the data of one of the `real` chunks with one to three bytes
/// changed and its checksum made right, found by a fixed search from
/// `seed` in at most `tries` attempts. Panics are silenced while it looks.
pub fn chunk_automerge_panics_on(
    kind: u8,
    real: &[Vec<u8>],
    seed: u64,
    tries: usize,
) -> Option<Vec<u8>> {
    use lienthong_sync::protocol::guard::{self, GuardLimits};
    let mut rng = seed;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut found = None;
    for _ in 0..tries {
        let bytes = &real[(next() % real.len() as u64) as usize];
        // The data after the header (magic, checksum, type, LEB128 length).
        let start = 9 + bytes[9..].iter().position(|b| b & 0x80 == 0).unwrap() + 1;
        let mut data = bytes[start..].to_vec();
        for _ in 0..1 + next() % 3 {
            let at = (next() % data.len() as u64) as usize;
            data[at] = next() as u8;
        }
        let candidate = chunk(kind, &data);
        if guard::document(&candidate, &GuardLimits::default()).is_ok()
            && std::panic::catch_unwind(|| automerge::Automerge::load(&candidate)).is_err()
        {
            found = Some(candidate);
            break;
        }
    }
    std::panic::set_hook(quiet);
    found
}
