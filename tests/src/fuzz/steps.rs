//! The byte format of a sequence of frames (and pauses), shared by the
//! session and framing targets so the fuzzer's inputs stay meaningful.
//!
//! ```text
//! input  := flags:u8 step*
//! step   := 0                     flush  (nothing more to read for now)
//!         | 1                     pump   (our feed may have grown)
//!         | 2                     time   (the exchange timeout passes)
//!         | n+3 (LEB128) bytes[n] one frame of n bytes
//! ```
//!
//! A length running past the end takes what is left.

/// One thing the peer (or the shell) does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<'a> {
    Flush,
    Pump,
    Time,
    Frame(&'a [u8]),
}

/// Split an input into its flags byte and steps.
pub fn parse(data: &[u8]) -> (u8, Steps<'_>) {
    match data.split_first() {
        Some((flags, rest)) => (*flags, Steps { rest }),
        None => (0, Steps { rest: &[] }),
    }
}

pub struct Steps<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Steps<'a> {
    type Item = Step<'a>;

    fn next(&mut self) -> Option<Step<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        let mut value: u64 = 0;
        let mut used = 0;
        for (i, byte) in self.rest.iter().enumerate().take(10) {
            value |= u64::from(byte & 0x7f) << (7 * i as u32).min(63);
            used = i + 1;
            if byte & 0x80 == 0 {
                break;
            }
        }
        self.rest = &self.rest[used..];
        Some(match value {
            0 => Step::Flush,
            1 => Step::Pump,
            2 => Step::Time,
            n => {
                let len = usize::try_from(n - 3)
                    .unwrap_or(usize::MAX)
                    .min(self.rest.len());
                let (frame, rest) = self.rest.split_at(len);
                self.rest = rest;
                Step::Frame(frame)
            }
        })
    }
}

/// The input for `flags` and `steps` (what [`parse`] reads back).
pub fn encode(flags: u8, steps: &[Step<'_>]) -> Vec<u8> {
    let mut out = vec![flags];
    for step in steps {
        match step {
            Step::Flush => out.push(0),
            Step::Pump => out.push(1),
            Step::Time => out.push(2),
            Step::Frame(frame) => {
                put_varint(&mut out, frame.len() as u64 + 3);
                out.extend_from_slice(frame);
            }
        }
    }
    out
}

/// Owned steps, for recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedStep {
    Flush,
    Pump,
    Time,
    Frame(Vec<u8>),
}

impl OwnedStep {
    pub fn as_step(&self) -> Step<'_> {
        match self {
            OwnedStep::Flush => Step::Flush,
            OwnedStep::Pump => Step::Pump,
            OwnedStep::Time => Step::Time,
            OwnedStep::Frame(f) => Step::Frame(f),
        }
    }
}

pub fn encode_owned(flags: u8, steps: &[OwnedStep]) -> Vec<u8> {
    let steps: Vec<Step<'_>> = steps.iter().map(OwnedStep::as_step).collect();
    encode(flags, &steps)
}

/// Unsigned LEB128, as the frames encode it.
pub fn put_varint(out: &mut Vec<u8>, value: u64) {
    lienthong_sync::protocol::frame::put_varint(out, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_round_trip() {
        let big = vec![9u8; 300];
        let steps = [
            Step::Frame(b"abc"),
            Step::Flush,
            Step::Pump,
            Step::Time,
            Step::Frame(&[]),
            Step::Frame(&big),
        ];
        let bytes = encode(5, &steps);
        let (flags, parsed) = parse(&bytes);
        assert_eq!(flags, 5);
        assert_eq!(parsed.collect::<Vec<_>>(), steps);
    }

    #[test]
    fn a_length_past_the_end_takes_the_rest() {
        let (_, parsed) = parse(&[0, 0xff, 0x7f, 1, 2, 3]);
        assert_eq!(parsed.collect::<Vec<_>>(), vec![Step::Frame(&[1, 2, 3])]);
    }
}
