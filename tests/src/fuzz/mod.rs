//! Fuzz targets for what a hostile peer can reach (issue 7, principle 9 of
//! DESIGN.md): one function per target, taking arbitrary bytes, that must
//! never panic and that checks the target's invariants. The same functions
//! run in two harnesses:
//!
//! - `tests/tests/fuzz.rs` on stable Rust in CI: the checked-in corpus
//!   (`tests/fuzz/corpus/<target>/`) plus seeds generated from the project
//!   and a bounded number of seeded mutations ([`mutate`]);
//! - `tests/fuzz/` as cargo-fuzz (libFuzzer) targets for long runs on a
//!   nightly toolchain.
//!
//! `docs/fuzzing.md` tells how to run them and what they found.

pub mod admission;
pub mod alloc;
pub mod fixture;
pub mod guard;
pub mod mutate;
pub mod panics;
pub mod seeds;
pub mod session;
pub mod steps;

use lienthong_sync::protocol::SessionConfig;
use lienthong_sync::protocol::frame::{DecodeError, Frame};
use lienthong_sync::transport::framing::{FrameDecoder, FrameEncoder};

pub use admission::admission;
pub use guard::guard;
pub use session::{session_receive, session_send};

/// Live memory one input may cost: the per-peer bound the issue aims at.
pub const MEMORY_BUDGET: usize = 64 << 20;

/// A fuzz target.
pub type Target = fn(&[u8]);

/// Every target, by the name of its corpus folder and libFuzzer binary.
pub const TARGETS: &[(&str, Target)] = &[
    ("frame_decode", frame_decode),
    ("framing", framing),
    ("session_receive", session_receive),
    ("session_send", session_send),
    ("admission", admission),
    ("guard", guard),
];

pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// `Frame::decode` on one frame's bytes, with the session's message limit.
///
/// Invariants: decoding allocates at most about the frame's own size
/// (never what a length field claims); a decoded frame encodes back to at
/// most as many bytes (canonical varints) and decodes again to itself; one
/// byte less is an error (every field is needed) and one byte more is
/// `TrailingBytes`.
pub fn frame_decode(data: &[u8]) {
    let max_message = SessionConfig::default().max_message;
    let (decoded, cost) =
        alloc::measure_input(data, MEMORY_BUDGET, || Frame::decode(data, max_message));
    assert!(
        cost.within(2 * data.len() + 1024),
        "decoding {} bytes allocated {}",
        data.len(),
        cost.peak
    );
    let Ok(frame) = decoded else {
        return;
    };
    let encoded = frame.encode();
    assert!(
        encoded.len() <= data.len(),
        "{} re-encoded to {} bytes from {}",
        frame.name(),
        encoded.len(),
        data.len()
    );
    assert_eq!(
        Frame::decode(&encoded, max_message).as_ref(),
        Ok(&frame),
        "a decoded frame does not survive encode/decode"
    );
    if let Some((_, shorter)) = data.split_last() {
        assert!(
            Frame::decode(shorter, max_message).is_err(),
            "a {} frame less its last byte still decodes",
            frame.name()
        );
    }
    let mut longer = data.to_vec();
    longer.push(0);
    assert_eq!(
        Frame::decode(&longer, max_message),
        Err(DecodeError::TrailingBytes(1))
    );
}

/// Flag bits of the framing target's first byte.
pub mod framing_flags {
    /// Round trip: the steps' frames go through a `FrameEncoder` first.
    pub const ROUND_TRIP: u8 = 1;
}

/// Most frames or bytes taken from one input (zstd can expand a few
/// bytes into a lot of empty frames; the decoder bounds memory, not work).
const FRAMING_MAX_FRAMES: usize = 100_000;
const FRAMING_MAX_OUTPUT: usize = 256 << 20;

/// The stream framing (`transport::framing`), two ways, by the first
/// byte's low bit (see [`steps`] for the rest of the input):
///
/// - raw: each step's bytes are one read from a hostile peer's stream,
///   pushed into a `FrameDecoder` whose frame limit comes from the flags;
///   every frame out is within the limit, and memory stays within two
///   frames plus a few decompression steps whatever the stream claims;
/// - round trip: each step's bytes are one frame pushed into a
///   `FrameEncoder` (a `Flush` step flushes), and the wire, read back in
///   pieces of a size from the flags, gives the same frames in order.
pub fn framing(data: &[u8]) {
    let (flags, steps) = steps::parse(data);
    if flags & framing_flags::ROUND_TRIP != 0 {
        framing_round_trip(flags, steps);
        return;
    }
    let max_frame = 1usize << (10 + (flags >> 1) % 15);
    // The decoder's buffer grows by doubling past a frame (up to twice its
    // size) and is handed over as the frame: two frames' worth, measured.
    let bound = 2 * max_frame + 4 * 64 * 1024 + 2 * data.len() + 4096;
    let ((), cost) = alloc::measure_input(data, MEMORY_BUDGET.max(bound), || {
        let mut decoder = FrameDecoder::new(max_frame).expect("a zstd context");
        let (mut frames, mut output) = (0usize, 0usize);
        for step in steps {
            let steps::Step::Frame(read) = step else {
                continue;
            };
            decoder.push(read);
            loop {
                match decoder.next_frame() {
                    Ok(Some(frame)) => {
                        assert!(frame.len() <= max_frame, "a frame over the limit came out");
                        frames += 1;
                        output += frame.len() + 4;
                        if frames >= FRAMING_MAX_FRAMES || output >= FRAMING_MAX_OUTPUT {
                            return;
                        }
                    }
                    Ok(None) => break,
                    // The driver closes the connection.
                    Err(_) => return,
                }
            }
        }
    });
    assert!(
        cost.within(bound),
        "decoding a {}-byte stream with frames up to {max_frame} bytes held {} bytes",
        data.len(),
        cost.peak
    );
}

fn framing_round_trip(flags: u8, steps: steps::Steps<'_>) {
    let mut encoder = FrameEncoder::new().expect("a zstd context");
    let mut sent: Vec<&[u8]> = Vec::new();
    for step in steps {
        match step {
            steps::Step::Frame(frame) => {
                encoder.push(frame).expect("pushing a frame");
                sent.push(frame);
            }
            steps::Step::Flush => encoder.flush().expect("flushing"),
            steps::Step::Pump | steps::Step::Time => {}
        }
    }
    encoder.flush().expect("flushing");
    let wire = encoder.take();
    let piece = 1 + usize::from(flags >> 1) * 97;
    let mut decoder = FrameDecoder::new(16 << 20).expect("a zstd context");
    let mut received = Vec::new();
    for read in wire.chunks(piece) {
        decoder.push(read);
        while let Some(frame) = decoder.next_frame().expect("our own stream decodes") {
            received.push(frame);
        }
    }
    assert_eq!(received.len(), sent.len(), "frames lost or invented");
    for (i, (got, want)) in received.iter().zip(&sent).enumerate() {
        assert!(got.as_slice() == *want, "frame {i} changed on the way");
    }
}
