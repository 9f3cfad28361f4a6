//! Dossier-like Automerge documents for the guard's tests.
#![allow(dead_code)]

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ChangeHash, ObjType, ROOT, ReadDoc};

/// A dossier-like document: a map of facts, a list of events, a text note,
/// written in `changes` changes by three actors, with a merge.
pub fn dossier(seed: u8, changes: usize) -> Automerge {
    let mut doc = Automerge::new().with_actor(ActorId::from(&[seed, 1][..]));
    doc.transact::<_, _, automerge::AutomergeError>(|tx| {
        tx.put(ROOT, "code", format!("H49.10-260105-{seed:04}"))?;
        tx.put(ROOT, "applicant", "Nguyễn Văn An")?;
        tx.put_object(ROOT, "events", ObjType::List)?;
        let note = tx.put_object(ROOT, "note", ObjType::Text)?;
        tx.splice_text(&note, 0, 0, "Hồ sơ đăng ký kinh doanh hộ cá thể")?;
        Ok(())
    })
    .unwrap();
    let mut other = doc.fork().with_actor(ActorId::from(&[seed, 2][..]));
    for k in 0..changes {
        let target = if k % 3 == 0 { &mut other } else { &mut doc };
        target
            .transact::<_, _, automerge::AutomergeError>(|tx| {
                let (_, events) = tx.get(ROOT, "events")?.unwrap();
                let len = tx.length(&events);
                let e = tx.insert_object(&events, len, ObjType::Map)?;
                tx.put(&e, "kind", "forwarded")?;
                tx.put(&e, "at", 1_700_000_000_i64 + k as i64)?;
                tx.put(&e, "note", format!("chuyển bước {k} — phòng Tư pháp"))?;
                let (_, note) = tx.get(ROOT, "note")?.unwrap();
                tx.splice_text(&note, 0, 0, &format!("{k} "))?;
                Ok(())
            })
            .unwrap();
    }
    doc.merge(&mut other).unwrap();
    doc
}

/// Heads as Automerge encodes them: sorted.
pub fn sorted(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort();
    heads
}
