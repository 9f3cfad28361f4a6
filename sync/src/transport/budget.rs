//! The memory one peer can make this node hold, added up from the limits
//! that bound each buffer. The constants here and in the session are the
//! source of the figure in `docs/peer-bounds.md`; a test keeps the default
//! configuration's sum under [`PER_PEER_TARGET`].
//!
//! Automerge's share is measured, not derived (`sync/tests/budget.rs`
//! measures it again): a document loaded from `n` bytes of its saved form
//! lives in about 12 KiB + 2.2 × `n` of heap, and loading it peaks at 5–11 ×
//! `n` for a moment (the larger the document, the lower the factor).

use super::driver::{DriverConfig, READ_CHUNK, WRITE_BATCH};
use super::framing::{MAX_WINDOW, STEP};
use super::sink_helper::{PREPARE_CHUNK_BYTES, prepared_cost};
use crate::protocol::blobs::{PARALLEL as FETCHES, STORE_BATCH as VERIFIED_CHUNKS};
use crate::protocol::frame::{BLOB_CHUNK_SIZE, MAX_BLOB_CHUNKS};
use crate::protocol::prepare::{PREPARE_MAX_FRAME, PREPARE_MAX_MESSAGE};

/// What the default configuration must stay under.
pub const PER_PEER_TARGET: usize = 64 << 20;

/// Heap of an Automerge document beyond its bytes (measured: 13.7 KB for a
/// document of five small events), with the session's bookkeeping for it.
pub const DOCUMENT_OVERHEAD: usize = 16 << 10;
/// Heap of a loaded document per byte of the messages it came in
/// (measured: at most 2.2 beyond the overhead).
pub const LIVE_FACTOR: usize = 3;
/// Transient heap while Automerge applies one message, per byte of it
/// (measured: 6.5 at 0.7 MB, the size that matters at a 1 MiB limit).
pub const APPLY_PEAK_FACTOR: usize = 8;
/// Transient heap while Automerge loads a small document, per byte of it
/// (measured: 12 at 64 KB; the factor grows as documents shrink, and
/// only offers up to `PREPARE_MAX_MESSAGE` are loaded ahead).
pub const SMALL_LOAD_PEAK_FACTOR: usize = 12;
/// The zstd compression context of the writer (1 MiB window, level 3).
pub const ENCODER_CONTEXT: usize = 2 << 20;
/// The zstd decompression context beyond its window.
pub const DECODER_CONTEXT: usize = 128 << 10;
/// The state kept per document we have in flight to the peer: its
/// sequence, identifier, heads and size, and the heads our opening message
/// left the exchange at (`messages::opening_state`; a reply of the peer's is
/// answered from a state rebuilt from them and dropped with the reply).
/// Measured at the worst point of the maps' growth by
/// `sync/tests/budget.rs::a_sender_keeps_no_more_per_offer_in_flight_than_the_bound_counts`.
pub const OFFER_STATE: usize = 448;
/// What the receiver keeps per offer of the peer's between its arrival and
/// our `Ack`: its sequence and size for the window, and while its document
/// is open its sequence, the document, and the sequence in the document's
/// list. Measured at the full window, every offer open, by
/// `sync/tests/budget.rs::a_receiver_keeps_no_more_per_offer_in_its_window_than_the_bound_counts`:
/// 111–112 bytes an offer (the test alone, or among the file's others; 36
/// once the document is committed and only the size waits for the `Ack`).
pub const RECEIVED_OFFER_STATE: usize = 128;

/// Bytes QUIC may buffer for the connection: the receive window (what the
/// peer may send us unread) and the send window (what we have sent and the
/// peer has not acknowledged). See `tls::default_transport_config`.
#[derive(Debug, Clone, Copy)]
pub struct QuicWindows {
    pub receive: usize,
    pub send: usize,
}

/// One buffer's share of the bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: &'static str,
    pub bytes: usize,
    /// Which limit bounds it.
    pub from: &'static str,
}

