//! A small deterministic mutator for the stable runner (libFuzzer brings
//! its own): bit flips, byte edits, inserts, deletes, duplications,
//! splices with other corpus entries, interesting integers, and LEB128
//! edits — the wire formats here (frames, Automerge sync messages and
//! documents, Bloom filters) are full of varint lengths and counts, and a
//! hostile count is what the attacks are made of.

use rand::Rng;

/// Values worth trying wherever an integer is read.
const INTERESTING: [u64; 16] = [
    0,
    1,
    2,
    7,
    0x7f,
    0x80,
    0xff,
    0x100,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0xffff_ffff,
    0x1_0000_0000,
    1 << 62,
    i64::MAX as u64,
    u64::MAX,
];

/// Mutate `data` in place with 1–4 stacked edits; `others` supplies
/// splices; the result is at most `max_len` bytes.
pub fn mutate<R: Rng>(rng: &mut R, data: &mut Vec<u8>, others: &[Vec<u8>], max_len: usize) {
    let edits = rng.random_range(1..=4);
    for _ in 0..edits {
        edit(rng, data, others);
    }
    data.truncate(max_len);
}

fn edit<R: Rng>(rng: &mut R, data: &mut Vec<u8>, others: &[Vec<u8>]) {
    if data.is_empty() {
        let n = rng.random_range(1..16);
        data.extend((0..n).map(|_| rng.random::<u8>()));
        return;
    }
    let at = rng.random_range(0..data.len());
    match rng.random_range(0..11) {
        0 => data[at] ^= 1 << rng.random_range(0..8),
        1 => data[at] = rng.random(),
        2 => {
            let n = rng.random_range(1..=8);
            let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
            data.splice(at..at, bytes);
        }
        3 => {
            let end = (at + rng.random_range(1..=16)).min(data.len());
            data.drain(at..end);
        }
        4 => {
            // Duplicate a range (repeated entries: a hash listed twice).
            let len = rng.random_range(1..=64).min(data.len() - at);
            let copy = data[at..at + len].to_vec();
            let to = rng.random_range(0..=data.len());
            data.splice(to..to, copy);
        }
        5 => {
            // Splice in a piece of another input.
            if let Some(other) = pick(rng, others) {
                let from = rng.random_range(0..other.len());
                let len = rng.random_range(1..=256).min(other.len() - from);
                let piece = &other[from..from + len];
                let end = (at + len).min(data.len());
                data.splice(at..end, piece.iter().copied());
            }
        }
        6 => {
            // Overwrite with an interesting integer, little endian.
            let value = INTERESTING[rng.random_range(0..INTERESTING.len())];
            let width = [1, 2, 4, 8][rng.random_range(0..4)];
            for (i, b) in value.to_le_bytes()[..width].iter().enumerate() {
                if let Some(slot) = data.get_mut(at + i) {
                    *slot = *b;
                }
            }
        }
        7 | 8 => {
            // Replace the varint at `at` (or starting there) with an
            // interesting LEB128 value.
            let end = varint_end(data, at);
            let value = if rng.random_bool(0.7) {
                INTERESTING[rng.random_range(0..INTERESTING.len())]
            } else {
                let old = read_varint(&data[at..end]);
                match rng.random_range(0..3) {
                    0 => old.wrapping_add(1),
                    1 => old.wrapping_sub(1),
                    _ => old.wrapping_mul(2),
                }
            };
            let mut bytes = Vec::new();
            super::steps::put_varint(&mut bytes, value);
            data.splice(at..end, bytes);
        }
        9 => {
            data.truncate(at);
        }
        _ => {
            // Swap two bytes.
            let other = rng.random_range(0..data.len());
            data.swap(at, other);
        }
    }
}

fn pick<'a, R: Rng>(rng: &mut R, others: &'a [Vec<u8>]) -> Option<&'a Vec<u8>> {
    let nonempty: Vec<&Vec<u8>> = others.iter().filter(|o| !o.is_empty()).collect();
    if nonempty.is_empty() {
        return None;
    }
    Some(nonempty[rng.random_range(0..nonempty.len())])
}

fn varint_end(data: &[u8], at: usize) -> usize {
    let mut end = at;
    while end < data.len() && end - at < 10 {
        end += 1;
        if data[end - 1] & 0x80 == 0 {
            break;
        }
    }
    end
}

fn read_varint(bytes: &[u8]) -> u64 {
    let mut value = 0u64;
    for (i, b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i as u32).min(63);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn mutation_is_deterministic_and_bounded() {
        let seed = vec![1u8, 2, 3, 4, 5, 6, 7, 8];
        let others = vec![vec![0xAAu8; 300]];
        let run = |s: u64| {
            let mut rng = ChaCha8Rng::seed_from_u64(s);
            let mut outs = Vec::new();
            for _ in 0..200 {
                let mut d = seed.clone();
                mutate(&mut rng, &mut d, &others, 64);
                assert!(d.len() <= 64);
                outs.push(d);
            }
            outs
        };
        let a = run(7);
        assert_eq!(a, run(7));
        assert!(a.iter().filter(|d| **d != seed).count() > 150);
    }
}
