//! Hand-made Automerge bytes: sync messages with any field a hostile peer
//! cares to lie about, Bloom filters with impossible parameters, and a
//! DEFLATE bomb in a compressed change chunk.
//!
//! Automerge's own encoder cannot make these (its Bloom filter fields are
//! private and its encoder only writes what it could have produced), so
//! the formats are written out here, from automerge 0.12:
//!
//! - sync message (`sync.rs`, `Message::encode`): a type byte (`0x42` v1,
//!   `0x43` v2); `heads` and `need` as a ULEB128 count and 32-byte hashes;
//!   `have` as a count of (`last_sync` hashes, ULEB128 length + Bloom
//!   bytes); `changes` as a count of (ULEB128 length + chunk bytes); then,
//!   optionally, the flags (`2, 0x02, 0x80 | bits`). Without the flags the
//!   receiver takes the peer for a v1 peer (no whole-document reply);
//! - Bloom filter (`sync/bloom.rs`): ULEB128 `num_entries`,
//!   `num_bits_per_entry`, `num_probes`, then `ceil(entries × bits / 8)`
//!   bytes. Probing a hash allocates `num_probes` u32s and takes every
//!   probe modulo the filter's bit count;
//! - chunk (`storage/chunk.rs`): magic `85 6f 4a 83`, 4 checksum bytes, a
//!   type byte (2: a compressed change, its body raw DEFLATE), ULEB128
//!   length, body. The body is inflated whole before anything is checked.

/// First byte of a v1 sync message.
pub const SYNC_V1: u8 = 0x42;
/// First byte of a v2 sync message.
pub const SYNC_V2: u8 = 0x43;

/// Message flag bits (automerge `MessageFlags`).
pub const FLAG_READ_ONLY: u8 = 1 << 1;
pub const FLAG_SUPPORTS_SYNC_RESET: u8 = 1 << 2;

const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const CHUNK_COMPRESSED: u8 = 2;

/// Unsigned LEB128, as the frames encode it.
pub fn uleb(out: &mut Vec<u8>, value: u64) {
    lienthong_sync::protocol::frame::put_varint(out, value);
}

fn hashes(out: &mut Vec<u8>, list: &[[u8; 32]]) {
    uleb(out, list.len() as u64);
    for hash in list {
        out.extend_from_slice(hash);
    }
}

/// One `have` entry: the heads of the last sync and a Bloom filter's bytes.
#[derive(Debug, Clone, Default)]
pub struct Have {
    pub last_sync: Vec<[u8; 32]>,
    pub bloom: Vec<u8>,
}

/// A sync message, every field as the sender pleases.
#[derive(Debug, Clone)]
pub struct SyncMessage {
    pub version: u8,
    pub heads: Vec<[u8; 32]>,
    pub need: Vec<[u8; 32]>,
    pub have: Vec<Have>,
    pub changes: Vec<Vec<u8>>,
    /// `None`: no flags section (a v1 peer).
    pub flags: Option<u8>,
}

impl Default for SyncMessage {
    fn default() -> Self {
        SyncMessage {
            version: SYNC_V1,
            heads: Vec::new(),
            need: Vec::new(),
            have: Vec::new(),
            changes: Vec::new(),
            flags: None,
        }
    }
}

impl SyncMessage {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.version];
        hashes(&mut out, &self.heads);
        hashes(&mut out, &self.need);
        uleb(&mut out, self.have.len() as u64);
        for have in &self.have {
            hashes(&mut out, &have.last_sync);
            uleb(&mut out, have.bloom.len() as u64);
            out.extend_from_slice(&have.bloom);
        }
        uleb(&mut out, self.changes.len() as u64);
        for change in &self.changes {
            uleb(&mut out, change.len() as u64);
            out.extend_from_slice(change);
        }
        if let Some(bits) = self.flags {
            uleb(&mut out, 2);
            out.push(0x02);
            out.push(0x80 | bits);
        }
        out
    }
}

/// A Bloom filter's bytes with the given parameters and `ceil(entries ×
/// bits / 8)` bytes of `0xff` (every probe hits, as the format requires
/// that many bytes to follow).
pub fn bloom(num_entries: u32, bits_per_entry: u32, num_probes: u32) -> Vec<u8> {
    let mut out = Vec::new();
    uleb(&mut out, u64::from(num_entries));
    uleb(&mut out, u64::from(bits_per_entry));
    uleb(&mut out, u64::from(num_probes));
    let len = (u64::from(num_entries) * u64::from(bits_per_entry)).div_ceil(8);
    out.resize(out.len() + len as usize, 0xff);
    out
}

