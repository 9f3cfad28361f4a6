//! Frames on a QUIC stream: each frame length-prefixed (u32, little endian)
//! and the whole stream compressed with zstd, flushed whenever the sender
//! has nothing more queued. One compression context per stream means
//! documents that share vocabulary (office names, the notes officers
//! write) compress against each other.
//!
//! Sans-IO like the session: bytes in, frames out, and the reverse. The
//! decoder never holds more than one frame plus one decompression step,
//! whatever the peer sends (a zstd bomb gets an error, not the node's
//! memory), and a zstd window of at most [`MAX_WINDOW`] bytes.

use std::io;

use zstd::stream::raw::{CParameter, DParameter, Decoder, Encoder, InBuffer, Operation, OutBuffer};

/// Bytes of decompressed output produced per step.
pub const STEP: usize = 64 * 1024;

/// The encoder's zstd window (log2): 1 MiB.
const WINDOW_LOG: u32 = 20;
/// The largest zstd window the decoder accepts (log2): twice the
/// encoder's, so room to spare, and a stream asking for more is refused.
const MAX_WINDOW_LOG: u32 = 21;
/// Bytes of decompression window the decoder may hold.
pub const MAX_WINDOW: usize = 1 << MAX_WINDOW_LOG;

/// Why a stream could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum FramingError {
    #[error("frame of {len} bytes exceeds the limit of {limit}")]
    TooLarge { len: usize, limit: usize },
    #[error("corrupt compressed stream: {0}")]
    Corrupt(io::Error),
}

/// Frames → compressed bytes.
pub struct FrameEncoder {
    zstd: Encoder<'static>,
    output: Vec<u8>,
    dirty: bool,
}

impl FrameEncoder {
    pub fn new() -> io::Result<Self> {
        let mut zstd = Encoder::new(3)?;
        // 1 MiB window: enough context across documents, bounded memory on
        // both sides.
        zstd.set_parameter(CParameter::WindowLog(WINDOW_LOG))?;
        zstd.set_parameter(CParameter::ChecksumFlag(false))?;
        Ok(FrameEncoder {
            zstd,
            output: Vec::new(),
            dirty: false,
        })
    }

    /// Queue one frame.
    pub fn push(&mut self, frame: &[u8]) -> io::Result<()> {
        let len =
            u32::try_from(frame.len()).map_err(|_| io::Error::other("frame larger than 4 GiB"))?;
        self.compress(&len.to_le_bytes())?;
        self.compress(frame)?;
        self.dirty = true;
        Ok(())
    }

    fn compress(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let mut input = InBuffer::around(data);
            let start = self.output.len();
            self.output.reserve(STEP);
            let mut out = OutBuffer::around_pos(&mut self.output, start);
            self.zstd.run(&mut input, &mut out)?;
            let read = input.pos();
            data = &data[read..];
        }
        Ok(())
    }

    /// Make everything pushed so far decodable by the peer.
    pub fn flush(&mut self) -> io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        loop {
            let start = self.output.len();
            self.output.reserve(STEP);
            let mut out = OutBuffer::around_pos(&mut self.output, start);
            let remaining = self.zstd.flush(&mut out)?;
            if remaining == 0 {
                break;
            }
        }
        self.dirty = false;
        Ok(())
    }

    /// Compressed bytes ready to write.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    pub fn pending_output(&self) -> usize {
        self.output.len()
    }
}

/// Compressed bytes → frames.
pub struct FrameDecoder {
    zstd: Decoder<'static>,
    input: Vec<u8>,
    input_pos: usize,
    /// Decompressed bytes; those before `taken` were handed out as frames.
    buffer: Vec<u8>,
    taken: usize,
    /// One step's output (allocated once, not per step).
    step: Box<[u8]>,
    max_frame: usize,
    /// The last step filled its output: the decompressor may hold more
    /// output even with every input byte consumed (a frame larger than a
    /// step), so step again before waiting for input.
    more_output: bool,
}

impl FrameDecoder {
    pub fn new(max_frame: usize) -> io::Result<Self> {
        let mut zstd = Decoder::new()?;
        // Matches the encoder's window with room to spare; refuses streams
        // that would need more memory.
        zstd.set_parameter(DParameter::WindowLogMax(MAX_WINDOW_LOG))?;
        Ok(FrameDecoder {
            zstd,
            input: Vec::new(),
            input_pos: 0,
            buffer: Vec::new(),
            taken: 0,
            step: vec![0u8; STEP].into_boxed_slice(),
            max_frame,
            more_output: false,
        })
    }

