//! The frames of a sync session and their binary encoding.
//!
//! Every frame is `type byte, fields…`, integers as LEB128 varints, byte
//! strings length-prefixed. Decoding checks every length against the bytes
//! present and the configured limits: a frame from the network never
//! panics the node and never makes it allocate more than the frame's size.

use super::attest::{self, ATTESTATION_LEN, Attestation, MAX_ATTESTATIONS};
use crate::document_id::DocumentId;

/// Protocol version spoken by this build.
/// Version 2 (issue 8): changes travel with their authors' attestations
/// ([`Frame::Attest`]); a version 1 peer is refused at `Hello`.
pub const PROTOCOL_VERSION: u16 = 2;

/// A frame of the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// First frame in each direction. `since` is the sender's checkpoint of
    /// the peer's feed (what it has durably stored): "send me what is in my
    /// scope above `since`". `last_seq` is the sender's own feed head, for
    /// progress reports. The window bounds what may be in flight to it.
    Hello {
        version: u16,
        since: u64,
        last_seq: u64,
        window_docs: u32,
        window_bytes: u32,
    },
    /// Sender → receiver: the first Automerge sync message of one document
    /// changed at feed sequence `seq`.
    Offer {
        seq: u64,
        doc: DocumentId,
        message: Vec<u8>,
    },
    /// Receiver → sender, within the exchange the sender's offer opened
    /// (the receiver could not complete the document from the offer alone).
    Reply { doc: DocumentId, message: Vec<u8> },
    /// Sender → receiver: a further message of an exchange after a reply.
    Continue { doc: DocumentId, message: Vec<u8> },
    /// Sender → receiver: every feed entry in the receiver's scope with
    /// sequence ≤ `seq` has been offered.
    Through { seq: u64 },
    /// Receiver → sender: everything offered up to `through` is durable on
    /// the receiver; frees window.
    Ack { through: u64 },
    /// Receiver → sender: a document it will not store, and why.
    Refuse { doc: DocumentId, reason: String },
    /// Fatal: the sender closes the session after this.
    Error { code: u16, reason: String },
    /// Receiver → holder: send these chunks of a blob (and its manifest).
    BlobWant {
        hash: [u8; 32],
        manifest: bool,
        chunks: Vec<u32>,
    },
    /// The hashes of a blob's chunks, in order.
    BlobManifest {
        hash: [u8; 32],
        chunks: Vec<[u8; 32]>,
    },
    /// One chunk of a blob.
    BlobChunk {
        hash: [u8; 32],
        index: u32,
        data: Vec<u8>,
    },
    /// The blob is not available here (or not to you).
    BlobMissing { hash: [u8; 32] },
    /// The blob is now complete and verified at the sender of this frame.
    BlobHave { hash: [u8; 32] },
    /// Sender → receiver, before the `Offer` or `Continue` carrying the
    /// changes: their authors' attestations (issue 8), at most
    /// [`MAX_ATTESTATIONS`] per frame (a longer list takes several frames).
    Attest {
        doc: DocumentId,
        attestations: Vec<Attestation>,
    },
}

/// Size of a blob chunk (the last may be shorter). Must match the chunking
/// of attachment references (`lienthong_shared::dossier::attachment`).
pub const BLOB_CHUNK_SIZE: usize = 64 * 1024;

/// Most chunks one `BlobWant` may ask for.
pub const MAX_WANT_CHUNKS: usize = 64;

/// Most chunks a blob may have (1 GiB of 64 KiB chunks; a manifest of
/// 512 KiB). Attachments are limited far below this at admission.
pub const MAX_BLOB_CHUNKS: usize = 16_384;

/// Error codes of [`Frame::Error`].
pub mod error_code {
    pub const PROTOCOL: u16 = 1;
    pub const VERSION: u16 = 2;
    pub const STORE: u16 = 3;
    pub const TOO_LARGE: u16 = 4;
    pub const SHUTDOWN: u16 = 5;
    /// An exchange made no progress within the session's timeout.
    pub const TIMEOUT: u16 = 6;
}

/// Bytes a frame adds around its sync message or chunk (type, sequence,
/// document id or blob hash, index, length prefix): a frame is at most
/// its payload plus this.
pub const FRAME_OVERHEAD: usize = 64;

