//! The benchmark's own pipeline, small: a source with 200 workload dossiers,
//! a sink with none, one session each way of the phases; the sink ends with
//! the source's heads. (No timing assertions: figures live in the benchmark.)

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use lienthong::store::Store;
use lienthong_sync::transport::driver::Role;
use lienthong_sync::transport::identity::NodeIdentity;
use lienthong_tests::syncbench::{self, Serve};

async fn session(
    dir: &std::path::Path,
    source: &std::path::Path,
    sink: &std::path::Path,
) -> (syncbench::SideReport, syncbench::SideReport) {
    let (source_id, sink_id) = (dir.join("source-id"), dir.join("sink-id"));
    let source_node = NodeIdentity::load(&source_id).unwrap().node_id();
    let sink_node = NodeIdentity::load(&sink_id).unwrap().node_id();
    let (tx, rx) = tokio::sync::oneshot::channel::<SocketAddr>();
    let tx = Mutex::new(Some(tx));
    let source_path = source.to_path_buf();
    let source_task = tokio::spawn(async move {
        let on_listen = move |addr: SocketAddr| {
            if let Some(tx) = tx.lock().unwrap().take() {
                let _ = tx.send(addr);
            }
        };
        syncbench::serve(Serve {
            role: Role::Listener,
            store: &source_path,
            identity: &source_id,
            peer: sink_node,
            connect: None,
            deadline: Duration::from_secs(60),
            on_listen: &on_listen,
        })
        .await
        .unwrap()
    });
    let addr = rx.await.unwrap();
    let sink_report = syncbench::serve(Serve {
        role: Role::Dialer,
        store: sink,
        identity: &sink_id,
        peer: source_node,
        connect: Some(addr),
        deadline: Duration::from_secs(60),
        on_listen: &|_| {},
    })
    .await
    .unwrap();
    (source_task.await.unwrap(), sink_report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_pipeline_delivers_every_dossier_and_every_change() {
    let dir = tempfile::tempdir().unwrap();
    NodeIdentity::generate("source")
        .unwrap()
        .save(&dir.path().join("source-id"))
        .unwrap();
    NodeIdentity::generate("sink")
        .unwrap()
        .save(&dir.path().join("sink-id"))
        .unwrap();
    let source = dir.path().join("source.db");
    let sink = dir.path().join("sink.db");
    let saved = syncbench::prepare_source(&source, 200).unwrap();
    assert!(saved > 200 * 1000);
    Store::create(&sink).unwrap();

    let (s, k) = session(dir.path(), &source, &sink).await;
    assert!(s.synced && k.synced);
    assert_eq!(
        syncbench::all_heads(&source).unwrap(),
        syncbench::all_heads(&sink).unwrap()
    );
    assert_eq!(s.offered, 200);

    let new_changes = syncbench::apply_phase2(&source, 200).unwrap();
    assert!(new_changes > 0);
    let (s, _) = session(dir.path(), &source, &sink).await;
    assert_eq!(s.offered, 2, "only the two changed dossiers");
    assert_eq!(
        syncbench::all_heads(&source).unwrap(),
        syncbench::all_heads(&sink).unwrap()
    );

    let (s, k) = session(dir.path(), &source, &sink).await;
    assert_eq!(s.offered + k.offered, 0, "an idle reconnect offers nothing");
}

/// The binary end to end, as `syncbench run` does it: source and sink as
/// separate processes, the three phases, the sink's heads checked against
/// the source's after each (the run fails otherwise), and the table.
#[test]
fn the_benchmark_binary_runs_the_three_phases_between_two_processes() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_syncbench"))
        .args(["run", "--n", "200"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "syncbench run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for phase in ["initial", "incremental (1%)", "idle reconnect"] {
        assert!(
            stdout.contains(&format!("| 200 | loopback | {phase} |")),
            "no {phase} row in:\n{stdout}"
        );
    }
}
