//! What a receiving session's tests start with: the peer, document ids and
//! the peer's `Hello`.

use lienthong_sync::DocumentId;
use lienthong_sync::protocol::{Frame, PROTOCOL_VERSION};

/// The peer the session under test talks to.
pub const PEER: [u8; 32] = [0xA; 32];

/// The `i`th test document's id.
pub fn doc_id(i: u8) -> DocumentId {
    DocumentId([i; 16])
}

/// The peer's `Hello`, announcing a feed up to `last_seq` and a window of
/// 64 documents / 1 MiB.
pub fn hello(last_seq: u64) -> Vec<u8> {
    Frame::Hello {
        version: PROTOCOL_VERSION,
        since: 0,
        last_seq,
        window_docs: 64,
        window_bytes: 1 << 20,
    }
    .encode()
}