const HELLO: u8 = 1;
const OFFER: u8 = 2;
const REPLY: u8 = 3;
const CONTINUE: u8 = 4;
const THROUGH: u8 = 5;
const ACK: u8 = 6;
const REFUSE: u8 = 7;
const ERROR: u8 = 8;
const BLOB_WANT: u8 = 9;
const BLOB_MANIFEST: u8 = 10;
const BLOB_CHUNK: u8 = 11;
const BLOB_MISSING: u8 = 12;
const BLOB_HAVE: u8 = 13;
const ATTEST: u8 = 14;

/// Longest reason text accepted in a frame.
pub const MAX_REASON: usize = 1024;

/// Why bytes are not a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("empty frame")]
    Empty,
    #[error("unknown frame type {0}")]
    UnknownType(u8),
    #[error("frame truncated while reading {0}")]
    Truncated(&'static str),
    #[error("{0} is not a valid varint")]
    BadVarint(&'static str),
    #[error("{field} of {len} bytes exceeds the limit of {limit}")]
    TooLong {
        field: &'static str,
        len: u64,
        limit: u64,
    },
    #[error("{0} bytes left over after the frame")]
    TrailingBytes(usize),
    #[error("reason text is not UTF-8")]
    BadText,
}

impl Frame {
    /// A short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Frame::Hello { .. } => "hello",
            Frame::Offer { .. } => "offer",
            Frame::Reply { .. } => "reply",
            Frame::Continue { .. } => "continue",
            Frame::Through { .. } => "through",
            Frame::Ack { .. } => "ack",
            Frame::Refuse { .. } => "refuse",
            Frame::Error { .. } => "error",
            Frame::BlobWant { .. } => "blob-want",
            Frame::BlobManifest { .. } => "blob-manifest",
            Frame::BlobChunk { .. } => "blob-chunk",
            Frame::BlobMissing { .. } => "blob-missing",
            Frame::BlobHave { .. } => "blob-have",
            Frame::Attest { .. } => "attest",
        }
    }

    /// Are these encoded bytes an `Attest` frame (by their type byte only:
    /// nothing else is checked)? The shell counts an `Attest` with the
    /// offer it precedes (`transport/driver.rs`).
    pub fn is_attest(encoded: &[u8]) -> bool {
        encoded.first() == Some(&ATTEST)
    }

    /// Are these encoded bytes an `Offer` frame (by their type byte only)?
    /// The shell prepares offers ahead of the session
    /// (`protocol::prepare`).
    pub fn is_offer(encoded: &[u8]) -> bool {
        encoded.first() == Some(&OFFER)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len_hint());
        match self {
            Frame::Hello {
                version,
                since,
                last_seq,
                window_docs,
                window_bytes,
            } => {
                out.push(HELLO);
                put_varint(&mut out, u64::from(*version));
                put_varint(&mut out, *since);
                put_varint(&mut out, *last_seq);
                put_varint(&mut out, u64::from(*window_docs));
                put_varint(&mut out, u64::from(*window_bytes));
            }
            Frame::Offer { seq, doc, message } => {
                out.push(OFFER);
                put_varint(&mut out, *seq);
                out.extend_from_slice(&doc.0);
                put_bytes(&mut out, message);
            }
            Frame::Reply { doc, message } => {
                out.push(REPLY);
                out.extend_from_slice(&doc.0);
                put_bytes(&mut out, message);
            }
            Frame::Continue { doc, message } => {
                out.push(CONTINUE);
                out.extend_from_slice(&doc.0);
                put_bytes(&mut out, message);
            }
            Frame::Through { seq } => {
                out.push(THROUGH);
                put_varint(&mut out, *seq);
            }
            Frame::Ack { through } => {
                out.push(ACK);
                put_varint(&mut out, *through);
            }
            Frame::Refuse { doc, reason } => {
                out.push(REFUSE);
                out.extend_from_slice(&doc.0);
                put_bytes(&mut out, truncate(reason).as_bytes());
            }
            Frame::Error { code, reason } => {
                out.push(ERROR);
                put_varint(&mut out, u64::from(*code));
                put_bytes(&mut out, truncate(reason).as_bytes());
            }
            Frame::BlobWant {
                hash,
                manifest,
                chunks,
            } => {
                out.push(BLOB_WANT);
                out.extend_from_slice(hash);
                out.push(u8::from(*manifest));
                put_varint(&mut out, chunks.len() as u64);
                for index in chunks {
                    put_varint(&mut out, u64::from(*index));
                }
            }
            Frame::BlobManifest { hash, chunks } => {
                out.push(BLOB_MANIFEST);
                out.extend_from_slice(hash);
                put_varint(&mut out, chunks.len() as u64);
                for chunk in chunks {
                    out.extend_from_slice(chunk);
                }
            }
            Frame::BlobChunk { hash, index, data } => {
                out.push(BLOB_CHUNK);
                out.extend_from_slice(hash);
                put_varint(&mut out, u64::from(*index));
                put_bytes(&mut out, data);
            }
            Frame::BlobMissing { hash } => {
                out.push(BLOB_MISSING);
                out.extend_from_slice(hash);
            }
            Frame::BlobHave { hash } => {
                out.push(BLOB_HAVE);
                out.extend_from_slice(hash);
            }
            Frame::Attest { doc, attestations } => {
                out.push(ATTEST);
                out.extend_from_slice(&doc.0);
                put_varint(&mut out, attestations.len() as u64);
                for a in attestations {
                    a.encode_into(&mut out);
                }
            }
        }
        out
    }

    fn encoded_len_hint(&self) -> usize {
        match self {
            Frame::Offer { message, .. }
            | Frame::Reply { message, .. }
            | Frame::Continue { message, .. } => message.len() + 32,
            Frame::Attest { attestations, .. } => attestations.len() * ATTESTATION_LEN + 32,
            _ => 32,
        }
    }

    /// Decode one frame; `max_message` bounds the sync message size.
    pub fn decode(bytes: &[u8], max_message: usize) -> Result<Frame, DecodeError> {
        let mut r = Reader { bytes, pos: 0 };
        let kind = r.byte("frame type").map_err(|_| DecodeError::Empty)?;
        let frame = match kind {
            HELLO => Frame::Hello {
                version: r.bounded("version", u64::from(u16::MAX))? as u16,
                since: r.varint("since")?,
                last_seq: r.varint("last_seq")?,
                window_docs: r.bounded("window_docs", u64::from(u32::MAX))? as u32,
                window_bytes: r.bounded("window_bytes", u64::from(u32::MAX))? as u32,
            },
            OFFER => Frame::Offer {
                seq: r.varint("seq")?,
                doc: r.doc()?,
                message: r.bytes("message", max_message)?.to_vec(),
            },
            REPLY => Frame::Reply {
                doc: r.doc()?,
                message: r.bytes("message", max_message)?.to_vec(),
            },
            CONTINUE => Frame::Continue {
                doc: r.doc()?,
                message: r.bytes("message", max_message)?.to_vec(),
            },
            THROUGH => Frame::Through {
                seq: r.varint("seq")?,
            },
            ACK => Frame::Ack {
                through: r.varint("through")?,
            },
            REFUSE => Frame::Refuse {
                doc: r.doc()?,
                reason: r.text("reason")?,
            },
            ERROR => Frame::Error {
                code: r.bounded("code", u64::from(u16::MAX))? as u16,
                reason: r.text("reason")?,
            },
            BLOB_WANT => {
                let hash = r.hash()?;
                let manifest = r.byte("manifest flag")? != 0;
                let count = r.bounded("chunk count", MAX_WANT_CHUNKS as u64)? as usize;
                let mut chunks = Vec::with_capacity(count);
                for _ in 0..count {
                    chunks.push(r.bounded("chunk index", u64::from(u32::MAX))? as u32);
                }
                Frame::BlobWant {
                    hash,
                    manifest,
                    chunks,
                }
            }
            BLOB_MANIFEST => {
                let hash = r.hash()?;
                let count = r.bounded("manifest length", MAX_BLOB_CHUNKS as u64)? as usize;
                let mut chunks = Vec::with_capacity(count.min(bytes.len() / 32 + 1));
                for _ in 0..count {
                    chunks.push(r.hash()?);
                }
                Frame::BlobManifest { hash, chunks }
            }
            BLOB_CHUNK => Frame::BlobChunk {
                hash: r.hash()?,
                index: r.bounded("chunk index", u64::from(u32::MAX))? as u32,
                data: r.bytes("chunk", BLOB_CHUNK_SIZE)?.to_vec(),
            },
            BLOB_MISSING => Frame::BlobMissing { hash: r.hash()? },
            BLOB_HAVE => Frame::BlobHave { hash: r.hash()? },
            ATTEST => {
                let doc = r.doc()?;
                let count = r.bounded("attestation count", MAX_ATTESTATIONS as u64)? as usize;
                // The bytes must be there before anything is allocated.
                let list = r.fixed("attestations", count * ATTESTATION_LEN)?;
                let attestations = attest::decode_list(list)
                    .map_err(|_| DecodeError::Truncated("attestations"))?;
                Frame::Attest { doc, attestations }
            }
            other => return Err(DecodeError::UnknownType(other)),
        };
        if r.pos != bytes.len() {
            return Err(DecodeError::TrailingBytes(bytes.len() - r.pos));
        }
        Ok(frame)
    }
}