    /// Bytes held: compressed input not yet consumed and decompressed
    /// bytes not yet handed out as frames.
    pub fn buffered(&self) -> usize {
        self.input.len() - self.input_pos + self.buffer.len() - self.taken
    }

    /// Bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.input_pos == self.input.len() {
            self.input.clear();
            self.input_pos = 0;
        }
        self.input.extend_from_slice(bytes);
    }

    /// The next complete frame, if the bytes so far hold one.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        loop {
            let held = &self.buffer[self.taken..];
            if held.len() >= 4 {
                let len = u32::from_le_bytes([held[0], held[1], held[2], held[3]]) as usize;
                if len > self.max_frame {
                    return Err(FramingError::TooLarge {
                        len,
                        limit: self.max_frame,
                    });
                }
                if held.len() >= 4 + len {
                    let end = self.taken + 4 + len;
                    let frame = if self.taken == 0 && self.buffer.len() - end <= len {
                        // A frame at least as large as what follows it:
                        // hand the buffer over as the frame (no copy: one
                        // frame in memory, not two) and copy the rest.
                        let rest = self.buffer.split_off(end);
                        let mut frame = std::mem::replace(&mut self.buffer, rest);
                        frame.drain(..4);
                        frame
                    } else {
                        // A small frame among others (an `Attest`, an
                        // offer of a small document): copied out, the rest
                        // left in place — not copied once per frame.
                        let frame = self.buffer[self.taken + 4..end].to_vec();
                        self.taken = end;
                        frame
                    };
                    if self.taken == self.buffer.len() {
                        self.buffer.clear();
                        self.taken = 0;
                    }
                    return Ok(Some(frame));
                }
            }
            if self.input_pos >= self.input.len() && !self.more_output {
                return Ok(None);
            }
            // The bytes handed out go before more are decompressed: never
            // more than a frame plus a step is held.
            if self.taken > 0 {
                self.buffer.drain(..self.taken);
                self.taken = 0;
            }
            let mut input = InBuffer::around(&self.input[self.input_pos..]);
            let mut out = OutBuffer::around(&mut self.step[..]);
            self.zstd
                .run(&mut input, &mut out)
                .map_err(FramingError::Corrupt)?;
            let written = out.pos();
            self.more_output = written == STEP;
            self.input_pos += input.pos();
            self.buffer.extend_from_slice(&self.step[..written]);
            if written == 0 && input.pos() == 0 {
                return Ok(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(frames: &[Vec<u8>], chunk: usize) -> Vec<Vec<u8>> {
        let mut encoder = FrameEncoder::new().unwrap();
        let mut wire = Vec::new();
        for (i, frame) in frames.iter().enumerate() {
            encoder.push(frame).unwrap();
            if i % 3 == 0 {
                encoder.flush().unwrap();
            }
        }
        encoder.flush().unwrap();
        wire.extend(encoder.take());
        let mut decoder = FrameDecoder::new(1 << 20).unwrap();
        let mut out = Vec::new();
        for piece in wire.chunks(chunk.max(1)) {
            decoder.push(piece);
            while let Some(frame) = decoder.next_frame().unwrap() {
                out.push(frame);
            }
        }
        out
    }

    /// A frame larger than one decompression step, alone on the stream
    /// (a 64 KiB attachment chunk with its header, the last thing sent for
    /// a while): it must come out of the bytes already received, not wait
    /// for the next frame to push it out of the decompressor.
    #[test]
    fn a_frame_larger_than_a_step_decodes_without_more_input() {
        let mut encoder = FrameEncoder::new().unwrap();
        let mut decoder = FrameDecoder::new(1 << 20).unwrap();
        for size in [STEP - 8, STEP, STEP + 40, 3 * STEP + 1] {
            // Incompressible, like a scanned page.
            let mut state = size as u64;
            let frame: Vec<u8> = (0..size)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (state >> 33) as u8
                })
                .collect();
            encoder.push(&frame).unwrap();
            encoder.flush().unwrap();
            decoder.push(&encoder.take());
            let decoded = decoder.next_frame().unwrap();
            assert!(
                decoded == Some(frame),
                "a frame of {size} bytes did not come out whole"
            );
            assert!(decoder.next_frame().unwrap().is_none());
        }
    }

    /// Thousands of small frames (an `Attest` before each offer) across
    /// many steps, then frames larger than a step: each comes out whole and
    /// in order, and what the decoder holds is only what it has not handed
    /// out (the small frames are taken from the step in place).
    #[test]
    fn small_frames_across_steps_then_large_ones() {
        let mut frames: Vec<Vec<u8>> = (0..5000u32)
            .map(|i| {
                let len = 100 + (i as usize * 37) % 300;
                (0..len).map(|j| (i as usize * 31 + j * 7) as u8).collect()
            })
            .collect();
        frames.push(vec![3u8; 2 * STEP + 5]);
        frames.push((0..STEP).map(|j| (j * 13) as u8).collect());
        frames.push(vec![9u8; 10]);
        let mut encoder = FrameEncoder::new().unwrap();
        for frame in &frames {
            encoder.push(frame).unwrap();
        }
        encoder.flush().unwrap();
        let wire = encoder.take();
        let mut decoder = FrameDecoder::new(1 << 20).unwrap();
        let mut out = Vec::new();
        for piece in wire.chunks(1500) {
            decoder.push(piece);
            while let Some(frame) = decoder.next_frame().unwrap() {
                assert!(
                    decoder.buffered() <= STEP + 2 * STEP + 5 + 1500,
                    "{} bytes held after frame {}",
                    decoder.buffered(),
                    out.len()
                );
                out.push(frame);
            }
        }
        assert_eq!(out.len(), frames.len());
        assert!(out == frames, "every frame whole and in order");
        assert_eq!(decoder.buffered(), 0);
    }

    proptest! {
        #[test]
        fn frames_survive_any_chunking(
            frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 0..20),
            chunk in 1usize..5000,
        ) {
            prop_assert_eq!(round_trip(&frames, chunk), frames);
        }

        #[test]
        fn garbage_is_an_error_not_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..500)) {
            let mut decoder = FrameDecoder::new(1 << 16).unwrap();
            decoder.push(&bytes);
            for _ in 0..100 {
                match decoder.next_frame() {
                    Ok(Some(_)) => continue,
                    _ => break,
                }
            }
        }
    }

    #[test]
    fn a_frame_over_the_limit_is_refused() {
        let mut encoder = FrameEncoder::new().unwrap();
        encoder.push(&vec![7u8; 100_000]).unwrap();
        encoder.flush().unwrap();
        let mut decoder = FrameDecoder::new(50_000).unwrap();
        decoder.push(&encoder.take());
        assert!(matches!(
            decoder.next_frame(),
            Err(FramingError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_compression_bomb_is_bounded() {
        // 64 MiB of zeros compresses to a few KiB; the decoder must refuse it
        // as one oversized frame without inflating it.
        let mut encoder = FrameEncoder::new().unwrap();
        let zeros = vec![0u8; 1 << 20];
        encoder.compress(&(64u32 << 20).to_le_bytes()).unwrap();
        for _ in 0..64 {
            encoder.compress(&zeros).unwrap();
        }
        encoder.dirty = true;
        encoder.flush().unwrap();
        let wire = encoder.take();
        assert!(wire.len() < 64 * 1024);
        let mut decoder = FrameDecoder::new(16 << 20).unwrap();
        decoder.push(&wire);
        assert!(matches!(
            decoder.next_frame(),
            Err(FramingError::TooLarge { .. })
        ));
    }

    #[test]
    fn similar_documents_compress_against_each_other() {
        let text = "Tiếp nhận hồ sơ trực tiếp, thành phần đầy đủ, đã cấp giấy biên nhận. commune:dien-ban/dien-phuong";
        let frames: Vec<Vec<u8>> = (0..100)
            .map(|i| format!("{i:08} {text}").into_bytes())
            .collect();
        let raw: usize = frames.iter().map(Vec::len).sum();
        let mut encoder = FrameEncoder::new().unwrap();
        for frame in &frames {
            encoder.push(frame).unwrap();
        }
        encoder.flush().unwrap();
        assert!(encoder.take().len() * 5 < raw);
    }
}
