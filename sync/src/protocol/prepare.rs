//! The part of handling a frame that needs nothing of the session's state:
//! decoding the frame and, for an offer, the guard's check of its sync
//! message, its decoding, and — when it carries a whole document — the
//! strict load of that document (`Automerge::load`, most of a receiving
//! node's CPU in an initial sync: it rebuilds the op set and recomputes
//! every change hash).
//!
//! Pure functions of the peer's bytes and the session's limits, so the
//! shell may run them on another thread, ahead of the session, while the
//! session is busy with earlier frames (`transport/driver.rs`: issue 11's
//! second core). The session then takes the [`Prepared`] frame instead of
//! the bytes ([`super::Session::handle_prepared`]) and does exactly what it
//! would have done with the bytes — same checks, same errors, same
//! refusals — except that what was prepared is not done again. A prepared
//! load the session cannot use (the document turned out to be held here
//! already) is dropped and the message applied as before.
//!
//! Nothing is skipped: a prepared offer went through the same
//! [`guard::sync_message`] with the same [`GuardLimits`], and the load ran
//! under [`guard::contained`], as in [`super::inbound`].

use automerge::Automerge;
use automerge::sync::Message;

use super::frame::{DecodeError, Frame};
use super::guard::{self, GuardError, GuardLimits};
use super::messages;

/// Offers carrying more than this are not prepared ahead (the session
/// loads them itself): the memory a prepared load may peak at, beside the
/// session's own, stays small (`transport/budget.rs`). A dossier's whole
/// document is a few KB.
pub const PREPARE_MAX_MESSAGE: usize = 32 << 10;

/// The largest frame [`Preparer::worth_preparing`] passes: an offer of
/// [`PREPARE_MAX_MESSAGE`] and its header (type, sequence, document id,
/// length: well under 256 bytes).
pub const PREPARE_MAX_FRAME: usize = PREPARE_MAX_MESSAGE + 256;

/// What decoding and checking one frame needs to know of the session: its
/// limits. Cloned out of the session (`Session::preparer`), so what it
/// prepares is judged exactly as the session judges.
#[derive(Debug, Clone)]
pub struct Preparer {
    max_message: usize,
    guard: GuardLimits,
}

/// A whole new document as `messages::whole_new_document` gives it (the
/// document and the bytes it came in), or what stopped Automerge.
pub(crate) type Loaded = Result<Option<(Automerge, Vec<u8>)>, GuardError>;

/// An offer's message, checked and decoded ahead of the session.
pub(crate) struct PreparedOffer {
    /// [`guard::sync_message`] of the message.
    pub(crate) decoded: Result<Message, GuardError>,
    /// The whole document it carries, loaded strictly with its heads
    /// checked (`messages::whole_new_document`, contained): `None` when
    /// not attempted (not a single document chunk, or not prepared).
    pub(crate) whole: Option<Loaded>,
}

/// A frame as the session takes it: decoded, and an offer possibly
/// checked and loaded ahead.
pub struct Prepared {
    len: usize,
    pub(crate) frame: Result<Frame, DecodeError>,
    pub(crate) offer: Option<PreparedOffer>,
}

impl Prepared {
    /// The frame's encoded size.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Is it an `Attest` frame (counted with the offer it precedes)?
    pub fn is_attest(&self) -> bool {
        matches!(self.frame, Ok(Frame::Attest { .. }))
    }

    /// Was a whole document loaded ahead for it?
    pub fn loaded(&self) -> bool {
        matches!(
            self.offer,
            Some(PreparedOffer {
                whole: Some(Ok(Some(_))),
                ..
            })
        )
    }
}

impl Preparer {
    pub(crate) fn new(max_message: usize, guard: GuardLimits) -> Self {
        Preparer { max_message, guard }
    }

    /// Decode the frame only (what [`super::Session::handle`] does).
    pub fn decode(&self, bytes: &[u8]) -> Prepared {
        Prepared {
            len: bytes.len(),
            frame: Frame::decode(bytes, self.max_message),
            offer: None,
        }
    }

    /// May [`Self::prepare`] load something for these frame bytes (an
    /// offer of at most [`PREPARE_MAX_FRAME`] bytes)? The shell counts and
    /// budgets what it prepares ahead by this.
    pub fn worth_preparing(bytes: &[u8]) -> bool {
        bytes.len() <= PREPARE_MAX_FRAME && Frame::is_offer(bytes)
    }

    /// Decode the frame and, for an offer of at most
    /// [`PREPARE_MAX_MESSAGE`] bytes, check and decode its message and load
    /// the whole document it carries, if it carries one.
    pub fn prepare(&self, bytes: &[u8]) -> Prepared {
        let mut prepared = self.decode(bytes);
        if let Ok(Frame::Offer { message, .. }) = &prepared.frame
            && message.len() <= PREPARE_MAX_MESSAGE
        {
            prepared.offer = Some(self.prepare_offer(message));
        }
        prepared
    }

    fn prepare_offer(&self, message: &[u8]) -> PreparedOffer {
        let decoded = guard::sync_message(message, &self.guard);
        let whole = match &decoded {
            // Only a single document chunk: a change chunk is applied to
            // the copy held here (and loaded only if there is none).
            Ok(m) if single_document_chunk(m) => {
                Some(guard::contained(|| messages::whole_new_document(m)))
            }
            _ => None,
        };
        PreparedOffer { decoded, whole }
    }
}

/// Does the message carry exactly one chunk, a document chunk (Automerge's
/// chunk header: magic, checksum, then the type byte, 0 for a document)?
fn single_document_chunk(message: &Message) -> bool {
    let mut chunks = message.changes.iter();
    matches!(
        (chunks.next(), chunks.next()),
        (Some(chunk), None) if chunk.get(8) == Some(&0)
    )
}
