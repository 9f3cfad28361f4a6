//! The Rust port of `shared/bench/workload.mjs` against the digests and
//! examples of `shared/bench/WORKLOAD-DATA.md`, and the Automerge
//! representation of a dossier.

use std::collections::HashSet;
use std::time::Instant;

use automerge::{ActorId, Automerge, ObjType, ROOT, ReadDoc, Value};
use lienthong_tests::workload::{
    DEFAULT_SEED, Mulberry32, apply_phase2, build_document, digest, dossier_seed, dump_jsonl,
    extra_jsonl, final_dossier, generate, hex, is_phase2, iso_timestamp, read_dossier,
};
use sha2::{Digest, Sha256};

fn sha256_hex(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

/// A fixed 16-byte actor id per dossier (16 bytes like JS automerge's random
/// actor ids, so the sizes are comparable).
fn actor(i: usize) -> ActorId {
    let mut bytes = [0xA5u8; 16];
    bytes[8..].copy_from_slice(&(i as u64).to_be_bytes());
    ActorId::from(bytes)
}

#[test]
fn prng_test_vector() {
    let seed0 = dossier_seed(DEFAULT_SEED, 0);
    assert_eq!(seed0, 2_667_732_152);
    let mut r = Mulberry32::new(seed0);
    let draws: Vec<u32> = (0..5).map(|_| r.next_u32()).collect();
    assert_eq!(
        draws,
        [
            3_725_401_735,
            2_827_426_662,
            900_615_620,
            789_856_506,
            3_227_369_857
        ]
    );
}

#[test]
fn iso_timestamps_match_chrono() {
    // every minute-ish step over ~3 years from the base day, plus edges
    let base = 1_767_571_200_000i64;
    let mut ms = base - 400 * 86_400_000;
    while ms < base + 800 * 86_400_000 {
        let expected = chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        assert_eq!(iso_timestamp(ms), expected, "ms = {ms}");
        ms += 3_599_999;
    }
    assert_eq!(iso_timestamp(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(iso_timestamp(base), "2026-01-05T00:00:00.000Z");
    assert_eq!(iso_timestamp(951_782_400_000), "2000-02-29T00:00:00.000Z");
}

/// `node workload.mjs dump 1`, pretty-printed: the example in WORKLOAD-DATA.md.
const DOSSIER_0: &str = r#"{
  "code": "H49.10-260105-0001",
  "procedure": {
    "code": "1.010812",
    "name": "Hỗ trợ khôi phục sản xuất nông nghiệp vùng bị thiệt hại do thiên tai"
  },
  "applicant": {
    "full_name": "Phan Minh Tâm",
    "id_number": "049784088640",
    "address": "105 Lê Lợi, phường An Mỹ, thành phố Tam Kỳ, tỉnh Quảng Nam",
    "phone": "0974020551"
  },
  "channel": "direct",
  "received_at": "2026-01-05T06:10:19.000Z",
  "due_at": "2026-01-25T06:10:19.000Z",
  "status": "result_ready",
  "holder": "commune:tam-ky/an-my",
  "route": [
    {
      "office": "commune:tam-ky/an-my",
      "deadline": "2026-01-12T06:10:19.000Z",
      "done": false
    },
    {
      "office": "district:tam-ky",
      "deadline": "2026-01-19T06:10:19.000Z",
      "done": false
    },
    {
      "office": "province:quang-nam/so-nong-nghiep-phat-trien-nong-thon",
      "deadline": "2026-01-25T06:10:19.000Z",
      "done": false
    }
  ],
  "events": [
    {
      "kind": "receive",
      "at": "2026-01-05T06:10:19.000Z",
      "by": "officer-8286",
      "office": "commune:tam-ky/an-my",
      "note": "Tiếp nhận hồ sơ trực tiếp, thành phần đầy đủ, đã cấp giấy biên nhận."
    },
    {
      "kind": "forward",
      "at": "2026-01-07T01:21:19.000Z",
      "by": "officer-1775",
      "office": "commune:tam-ky/an-my",
      "note": "Chuyển hồ sơ lên cấp trên giải quyết theo quy trình liên thông."
    },
    {
      "kind": "accept",
      "at": "2026-01-07T22:48:19.000Z",
      "by": "officer-5982",
      "office": "district:tam-ky",
      "note": "Nhận hồ sơ từ cấp dưới chuyển lên, giao phòng chuyên môn xử lý."
    },
    {
      "kind": "forward",
      "at": "2026-01-08T09:49:19.000Z",
      "by": "officer-1485",
      "office": "district:tam-ky",
      "note": "Chuyển hồ sơ lên cấp trên giải quyết theo quy trình liên thông."
    },
    {
      "kind": "accept",
      "at": "2026-01-09T10:39:19.000Z",
      "by": "officer-2510",
      "office": "province:quang-nam/so-nong-nghiep-phat-trien-nong-thon",
      "note": "Nhận hồ sơ từ cấp dưới chuyển lên, giao phòng chuyên môn xử lý."
    },
    {
      "kind": "approve",
      "at": "2026-01-10T16:47:19.000Z",
      "by": "officer-6344",
      "office": "province:quang-nam/so-nong-nghiep-phat-trien-nong-thon",
      "note": "Đã phê duyệt, đóng dấu kết quả, chuẩn bị trả về nơi tiếp nhận."
    },
    {
      "kind": "return_result",
      "at": "2026-01-12T04:10:19.000Z",
      "by": "officer-9531",
      "office": "province:quang-nam/so-nong-nghiep-phat-trien-nong-thon",
      "note": "Trả kết quả về bộ phận một cửa nơi tiếp nhận hồ sơ ban đầu."
    },
    {
      "kind": "result_received",
      "at": "2026-01-12T15:50:19.000Z",
      "by": "officer-0950",
      "office": "commune:tam-ky/an-my",
      "note": "Đã nhận kết quả từ cấp trên, vào sổ theo dõi và báo cho công dân."
    }
  ]
}"#;

#[test]
fn dossier_0_matches_the_example() {
    let g = generate(0, DEFAULT_SEED);
    let d = final_dossier(&g);
    // byte for byte, key order included (JSON.stringify(x, null, 2) layout)
    assert_eq!(serde_json::to_string_pretty(&d).unwrap(), DOSSIER_0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(DOSSIER_0).unwrap(),
        serde_json::to_value(&d).unwrap()
    );

    // the record at creation and the history that leads to it
    assert_eq!(g.index, 0);
    assert_eq!(g.created.status, "new");
    assert_eq!(g.created.holder, "commune:tam-ky/an-my");
    assert!(g.created.events.is_empty());
    assert_eq!(g.history.len(), 8);
    assert_eq!(
        g.history
            .iter()
            .map(|(e, _, _)| e.clone())
            .collect::<Vec<_>>(),
        d.events
    );
    assert_eq!(
        dump_jsonl(1, DEFAULT_SEED),
        serde_json::to_string(&d).unwrap() + "\n"
    );
}

#[test]
fn phase2_events_match_node_extra() {
    let extra = extra_jsonl(1000, DEFAULT_SEED);
    assert_eq!(extra.lines().count(), 10);
    assert!(extra.starts_with(
        r#"{"i":0,"event":{"kind":"notify_applicant","at":"2026-01-13T01:37:19.000Z","by":"officer-8897","office":"commune:tam-ky/an-my","note":"Gọi điện thoại báo công dân mang giấy biên nhận đến nhận kết quả."}}"#
    ));
    // sha256 of `node workload.mjs extra 1000`
    assert_eq!(
        sha256_hex(&extra),
        "cad89cb6bea9043d89e90a8de2ca060bdc381829de0d1a5916d8ab7cd430b5d9"
    );
    assert_eq!((0..10_000).filter(|&i| is_phase2(i)).count(), 100);
}

#[test]
fn digest_1000() {
    assert_eq!(
        sha256_hex(&dump_jsonl(1000, DEFAULT_SEED)),
        "ce3a64f500c8750844a6ca97dd633eed5928f3361bd1ccd3d2bdb8b0a2f0641c"
    );
}

#[test]
fn digest_10000_and_sizes() {
    let t = Instant::now();
    let dump = dump_jsonl(10_000, DEFAULT_SEED);
    assert_eq!(
        sha256_hex(&dump),
        "1721761bbad0a713b66c2cb11dcd6d722acd481f3ce84c9595818de0aed9402e"
    );
    eprintln!("dump_jsonl(10_000) + sha256: {:?}", t.elapsed());
    // `node workload.mjs stats 10000`: 24,608,085 bytes of JSON, 2,338..=2,597 each
    assert_eq!(dump.len(), 24_608_085 + 10_000);
    let (min, max) = dump
        .lines()
        .map(str::len)
        .fold((usize::MAX, 0), |(lo, hi), n| (lo.min(n), hi.max(n)));
    assert_eq!((min, max), (2_338, 2_597));
    let codes: HashSet<&str> = dump.lines().map(|l| &l[9..27]).collect();
    assert_eq!(codes.len(), 10_000);
}

#[test]
fn other_seeds_match_node() {
    // `node workload.mjs digest N SEED`
    assert_eq!(
        digest(500, 4_000_000_000),
        "93e53d49c029a929cce4583914efbc091a93bd7446736e3ca5db1759963e657a"
    );
    assert_eq!(
        digest(300, 0),
        "3a7bcd438b7c3ee8e85dbad9c35ecb6d418e281e830489fc641bc09cd154fe50"
    );
}

#[test]
fn automerge_document_round_trips() {
    for i in [0, 1, 23, 24, 100, 479, 480, 999] {
        let g = generate(i, DEFAULT_SEED);
        let mut doc = build_document(&g, actor(i));
        assert_eq!(doc.get_changes(&[]).len(), 9, "dossier {i}");
        let want = final_dossier(&g);
        assert_eq!(read_dossier(&doc).unwrap(), want, "dossier {i}");
        assert_eq!(
            serde_json::to_string(&read_dossier(&doc).unwrap()).unwrap(),
            serde_json::to_string(&want).unwrap()
        );

        // strings are scalar strings, not text objects; done is a boolean
        match doc.get(ROOT, "code").unwrap() {
            Some((Value::Scalar(s), _)) => assert_eq!(s.as_str(), Some(want.code.as_str())),
            other => panic!("code is {other:?}"),
        }
        let (_, route) = doc.get(ROOT, "route").unwrap().unwrap();
        assert_eq!(doc.object_type(&route).unwrap(), ObjType::List);
        let (_, step) = doc.get(&route, 0).unwrap().unwrap();
        assert_eq!(doc.object_type(&step).unwrap(), ObjType::Map);
        let (done, _) = doc.get(&step, "done").unwrap().unwrap();
        assert_eq!(done.as_bool(), Some(false));

        // the saved document loads back to the same dossier and heads
        let loaded = Automerge::load(&doc.save()).unwrap();
        assert_eq!(loaded.get_heads(), doc.get_heads());
        assert_eq!(read_dossier(&loaded).unwrap(), want);

        // phase 2: exactly one more change, one more event, nothing else
        let heads = doc.get_heads();
        apply_phase2(&mut doc, &g).unwrap();
        assert_eq!(doc.get_changes(&[]).len(), 10);
        assert_eq!(doc.get_changes(&heads).len(), 1);
        let mut want2 = want.clone();
        want2.events.push(g.phase2_event.clone());
        assert_eq!(read_dossier(&doc).unwrap(), want2);
        assert_eq!(want2.events[8].kind, "notify_applicant");
        assert_eq!(want2.events[8].office, want.route[0].office);
    }
}

#[test]
fn build_document_is_reproducible() {
    let g = generate(42, DEFAULT_SEED);
    let a = build_document(&g, actor(42));
    let b = build_document(&g, actor(42));
    assert_eq!(a.get_heads(), b.get_heads());
    assert_eq!(a.save(), b.save());
}

/// Mean `doc.save().len()` and mean change size over the first 1,000
/// dossiers (WORKLOAD-DATA.md: JS automerge with ImmutableString gets 407
/// bytes per change and 1,445 bytes per saved document).
#[test]
fn automerge_sizes_first_1000() {
    const N: usize = 1000;
    let t = Instant::now();
    let (mut saved, mut raw, mut compressed, mut changes) = (0usize, 0usize, 0usize, 0usize);
    let (mut first_raw, mut later_raw, mut phase2_raw, mut phase2_n) = (0usize, 0usize, 0usize, 0);
    let (mut saved_min, mut saved_max) = (usize::MAX, 0usize);
    for i in 0..N {
        let g = generate(i, DEFAULT_SEED);
        let mut doc = build_document(&g, actor(i));
        let s = doc.save().len();
        saved += s;
        saved_min = saved_min.min(s);
        saved_max = saved_max.max(s);
        for (n, mut c) in doc.get_changes(&[]).into_iter().enumerate() {
            let r = c.raw_bytes().len();
            raw += r;
            if n == 0 {
                first_raw += r;
            } else {
                later_raw += r;
            }
            compressed += c.bytes().len();
            changes += 1;
        }
        if is_phase2(i) {
            let heads = doc.get_heads();
            apply_phase2(&mut doc, &g).unwrap();
            phase2_raw += doc.get_changes(&heads)[0].raw_bytes().len();
            phase2_n += 1;
        }
    }
    assert_eq!(changes, 9 * N);
    let mean = |total: usize, n: usize| total as f64 / n as f64;
    eprintln!(
        "automerge (Rust) over {N} dossiers: saved doc mean {:.1} B (min {saved_min}, max {saved_max}); \
         change raw_bytes mean {:.1} B (create {:.1}, event {:.1}), bytes() mean {:.1} B; \
         phase-2 change mean {:.1} B; took {:?}",
        mean(saved, N),
        mean(raw, changes),
        mean(first_raw, N),
        mean(later_raw, 8 * N),
        mean(compressed, changes),
        mean(phase2_raw, phase2_n),
        t.elapsed()
    );
    // sanity bounds only: the figures are reported, not prescribed
    assert!((500.0..4_000.0).contains(&mean(saved, N)));
    assert!((100.0..1_500.0).contains(&mean(raw, changes)));
}

/// Release-mode timing:
/// `cargo test --release -p lienthong-tests --test workload -- --ignored --nocapture`
#[test]
#[ignore = "timing run; use --release"]
fn time_generate_and_build_10000() {
    const N: usize = 10_000;
    let t = Instant::now();
    let generated: Vec<_> = (0..N).map(|i| generate(i, DEFAULT_SEED)).collect();
    let t_gen = t.elapsed();
    let t = Instant::now();
    let docs: Vec<Automerge> = generated
        .iter()
        .map(|g| build_document(g, actor(g.index)))
        .collect();
    let t_build = t.elapsed();
    let t = Instant::now();
    let saved: usize = docs.iter().map(|d| d.save().len()).sum();
    let t_save = t.elapsed();
    eprintln!(
        "{N} dossiers: generate {t_gen:?}, build_document {t_build:?}, save {t_save:?} ({saved} bytes)"
    );
}
