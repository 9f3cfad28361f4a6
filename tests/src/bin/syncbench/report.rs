//! Report writing: the markdown table of phases, the targets met or
//! missed, and the section between markers in a file.

use std::path::Path;

use anyhow::Result;
use lienthong_tests::syncbench::SideReport;

use crate::phases::Phase;
use crate::scenarios::Link;

pub(crate) struct Row {
    pub(crate) n: usize,
    pub(crate) link: Link,
    pub(crate) phase: Phase,
    pub(crate) source: SideReport,
    pub(crate) sink: SideReport,
    /// CPU seconds the orchestrating process (the link emulator, if any) used.
    pub(crate) emulator_cpu: f64,
    /// CPU seconds the rest of the machine used during the phase.
    pub(crate) others_cpu: f64,
    /// Initial: the saved documents; incremental: the new changes.
    pub(crate) reference: u64,
    /// The sink's store on disk after the phase (database file and WAL).
    pub(crate) sink_stored: u64,
}

impl Row {
    /// Bytes the sink wrote to disk ÷ the size of its store afterwards.
    pub(crate) fn write_amplification(&self) -> f64 {
        self.sink.disk_write_bytes as f64 / self.sink_stored.max(1) as f64
    }

    /// UDP payload bytes, both directions (each side counts what it sent).
    pub(crate) fn wire(&self) -> u64 {
        self.source.udp_tx + self.sink.udp_tx
    }

    /// The protocol's frames, both directions, before zstd.
    pub(crate) fn frames(&self) -> u64 {
        self.source.frame_bytes_sent + self.sink.frame_bytes_sent
    }

    /// QUIC handshake + the sink's waits for the source.
    pub(crate) fn round_trips(&self) -> u64 {
        self.sink.turns + 1
    }
}

pub(crate) fn kb(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.2} MB", bytes as f64 / 1e6)
    } else {
        format!("{:.1} KB", bytes as f64 / 1e3)
    }
}

pub(crate) fn table(rows: &[Row], bare: u64) -> String {
    let mut out = String::from(
        "| N | link | phase | seconds | CPU seconds source / sink / link emulator / other processes meanwhile | source → sink | sink → source | protocol frames (before zstd) source → sink / sink → source | round trips: handshake + waits, sink / source | ≈ RTTs | peak RSS source / sink | notes |\n|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for r in rows {
        let note = match r.phase {
            Phase::Initial => format!(
                "saved documents {}; wire ÷ saved {:.2} (source → sink), {:.2} (both ways); the sink wrote {} to disk for a store of {} ({:.2}×; {:.2}× the saved documents) in {} commits",
                kb(r.reference),
                r.source.udp_tx as f64 / r.reference as f64,
                r.wire() as f64 / r.reference as f64,
                kb(r.sink.disk_write_bytes),
                kb(r.sink_stored),
                r.write_amplification(),
                r.sink.disk_write_bytes as f64 / r.reference as f64,
                r.sink.commits
            ),
            Phase::Incremental => format!(
                "new changes {} B; wire (both ways) ÷ changes {:.2}; without a bare connection's {} B: {:.2}; frames ÷ changes {:.2}",
                r.reference,
                r.wire() as f64 / r.reference as f64,
                bare,
                r.wire().saturating_sub(bare) as f64 / r.reference as f64,
                r.frames() as f64 / r.reference as f64
            ),
            Phase::Idle => format!(
                "{} B in all; {} B beyond a bare connection; protocol frames {} B",
                r.wire(),
                r.wire() as i64 - bare as i64,
                r.frames()
            ),
        };
        let bytes = |b: u64| {
            if r.phase == Phase::Initial {
                kb(b)
            } else {
                format!("{b} B")
            }
        };
        out += &format!(
            "| {} | {} | {} | {:.2} | {:.2} / {:.2} / {:.2} / {:.2} | {} | {} | {} / {} | 1 + {} / 1 + {} | {} | {:.0} / {:.0} MB | {} |\n",
            r.n,
            r.link.label(),
            r.phase.label(),
            r.sink.seconds,
            r.source.cpu_seconds,
            r.sink.cpu_seconds,
            r.emulator_cpu,
            r.others_cpu,
            bytes(r.source.udp_tx),
            bytes(r.sink.udp_tx),
            bytes(r.source.frame_bytes_sent),
            bytes(r.sink.frame_bytes_sent),
            r.sink.turns,
            r.source.turns,
            if r.link == Link::Loopback {
                "—".to_string()
            } else {
                format!("{:.1}", r.sink.seconds / 0.3)
            },
            r.source.peak_rss_mb,
            r.sink.peak_rss_mb,
            note
        );
    }
    out
}

