//! The fuzz targets on stable Rust, bounded for CI: for each target, every
//! file of its checked-in corpus (`tests/fuzz/corpus/<target>/`, except
//! `known_crash/`), then `FUZZ_CASES` seeded mutations of them (default
//! per target below; `FUZZ_SEED` changes the seed). Each input runs under
//! the counting allocator with the per-input memory budget.
//!
//! A failing input is saved under `target/fuzz-crashes/<target>/` and
//! named in the failure; `FUZZ_REPLAY=<file>` runs just that file through
//! the target its folder names (`cargo test -p lienthong-tests --test fuzz
//! replay -- --nocapture`). See `docs/fuzzing.md`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use lienthong_tests::fuzz::{self, Target, alloc, mutate, panics};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

#[global_allocator]
static ALLOC: alloc::CountingAlloc = alloc::CountingAlloc;

/// Largest mutated input.
const MAX_LEN: usize = 256 * 1024;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

fn crash_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/fuzz-crashes")
        .join(target)
}

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| {
            let bytes = std::fs::read(e.path()).expect("read a corpus file");
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect();
    files.sort();
    files
}

fn cases(default: usize) -> usize {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Run one input; on a panic that escapes the target, keep the input and
/// fail naming the file.
fn run_one(target_name: &str, target: Target, label: &str, input: &[u8]) {
    if let Err(report) = panics::run(target, input) {
        let dir = crash_dir(target_name);
        std::fs::create_dir_all(&dir).expect("create the crash folder");
        let name = format!("crash-{}", hex(&Sha256::digest(input)[..8]));
        let path = dir.join(name);
        std::fs::write(&path, input).expect("save the crashing input");
        panic!(
            "{target_name}: {label} {report}; the input is saved at {} \
             (replay with a backtrace: FUZZ_REPLAY={} RUST_BACKTRACE=1 \
             cargo test -p lienthong-tests --test fuzz replay -- --nocapture)",
            path.display(),
            path.display()
        );
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn fuzz(target_name: &str, default_cases: usize) {
    let target = fuzz::target(target_name).expect("a known target");
    let dir = crash_dir(target_name);
    std::fs::create_dir_all(&dir).expect("create the crash folder");
    // An input refused memory aborts the process; the allocator leaves it here first.
    alloc::set_crash_file(&dir.join("refused-memory"));
    let started = Instant::now();
    let corpus = corpus(target_name);
    assert!(
        corpus.len() >= 3,
        "{target_name}: the checked-in corpus is missing (cargo run -p lienthong-tests --bin fuzzcorpus)"
    );
    for (name, bytes) in &corpus {
        run_one(target_name, target, &format!("corpus file {name}"), bytes);
    }
    let inputs: Vec<Vec<u8>> = corpus.into_iter().map(|(_, b)| b).collect();
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(20_260_105);
    let name_hash = u64::from_le_bytes(Sha256::digest(target_name)[..8].try_into().unwrap());
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ name_hash);
    let cases = cases(default_cases);
    for case in 0..cases {
        let mut input = inputs[rng.random_range(0..inputs.len())].clone();
        mutate::mutate(&mut rng, &mut input, &inputs, MAX_LEN);
        run_one(target_name, target, &format!("mutation {case}"), &input);
    }
    println!(
        "{target_name}: {} corpus files and {cases} mutations in {:.1} s",
        inputs.len(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn frame_decode() {
    fuzz("frame_decode", 200_000);
}

#[test]
fn framing() {
    fuzz("framing", 3_000);
}

#[test]
fn session_receive() {
    fuzz("session_receive", 2_000);
}

#[test]
fn session_send() {
    fuzz("session_send", 2_000);
}

#[test]
fn admission() {
    fuzz("admission", 2_000);
}

#[test]
fn guard() {
    fuzz("guard", 30_000);
}

/// Every target has a test above and a libFuzzer binary.
#[test]
fn every_target_runs_in_both_harnesses() {
    let this = include_str!("fuzz.rs");
    let fuzz_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let manifest =
        std::fs::read_to_string(fuzz_dir.join("Cargo.toml")).expect("tests/fuzz/Cargo.toml");
    for (name, _) in fuzz::TARGETS {
        assert!(
            this.contains(&format!("fuzz(\"{name}\"")),
            "no stable test runs {name}"
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "no libFuzzer binary for {name}"
        );
        assert!(fuzz_dir.join(format!("fuzz_targets/{name}.rs")).is_file());
    }
}

/// The counting allocator sees this binary's allocations (else the
/// memory invariants would pass vacuously) and a budget holds.
#[test]
fn the_allocator_counts() {
    let (held, cost) = alloc::measure(1 << 20, || vec![7u8; 100_000]);
    assert!(cost.counted);
    assert!(cost.peak >= 100_000 && cost.peak < 200_000, "{cost:?}");
    drop(held);
}

/// `FUZZ_REPLAY=<file>`: run one file through the target named by its
/// folder (`…/<target>/file` or `…/<target>/known_crash/file`).
#[test]
fn replay() {
    let Some(path) = std::env::var_os("FUZZ_REPLAY").map(PathBuf::from) else {
        return;
    };
    let bytes = std::fs::read(&path).expect("read the replayed file");
    let target_name = path
        .ancestors()
        .skip(1)
        .filter_map(|p| p.file_name()?.to_str())
        .find(|n| fuzz::target(n).is_some())
        .expect("the file lies in a folder named after a target");
    let target = fuzz::target(target_name).expect("a target");
    // The default hook, for a backtrace (unbounded: it reads debug info).
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        alloc::lift_budget();
        default(info);
    }));
    alloc::set_crash_file(&crash_dir(target_name).join("refused-memory"));
    target(&bytes);
    println!("{target_name}: {} ran clean", path.display());
}

/// What the stream decoder holds for the largest frame: 540 bytes of
/// zstd claiming a 16 MiB frame of zeros (the figure in docs/fuzzing.md).
#[test]
fn a_sixteen_mib_frame_costs_the_decoder_two_frames_at_most() {
    use lienthong_sync::transport::framing::{FrameDecoder, FrameEncoder};
    let mut encoder = FrameEncoder::new().expect("zstd");
    encoder.push(&vec![0u8; 16 << 20]).expect("encode");
    encoder.flush().expect("flush");
    let wire = encoder.take();
    assert!(wire.len() < 1024, "{} bytes on the wire", wire.len());
    let (len, cost) = alloc::measure(1 << 30, || {
        let mut decoder = FrameDecoder::new(16 << 20).expect("zstd");
        decoder.push(&wire);
        decoder
            .next_frame()
            .expect("decodes")
            .expect("a frame")
            .len()
    });
    assert_eq!(len, 16 << 20);
    println!(
        "a 16 MiB frame from {} bytes held {} bytes",
        wire.len(),
        cost.peak
    );
    assert!(
        cost.counted && cost.peak <= 2 * (16 << 20) + 4 * 64 * 1024,
        "{cost:?}"
    );
}