/// The memory a peer can cost this node, part by part.
#[derive(Debug, Clone)]
pub struct MemoryBound {
    pub parts: Vec<Part>,
}

impl MemoryBound {
    pub fn total(&self) -> usize {
        self.parts.iter().map(|p| p.bytes).sum()
    }

    /// A table of the parts in MiB, for the docs.
    pub fn table(&self) -> String {
        let mib = |b: usize| b as f64 / f64::from(1 << 20);
        let mut out = String::from("| part | MiB | bounded by |\n|---|---:|---|\n");
        for p in &self.parts {
            out.push_str(&format!(
                "| {} | {:.2} | {} |\n",
                p.name,
                mib(p.bytes),
                p.from
            ));
        }
        out.push_str(&format!("| **total** | **{:.2}** | |\n", mib(self.total())));
        out
    }
}

impl DriverConfig {
    /// The memory one peer can make this node hold with this configuration.
    pub fn memory_bound(&self, quic: QuicWindows) -> MemoryBound {
        let s = &self.session;
        let held_docs = s.max_held_docs();
        let part = |name, bytes, from| Part { name, bytes, from };
        MemoryBound {
            parts: vec![
                part(
                    "QUIC receive buffer",
                    quic.receive,
                    "transport receive_window",
                ),
                part(
                    "reader queue",
                    self.reader_queue_bytes,
                    "reader_queue_bytes",
                ),
                part(
                    "frame waiting for the reader queue",
                    self.max_frame,
                    "max_frame",
                ),
                part(
                    "frame decoder: one frame, one step, one read",
                    self.max_frame + STEP + READ_CHUNK,
                    "max_frame",
                ),
                part(
                    "zstd decompression",
                    MAX_WINDOW + DECODER_CONTEXT,
                    "WindowLogMax",
                ),
                part("frame being handled", self.max_frame, "max_frame"),
                part(
                    "Automerge applying one message (peak)",
                    APPLY_PEAK_FACTOR * s.max_message,
                    "max_message",
                ),
                part(
                    "documents loaded ahead of the session: four chunks (issue 11)",
                    4 * (PREPARE_CHUNK_BYTES + prepared_cost(PREPARE_MAX_FRAME)),
                    "PREPARE_CHUNK_BYTES",
                ),
                part(
                    "an offer being loaded ahead (peak)",
                    SMALL_LOAD_PEAK_FACTOR * PREPARE_MAX_MESSAGE,
                    "PREPARE_MAX_MESSAGE",
                ),
                part(
                    "unfinished documents: per-document state",
                    held_docs * DOCUMENT_OVERHEAD,
                    "held_docs",
                ),
                // Attestations held for them share that budget (128 bytes
                // each, held in a `Vec`: at most 2 per byte, under the
                // factor).
                part(
                    "unfinished documents: their content and attestations",
                    LIVE_FACTOR * s.max_pending_bytes(),
                    "held_bytes + max_message",
                ),
                part(
                    "our own documents loaded for unfinished exchanges",
                    s.max_loaded_bytes(),
                    "held_bytes (estimated from operations)",
                ),
                part(
                    "the peer's offers in our window, not yet acknowledged",
                    s.window_docs as usize * RECEIVED_OFFER_STATE,
                    "window_docs",
                ),
                part(
                    "our offers in flight",
                    s.max_window_docs * OFFER_STATE,
                    "max_window_docs",
                ),
                part(
                    "blob fetches: manifests and verified chunks",
                    FETCHES * (MAX_BLOB_CHUNKS * 32 + VERIFIED_CHUNKS * BLOB_CHUNK_SIZE),
                    "MAX_BLOB_CHUNKS",
                ),
                part(
                    "send queue (limit, and one frame past it)",
                    s.send_queue_limit + self.max_frame,
                    "send_queue_limit",
                ),
                part(
                    "writer queue and zstd compression",
                    self.writer_queue_bytes + WRITE_BATCH + ENCODER_CONTEXT,
                    "writer_queue_bytes",
                ),
                part("QUIC send buffer", quic.send, "transport send_window"),
            ],
        }
    }
}