/// The targets, met or not, from the rows at hand.
pub(crate) fn targets(rows: &[Row], bare: u64) -> String {
    let find = |n: usize, link: Link, phase: Phase| {
        rows.iter()
            .find(|r| r.n == n && r.link == link && r.phase == phase)
    };
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };
    let mut out = String::from("| target | measured | |\n|---|---|---|\n");
    if let Some(r) = find(10_000, Link::Loopback, Phase::Initial) {
        out += &format!(
            "| initial sync of 10,000 dossiers on loopback under 3 s | {:.2} s | {} |\n",
            r.sink.seconds,
            verdict(r.sink.seconds < 3.0)
        );
        let ratio = r.wire() as f64 / r.reference as f64;
        out += &format!(
            "| … moving no more than 1.2× the saved documents | {:.2}× ({} both ways for {} saved) | {} |\n",
            ratio,
            kb(r.wire()),
            kb(r.reference),
            verdict(ratio <= 1.2)
        );
        out += &format!(
            "| … writing at most 2× the stored size to disk (the sink) | {:.2}× ({} written, store {}) | {} |\n",
            r.write_amplification(),
            kb(r.sink.disk_write_bytes),
            kb(r.sink_stored),
            verdict(r.write_amplification() <= 2.0)
        );
    }
    for n in [1_000, 10_000] {
        if let Some(r) = find(n, Link::Loopback, Phase::Incremental) {
            let ratio = r.wire() as f64 / r.reference as f64;
            out += &format!(
                "| incremental bytes under 2× the new changes, N = {n} | {:.2}× ({} B for {} B of changes); {:.2}× without a bare connection's {} B; {:.2}× in protocol frames | {} |\n",
                ratio,
                r.wire(),
                r.reference,
                r.wire().saturating_sub(bare) as f64 / r.reference as f64,
                bare,
                r.frames() as f64 / r.reference as f64,
                verdict(ratio < 2.0)
            );
        }
    }
    let idle: Vec<&Row> = [1_000, 10_000]
        .into_iter()
        .filter_map(|n| find(n, Link::Loopback, Phase::Idle))
        .collect();
    for r in &idle {
        out += &format!(
            "| idle reconnect in at most 3 round trips, N = {} | {} (QUIC handshake + {} Hello exchange) | {} |\n",
            r.n,
            r.round_trips(),
            r.sink.turns,
            verdict(r.round_trips() <= 3)
        );
        out += &format!(
            "| … under 4 KB, N = {} | {} B in all ({} B beyond a bare QUIC connection's {} B; {} B of protocol frames) | {} |\n",
            r.n,
            r.wire(),
            r.wire() as i64 - bare as i64,
            bare,
            r.frames(),
            verdict(r.wire() < 4_000)
        );
    }
    if let [a, b] = idle[..] {
        let same_frames = a.frames() == b.frames();
        let same_trips = a.round_trips() == b.round_trips();
        out += &format!(
            "| … the same at N = 1,000 and 10,000 | {} B / {} B on the wire, {} B / {} B of frames, {} / {} round trips | {} |\n",
            a.wire(),
            b.wire(),
            a.frames(),
            b.frames(),
            a.round_trips(),
            b.round_trips(),
            verdict(same_frames && same_trips && a.wire().abs_diff(b.wire()) < 200)
        );
    }
    if let Some(r) = find(1_000, Link::Rural, Phase::Initial) {
        out += &format!(
            "| rural (300 ms RTT), no loss: 1,000 dossiers under 3 s | {:.2} s | {} |\n",
            r.sink.seconds,
            verdict(r.sink.seconds < 3.0)
        );
        if let Some(lossy) = find(1_000, Link::Rural5, Phase::Initial) {
            let ratio = lossy.sink.seconds / r.sink.seconds;
            out += &format!(
                "| … 5% loss within 1.5× of the loss-free time | {:.2} s ({:.2}×) | {} |\n",
                lossy.sink.seconds,
                ratio,
                verdict(ratio <= 1.5)
            );
        }
    }
    out
}

pub(crate) fn write_section(out: &Path, marker: &str, body: &str) -> Result<()> {
    let begin = format!("<!-- {marker}: begin -->");
    let end = format!("<!-- {marker}: end -->");
    let text = std::fs::read_to_string(out).unwrap_or_default();
    let section = format!("{begin}\n{body}\n{end}");
    let updated = match (text.find(&begin), text.find(&end)) {
        (Some(a), Some(b)) if b > a => {
            format!("{}{}{}", &text[..a], section, &text[b + end.len()..])
        }
        _ => format!("{text}\n{section}\n"),
    };
    std::fs::write(out, updated)?;
    Ok(())
}
