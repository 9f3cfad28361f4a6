//! How a document's snapshot is kept on disk: Automerge's uncompressed
//! save format, wrapped in zstd.
//!
//! Automerge's own `save()` deflates each column. Keeping the uncompressed
//! form instead (under zstd, which shrinks it about as much) means a whole
//! document can be sent to a peer straight from disk, uncompressed, and the
//! sync stream's compression then works across documents — three times
//! fewer bytes on the wire for an initial sync than sending deflated
//! snapshots — and it is cheaper to write than `save()`. Snapshots in
//! Automerge's plain format (and received ones) are read as they are.

use std::borrow::Cow;

use automerge::Automerge;

/// The zstd level snapshots are stored at. Level 1, not the default 3:
/// on the benchmark's dossiers (2.8 KB uncompressed each) it compresses
/// about 1.8× faster and decompresses about 1.4× faster for 1.7% more
/// bytes (ratio 1.89 against 1.93, `zstd -b`); storing each received
/// document was a tenth of an initial sync's receiving CPU at level 3
/// (issue 11, `docs/benchmarks.md`).
pub const LEVEL: i32 = 1;

/// zstd frames begin with these bytes; Automerge documents never do.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];
/// No dossier comes near this; a corrupt length cannot make us allocate more.
const MAX_DOCUMENT: usize = 64 << 20;

/// The stored form of a document.
pub fn encode(doc: &Automerge) -> Vec<u8> {
    wrap(&doc.save_nocompress())
}

/// The stored form of a document's bytes (e.g. as received from a peer).
pub fn wrap(document_bytes: &[u8]) -> Vec<u8> {
    if document_bytes.starts_with(&ZSTD_MAGIC) {
        return document_bytes.to_vec();
    }
    thread_local! {
        // A compression context is costly to set up (its tables are
        // allocated and zeroed); keep one per thread.
        static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    COMPRESSOR
        .with_borrow_mut(|compressor| {
            if compressor.is_none() {
                *compressor = zstd::bulk::Compressor::new(LEVEL).ok();
            }
            compressor.as_mut()?.compress(document_bytes).ok()
        })
        .unwrap_or_else(|| document_bytes.to_vec())
}

/// Automerge bytes from the stored form.
pub fn unwrap(stored: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    if stored.starts_with(&ZSTD_MAGIC) {
        // The buffer is allocated at the capacity given: the size the frame
        // header states (our frames carry it), not the 64 MiB bound, which
        // would map and unmap that much memory for every document loaded.
        let capacity = match zstd::zstd_safe::get_frame_content_size(stored) {
            Ok(Some(size)) if size <= MAX_DOCUMENT as u64 => size as usize,
            _ => MAX_DOCUMENT,
        };
        thread_local! {
            static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
                const { std::cell::RefCell::new(None) };
        }
        DECOMPRESSOR
            .with_borrow_mut(|decompressor| {
                if decompressor.is_none() {
                    *decompressor = Some(zstd::bulk::Decompressor::new()?);
                }
                decompressor
                    .as_mut()
                    .expect("set above")
                    .decompress(stored, capacity)
            })
            .map(Cow::Owned)
            .map_err(|e| format!("snapshot does not decompress: {e}"))
    } else {
        Ok(Cow::Borrowed(stored))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;

    #[test]
    fn round_trips_and_reads_plain_snapshots_too() {
        let mut doc = Automerge::new();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(automerge::ROOT, "name", "Nguyễn Văn An")?;
            Ok(())
        })
        .unwrap();
        let stored = encode(&doc);
        assert!(stored.starts_with(&ZSTD_MAGIC));
        let loaded = Automerge::load(&unwrap(&stored).unwrap()).unwrap();
        assert_eq!(loaded.get_heads(), doc.get_heads());
        let plain = doc.save();
        assert_eq!(unwrap(&plain).unwrap().as_ref(), plain.as_slice());
        assert!(unwrap(&[0x28, 0xB5, 0x2F, 0xFD, 1, 2, 3]).is_err());
    }
}