/// A hash no document holds (a fixed pattern, not a real change).
pub fn unknown_hash(tag: u8) -> [u8; 32] {
    let mut hash = [0xa5u8; 32];
    hash[0] = tag;
    hash[31] = 0x5a;
    hash
}

/// Bits into bytes, least significant bit first (DEFLATE's order).
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    count: u32,
}

impl BitWriter {
    fn new() -> Self {
        BitWriter {
            out: Vec::new(),
            acc: 0,
            count: 0,
        }
    }

    /// `count` bits of `value`, least significant first.
    fn bits(&mut self, value: u64, count: u32) {
        self.acc |= value << self.count;
        self.count += count;
        while self.count >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.count -= 8;
        }
    }

    /// A Huffman code: sent most significant bit first.
    fn code(&mut self, code: u64, len: u32) {
        let mut reversed = 0;
        for i in 0..len {
            reversed |= ((code >> i) & 1) << (len - 1 - i);
        }
        self.bits(reversed, len);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.count > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// A raw DEFLATE stream (RFC 1951) that inflates to at least `inflated`
/// zero bytes: one fixed-Huffman block of a literal zero and then copies
/// of 258 bytes at distance 1, 13 bits each — about 1/159 of the output,
/// and so regular that the transport's zstd shrinks it a thousandfold again.
pub fn deflate_zeros(inflated: u64) -> Vec<u8> {
    let mut w = BitWriter::new();
    w.bits(1, 1); // BFINAL
    w.bits(1, 2); // BTYPE = 01, fixed Huffman
    w.code(0x30, 8); // literal 0 (codes 0..143 are 0x30 + value, 8 bits)
    let copies = inflated.saturating_sub(1).div_ceil(258);
    for _ in 0..copies {
        w.code(0b1100_0101, 8); // length code 285: 258 bytes, no extra bits
        w.code(0, 5); // distance code 0: distance 1
    }
    w.code(0, 7); // end of block (256)
    w.finish()
}

/// A compressed-change chunk around `deflated` (the checksum is left zero:
/// Automerge inflates the body before it looks at it).
pub fn compressed_chunk(deflated: &[u8]) -> Vec<u8> {
    let mut out = CHUNK_MAGIC.to_vec();
    out.extend_from_slice(&[0; 4]);
    out.push(CHUNK_COMPRESSED);
    uleb(&mut out, deflated.len() as u64);
    out.extend_from_slice(deflated);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_decode_as_automerge_reads_them() {
        let message = SyncMessage {
            version: SYNC_V2,
            heads: vec![unknown_hash(1)],
            need: vec![unknown_hash(2), unknown_hash(2)],
            have: vec![Have {
                last_sync: vec![],
                bloom: bloom(1, 10, 7),
            }],
            changes: vec![vec![1, 2, 3]],
            flags: Some(FLAG_SUPPORTS_SYNC_RESET),
        };
        let decoded = automerge::sync::Message::decode(&message.encode()).unwrap();
        assert_eq!(decoded.heads.len(), 1);
        assert_eq!(decoded.need.len(), 2, "the duplicate survives decoding");
        assert_eq!(decoded.have.len(), 1);
        assert_eq!(decoded.changes.len(), 1);
        assert!(decoded.flags.is_some());
        // The hostile parameters decode too (decoding allocates nothing
        // in proportion to them; probing does).
        for filter in [bloom(1, 8, u32::MAX), bloom(1, 0, 7)] {
            let message = SyncMessage {
                heads: vec![unknown_hash(3)],
                have: vec![Have {
                    last_sync: vec![],
                    bloom: filter,
                }],
                ..SyncMessage::default()
            };
            let decoded = automerge::sync::Message::decode(&message.encode()).unwrap();
            assert_eq!(decoded.have.len(), 1);
            assert!(decoded.flags.is_none());
        }
    }

    #[test]
    fn the_deflate_stream_inflates_to_what_it_claims() {
        use std::io::Read;
        let deflated = deflate_zeros(1 << 20);
        assert!(deflated.len() < 7 << 10, "{} bytes", deflated.len());
        // Inflate with a bounded reader: this test must not be a bomb.
        let mut inflated = Vec::new();
        let mut decoder = flate2::bufread::DeflateDecoder::new(&deflated[..]);
        decoder
            .by_ref()
            .take(4 << 20)
            .read_to_end(&mut inflated)
            .unwrap();
        assert!(inflated.len() >= 1 << 20 && inflated.len() < (1 << 20) + 258);
        assert!(inflated.iter().all(|&b| b == 0));
    }
}
