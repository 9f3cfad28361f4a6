//! What the benchmarks share: filling a store with many generated dossiers
//! fast (the store bench's 100,000-dossier province, the console's desk).

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use automerge::Automerge;
use lienthong::node::Node;
use lienthong::officer;
use lienthong::store::documents::{DocKey, DocKind};
use lienthong_shared::dossier::Dossier;
use lienthong_shared::dossier::fold::DossierState;

/// One generated dossier, ready to store: its document, the stored form of
/// it, and what the index needs.
pub struct Generated {
    pub key: DocKey,
    pub doc: Automerge,
    pub snapshot: Vec<u8>,
    pub dossier: Dossier,
    pub state: DossierState,
}

/// Store dossiers `0..n`, made by `generate`, in the node at `dir`: one
/// generating thread per core (each with its own `Node`, and what `prepare`
/// makes from it once), one writing thread, 1,000 dossiers per transaction.
/// Returns how long it took.
pub fn fill<P>(
    dir: &Path,
    n: usize,
    prepare: impl Fn(&Node) -> P + Sync,
    generate: impl Fn(&Node, &P, usize) -> Generated + Sync,
) -> Duration {
    const BATCH: usize = 1000;
    let started = Instant::now();
    let workers = std::thread::available_parallelism().map_or(2, |p| p.get());
    let (sender, receiver) = mpsc::sync_channel::<Vec<Generated>>(workers * 2);
    std::thread::scope(|scope| {
        for w in 0..workers {
            let sender = sender.clone();
            let (prepare, generate) = (&prepare, &generate);
            scope.spawn(move || {
                let node = Node::open(dir).unwrap();
                let prepared = prepare(&node);
                for batch in (w..n.div_ceil(BATCH)).step_by(workers) {
                    let generated = (batch * BATCH..((batch + 1) * BATCH).min(n))
                        .map(|i| generate(&node, &prepared, i))
                        .collect();
                    if sender.send(generated).is_err() {
                        return;
                    }
                }
            });
        }
        drop(sender);
        let mut node = Node::open(dir).unwrap();
        let Node { store, network, .. } = &mut node;
        for batch in receiver {
            store
                .write(|w| -> Result<(), lienthong::store::StoreError> {
                    for g in &batch {
                        let seq = w.save_document_with(
                            &g.key,
                            DocKind::Dossier,
                            &g.doc,
                            &[],
                            Some(&g.snapshot),
                        )?;
                        officer::index_dossier(
                            w,
                            &g.key,
                            seq,
                            &g.dossier,
                            &g.state,
                            &network.offices,
                        )?;
                    }
                    Ok(())
                })
                .unwrap();
        }
    });
    started.elapsed()
}
