//! Attachments: scanned components and signed results, content-addressed.
//!
//! A file is cut into fixed 64 KiB chunks. Its reference in the dossier
//! carries the SHA-256 of the whole content (what an operator checks with
//! `sha256sum`) and the *chunk root*: the SHA-256 of the concatenated
//! chunk hashes. A node fetching the file gets the list of chunk hashes,
//! checks it against the root, then checks every chunk as it arrives — so a
//! corrupt chunk is caught and fetched again on its own, and a transfer cut
//! in the middle resumes from the chunks already verified.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// Size of every chunk but the last.
pub const CHUNK_SIZE: usize = 64 * 1024;

/// Hex of bytes (lowercase).
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Parse 64 hex digits.
pub fn parse_hash(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// How many chunks a file of `size` bytes has (at least one).
pub fn chunk_count(size: u64) -> u32 {
    let chunks = size.div_ceil(CHUNK_SIZE as u64).max(1);
    u32::try_from(chunks).unwrap_or(u32::MAX)
}

/// The chunk root of a list of chunk hashes.
pub fn chunk_root(chunk_hashes: &[[u8; 32]]) -> [u8; 32] {
    let mut root = Sha256::new();
    for h in chunk_hashes {
        root.update(h);
    }
    root.finalize().into()
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Hashes a file as it streams through, one chunk at a time.
#[derive(Default)]
pub struct AttachmentHasher {
    content: Sha256,
    chunk: Vec<u8>,
    chunk_hashes: Vec<[u8; 32]>,
    size: u64,
}

/// The result of hashing a whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed {
    pub content: [u8; 32],
    pub chunk_hashes: Vec<[u8; 32]>,
    pub root: [u8; 32],
    pub size: u64,
}

impl AttachmentHasher {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed bytes; returns the chunks completed by them, in order.
    pub fn update(&mut self, mut bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut done = Vec::new();
        self.content.update(bytes);
        self.size += bytes.len() as u64;
        while !bytes.is_empty() {
            let take = (CHUNK_SIZE - self.chunk.len()).min(bytes.len());
            self.chunk.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.chunk.len() == CHUNK_SIZE {
                let chunk = std::mem::take(&mut self.chunk);
                self.chunk_hashes.push(sha256(&chunk));
                done.push(chunk);
            }
        }
        done
    }

    /// Finish: the last (possibly short or empty) chunk and the hashes.
    pub fn finish(mut self) -> (Option<Vec<u8>>, Hashed) {
        let last = if !self.chunk.is_empty() || self.chunk_hashes.is_empty() {
            let chunk = std::mem::take(&mut self.chunk);
            self.chunk_hashes.push(sha256(&chunk));
            Some(chunk)
        } else {
            None
        };
        let hashed = Hashed {
            content: self.content.finalize().into(),
            root: chunk_root(&self.chunk_hashes),
            chunk_hashes: self.chunk_hashes,
            size: self.size,
        };
        (last, hashed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_and_hashes_a_stream_in_any_pieces() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut whole = AttachmentHasher::new();
        let mut chunks = whole.update(&data);
        let (last, a) = whole.finish();
        chunks.extend(last);
        assert_eq!(chunks.len(), 4);
        assert_eq!(a.content, sha256(&data));
        assert_eq!(a.chunk_hashes.len() as u32, chunk_count(data.len() as u64));
        let mut pieces = AttachmentHasher::new();
        for piece in data.chunks(777) {
            pieces.update(piece);
        }
        let (_, b) = pieces.finish();
        assert_eq!(a, b);
        assert_eq!(parse_hash(&hex(&a.root)), Some(a.root));
    }

    #[test]
    fn an_empty_file_has_one_empty_chunk() {
        let (last, hashed) = AttachmentHasher::new().finish();
        assert_eq!(last, Some(Vec::new()));
        assert_eq!(hashed.chunk_hashes.len(), 1);
        assert_eq!(chunk_count(0), 1);
    }
}