fn truncate(text: &str) -> &str {
    if text.len() <= MAX_REASON {
        return text;
    }
    let mut end = MAX_REASON;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Append `value` as an unsigned LEB128 varint, the integer encoding of
/// these frames (and of Automerge's formats): public for tests and tools
/// that build wire bytes by hand.
pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or(DecodeError::Truncated(what))?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte(what)?;
            let part = u64::from(b & 0x7f);
            if shift == 63 && part > 1 {
                return Err(DecodeError::BadVarint(what));
            }
            value |= part << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::BadVarint(what))
    }

    fn bounded(&mut self, what: &'static str, limit: u64) -> Result<u64, DecodeError> {
        let value = self.varint(what)?;
        if value > limit {
            return Err(DecodeError::TooLong {
                field: what,
                len: value,
                limit,
            });
        }
        Ok(value)
    }

    fn bytes(&mut self, what: &'static str, limit: usize) -> Result<&'a [u8], DecodeError> {
        let len = self.bounded(what, limit as u64)? as usize;
        let end = self
            .pos
            .checked_add(len)
            .ok_or(DecodeError::Truncated(what))?;
        let slice = self
            .bytes
            .get(self.pos..end)
            .ok_or(DecodeError::Truncated(what))?;
        self.pos = end;
        Ok(slice)
    }

    /// Exactly `len` bytes (a length the frame's own count implies).
    fn fixed(&mut self, what: &'static str, len: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(len)
            .ok_or(DecodeError::Truncated(what))?;
        let slice = self
            .bytes
            .get(self.pos..end)
            .ok_or(DecodeError::Truncated(what))?;
        self.pos = end;
        Ok(slice)
    }

    fn doc(&mut self) -> Result<DocumentId, DecodeError> {
        let end = self.pos + 16;
        let slice = self
            .bytes
            .get(self.pos..end)
            .ok_or(DecodeError::Truncated("document id"))?;
        self.pos = end;
        let mut id = [0u8; 16];
        id.copy_from_slice(slice);
        Ok(DocumentId(id))
    }

    fn hash(&mut self) -> Result<[u8; 32], DecodeError> {
        let end = self.pos + 32;
        let slice = self
            .bytes
            .get(self.pos..end)
            .ok_or(DecodeError::Truncated("hash"))?;
        self.pos = end;
        let mut hash = [0u8; 32];
        hash.copy_from_slice(slice);
        Ok(hash)
    }

    fn text(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let bytes = self.bytes(what, MAX_REASON)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::BadText)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn doc() -> impl Strategy<Value = DocumentId> {
        any::<[u8; 16]>().prop_map(DocumentId)
    }

    fn frame() -> impl Strategy<Value = Frame> {
        prop_oneof![
            (
                any::<u16>(),
                any::<u64>(),
                any::<u64>(),
                any::<u32>(),
                any::<u32>()
            )
                .prop_map(|(version, since, last_seq, window_docs, window_bytes)| {
                    Frame::Hello {
                        version,
                        since,
                        last_seq,
                        window_docs,
                        window_bytes,
                    }
                }),
            (
                any::<u64>(),
                doc(),
                proptest::collection::vec(any::<u8>(), 0..300)
            )
                .prop_map(|(seq, doc, message)| Frame::Offer { seq, doc, message }),
            (doc(), proptest::collection::vec(any::<u8>(), 0..300))
                .prop_map(|(doc, message)| Frame::Reply { doc, message }),
            (doc(), proptest::collection::vec(any::<u8>(), 0..300))
                .prop_map(|(doc, message)| Frame::Continue { doc, message }),
            any::<u64>().prop_map(|seq| Frame::Through { seq }),
            any::<u64>().prop_map(|through| Frame::Ack { through }),
            (doc(), ".{0,40}").prop_map(|(doc, reason)| Frame::Refuse { doc, reason }),
            (any::<u16>(), ".{0,40}").prop_map(|(code, reason)| Frame::Error { code, reason }),
            (
                any::<[u8; 32]>(),
                any::<bool>(),
                proptest::collection::vec(any::<u32>(), 0..64)
            )
                .prop_map(|(hash, manifest, chunks)| Frame::BlobWant {
                    hash,
                    manifest,
                    chunks
                }),
            (
                any::<[u8; 32]>(),
                proptest::collection::vec(any::<[u8; 32]>(), 0..20)
            )
                .prop_map(|(hash, chunks)| Frame::BlobManifest { hash, chunks }),
            (
                any::<[u8; 32]>(),
                any::<u32>(),
                proptest::collection::vec(any::<u8>(), 0..500)
            )
                .prop_map(|(hash, index, data)| Frame::BlobChunk { hash, index, data }),
            any::<[u8; 32]>().prop_map(|hash| Frame::BlobMissing { hash }),
            any::<[u8; 32]>().prop_map(|hash| Frame::BlobHave { hash }),
            (
                doc(),
                proptest::collection::vec(
                    (
                        any::<[u8; 32]>(),
                        any::<[u8; 32]>(),
                        any::<[u8; 32]>(),
                        any::<[u8; 32]>()
                    ),
                    0..5
                )
            )
                .prop_map(|(doc, parts)| Frame::Attest {
                    doc,
                    attestations: parts
                        .into_iter()
                        .map(|(change, key, s1, s2)| {
                            let mut signature = [0u8; 64];
                            signature[..32].copy_from_slice(&s1);
                            signature[32..].copy_from_slice(&s2);
                            Attestation {
                                change,
                                key,
                                signature,
                            }
                        })
                        .collect(),
                }),
        ]
    }

    proptest! {
        #[test]
        fn round_trips(frame in frame()) {
            let bytes = frame.encode();
            prop_assert_eq!(Frame::decode(&bytes, 1 << 20).unwrap(), frame);
        }

        #[test]
        fn is_attest_says_what_decoding_says(frame in frame()) {
            let bytes = frame.encode();
            prop_assert_eq!(Frame::is_attest(&bytes), matches!(frame, Frame::Attest { .. }));
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Frame::decode(&bytes, 1 << 20);
        }

        #[test]
        fn truncations_are_errors(frame in frame(), cut in 0usize..1000) {
            let bytes = frame.encode();
            if cut < bytes.len() {
                prop_assert!(Frame::decode(&bytes[..cut], 1 << 20).is_err());
            }
        }
    }

    #[test]
    fn oversized_message_is_refused_before_allocation() {
        let mut bytes = vec![OFFER];
        put_varint(&mut bytes, 1);
        bytes.extend_from_slice(&[0; 16]);
        put_varint(&mut bytes, u64::MAX >> 1);
        assert!(matches!(
            Frame::decode(&bytes, 1024),
            Err(DecodeError::TooLong { .. })
        ));
    }

    #[test]
    fn an_attest_frame_claiming_more_than_it_holds_is_refused_before_allocation() {
        let mut bytes = vec![ATTEST];
        bytes.extend_from_slice(&[0; 16]);
        put_varint(&mut bytes, MAX_ATTESTATIONS as u64);
        bytes.extend_from_slice(&[0; ATTESTATION_LEN]);
        assert_eq!(
            Frame::decode(&bytes, 1024),
            Err(DecodeError::Truncated("attestations"))
        );
        let mut too_many = vec![ATTEST];
        too_many.extend_from_slice(&[0; 16]);
        put_varint(&mut too_many, MAX_ATTESTATIONS as u64 + 1);
        assert!(matches!(
            Frame::decode(&too_many, 1024),
            Err(DecodeError::TooLong { .. })
        ));
    }

    #[test]
    fn hello_is_small() {
        let hello = Frame::Hello {
            version: PROTOCOL_VERSION,
            since: 10_000,
            last_seq: 20_000,
            window_docs: 512,
            window_bytes: 8 << 20,
        };
        assert!(hello.encode().len() <= 16);
    }
}
