//! Change attestations (issue 8): a node's Ed25519 signature over one
//! Automerge change of one document, so any node can tell who wrote a
//! change however many relays it passed. A relay forwards the attestations
//! it received; it cannot make one for a change it did not write, because
//! it does not hold the author's key.
//!
//! An attestation is `{change hash, author's public key, signature}`, 128
//! bytes, the signature over the domain-separated message
//! `b"lienthong-attest-v1" || document id (16 bytes) || change hash (32)`.
//! The author's node id is not carried: it is the SHA-256 of the key's
//! SubjectPublicKeyInfo, exactly as `transport::identity` derives node ids
//! from certificates, so a key cannot claim another node's id.
//!
//! Carried by the session in `Frame::Attest` before the changes; checked
//! by the node's admission (see `docs/authorship.md`).

use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use sha2::{Digest, Sha256};

use super::store::PeerId;
use crate::document_id::DocumentId;

/// The domain separator: a signature made for anything else never verifies
/// as an attestation.
pub const DOMAIN: &[u8] = b"lienthong-attest-v1";

/// Bytes of one encoded attestation.
pub const ATTESTATION_LEN: usize = 32 + 32 + 64;

/// Most attestations one encoded list may hold (128 KiB).
pub const MAX_ATTESTATIONS: usize = 1024;

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the
/// 32-byte key follows it.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// A signed statement "the node with this key wrote this change".
#[derive(Clone, PartialEq, Eq)]
pub struct Attestation {
    /// The Automerge change hash.
    pub change: [u8; 32],
    /// The author's raw Ed25519 public key.
    pub key: [u8; 32],
    pub signature: [u8; 64],
}

impl std::fmt::Debug for Attestation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attestation")
            .field("change", &hex8(&self.change))
            .field("author", &hex8(&self.author()))
            .finish_non_exhaustive()
    }
}

fn hex8(bytes: &[u8]) -> String {
    bytes.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Why bytes are not a list of attestations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestationError {
    #[error("{count} attestations in one list, more than the limit of {MAX_ATTESTATIONS}")]
    TooMany { count: usize },
    #[error("{len} bytes are not a whole number of {ATTESTATION_LEN}-byte attestations")]
    Truncated { len: usize },
}

/// The message an attestation signs.
fn message(doc: &DocumentId, change: &[u8; 32]) -> [u8; DOMAIN.len() + 16 + 32] {
    let mut out = [0u8; DOMAIN.len() + 16 + 32];
    out[..DOMAIN.len()].copy_from_slice(DOMAIN);
    out[DOMAIN.len()..DOMAIN.len() + 16].copy_from_slice(&doc.0);
    out[DOMAIN.len() + 16..].copy_from_slice(change);
    out
}

impl Attestation {
    /// Sign `change` of `doc` with this node's key.
    pub fn sign(key_pair: &Ed25519KeyPair, doc: &DocumentId, change: &[u8; 32]) -> Self {
        let signature = key_pair.sign(&message(doc, change));
        let mut key = [0u8; 32];
        key.copy_from_slice(key_pair.public_key().as_ref());
        let mut sig = [0u8; 64];
        sig.copy_from_slice(signature.as_ref());
        Attestation {
            change: *change,
            key,
            signature: sig,
        }
    }

    /// Does the signature hold for `change` of `doc`? Says nothing about
    /// whether the author is a node this one trusts: see [`Self::author`].
    pub fn verify(&self, doc: &DocumentId) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.key)
            .verify(&message(doc, &self.change), &self.signature)
            .is_ok()
    }

    /// The author's node id: SHA-256 of the key's SubjectPublicKeyInfo.
    pub fn author(&self) -> PeerId {
        node_id_of_key(&self.key)
    }

    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.change);
        out.extend_from_slice(&self.key);
        out.extend_from_slice(&self.signature);
    }
}

/// Verify attestations, each for its document: in one batch
/// (ed25519-dalek's `verify_batch`, about half the cost per signature of
/// verifying them one by one) when there are several; when the batch
/// fails, one by one with [`Attestation::verify`], so exactly the bad ones
/// are found and refused as a single verification would. At most
/// [`MAX_BATCH`] are verified per batch (the caller's lists are bounded by
/// what a peer may have pending; this bounds the scratch space).
pub fn verify_many(items: &[(DocumentId, &Attestation)]) -> Vec<bool> {
    let mut out = Vec::with_capacity(items.len());
    for part in items.chunks(MAX_BATCH) {
        if part.len() >= 2 && verify_batch(part) {
            out.extend(std::iter::repeat_n(true, part.len()));
        } else {
            out.extend(part.iter().map(|(doc, a)| a.verify(doc)));
        }
    }
    out
}

/// Most signatures verified in one batch.
pub const MAX_BATCH: usize = 256;

/// Domain of the batch's derived randomness.
const BATCH_DOMAIN: &[u8] = b"lienthong-attest-batch-v1";

/// Do all of `items` verify? (Any key or `R` that is not a curve point, any
/// signature whose `s` is not canonical: no.)
///
/// The check of ed25519-dalek's `verify_batch`, with each author's key
/// taken once: for random 128-bit `z_i`,
/// `(-Σ z_i·s_i)·B + Σ z_i·R_i + Σ_keys (Σ_{i by the key} z_i·h_i)·A = 0`
/// with `h_i = SHA-512(R_i ‖ A ‖ message_i)`. The sum over one key's
/// signatures is the same point as dalek's one term per signature, so the
/// equation is unchanged; the multiscalar multiplication takes one point
/// per signature and one per author instead of two per signature (a
/// node's documents come from a few authors: about half the points).
/// The `z_i` come, as in dalek, from a hash of every input (here SHA-512
/// over the `h_i` and `s_i`), so no input can be chosen to cancel them.
fn verify_batch(items: &[(DocumentId, &Attestation)]) -> bool {
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
    use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
    use curve25519_dalek::scalar::Scalar;
    use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
    use sha2::Sha512;

    // Each author's key: its point (decompressed once) and its summed scalar.
    let mut keys: Vec<(EdwardsPoint, Scalar)> = Vec::new();
    let mut key_index: std::collections::HashMap<[u8; 32], usize> =
        std::collections::HashMap::new();
    let mut of_key = Vec::with_capacity(items.len());
    let mut rs = Vec::with_capacity(items.len());
    let mut ss = Vec::with_capacity(items.len());
    let mut hrams = Vec::with_capacity(items.len());
    let mut transcript = Sha512::new();
    transcript.update(BATCH_DOMAIN);
    for (doc, a) in items {
        let k = match key_index.get(&a.key) {
            Some(&k) => k,
            None => {
                let Some(point) = CompressedEdwardsY(a.key).decompress() else {
                    return false;
                };
                keys.push((point, Scalar::ZERO));
                key_index.insert(a.key, keys.len() - 1);
                keys.len() - 1
            }
        };
        let mut r_bytes = [0u8; 32];
        r_bytes.copy_from_slice(&a.signature[..32]);
        let mut s_bytes = [0u8; 32];
        s_bytes.copy_from_slice(&a.signature[32..]);
        let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
            return false;
        };
        let Some(r) = CompressedEdwardsY(r_bytes).decompress() else {
            return false;
        };
        let hram = Sha512::new()
            .chain_update(r_bytes)
            .chain_update(a.key)
            .chain_update(message(doc, &a.change))
            .finalize();
        transcript.update(hram);
        transcript.update(s_bytes);
        let mut wide = [0u8; 64];
        wide.copy_from_slice(&hram);
        hrams.push(Scalar::from_bytes_mod_order_wide(&wide));
        of_key.push(k);
        rs.push(r);
        ss.push(s);
    }
    let seed = transcript.finalize();
    // Four 128-bit z_i from each SHA-512(seed ‖ block number).
    let zs: Vec<Scalar> = (0..items.len().div_ceil(4) as u64)
        .flat_map(|block| {
            let bytes = Sha512::new()
                .chain_update(seed)
                .chain_update(block.to_le_bytes())
                .finalize();
            (0..4).map(move |j| {
                let mut z = [0u8; 16];
                z.copy_from_slice(&bytes[16 * j..16 * (j + 1)]);
                Scalar::from(u128::from_le_bytes(z))
            })
        })
        .take(items.len())
        .collect();
    let mut b_coefficient = Scalar::ZERO;
    for i in 0..items.len() {
        b_coefficient += zs[i] * ss[i];
        keys[of_key[i]].1 += zs[i] * hrams[i];
    }
    let scalars = std::iter::once(-b_coefficient)
        .chain(zs.iter().copied())
        .chain(keys.iter().map(|(_, scalar)| *scalar));
    let points = std::iter::once(ED25519_BASEPOINT_POINT)
        .chain(rs.iter().copied())
        .chain(keys.iter().map(|(point, _)| *point));
    EdwardsPoint::vartime_multiscalar_mul(scalars, points).is_identity()
}

/// A node's signing key for its own changes (its identity's Ed25519 key).
pub struct Signer {
    key_pair: Ed25519KeyPair,
    node_id: PeerId,
}

impl Signer {
    pub fn new(key_pair: Ed25519KeyPair) -> Self {
        let mut key = [0u8; 32];
        key.copy_from_slice(key_pair.public_key().as_ref());
        Signer {
            node_id: node_id_of_key(&key),
            key_pair,
        }
    }

    pub fn sign(&self, doc: &DocumentId, change: &[u8; 32]) -> Attestation {
        Attestation::sign(&self.key_pair, doc, change)
    }

    /// The node id the key gives.
    pub fn node_id(&self) -> &PeerId {
        &self.node_id
    }

    /// The Automerge actor bytes of this node (the first 16 bytes of its
    /// node id, as the node writes with).
    pub fn actor_bytes(&self) -> &[u8] {
        &self.node_id[..16]
    }
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({})", hex8(&self.node_id))
    }
}

/// Is `actor` the actor of the node with id `node`? (A node writes with the
/// first 16 bytes of its node id.)
pub fn actor_of(node: &PeerId, actor: &[u8]) -> bool {
    actor == &node[..16]
}

/// The node id of a raw Ed25519 public key.
pub fn node_id_of_key(key: &[u8; 32]) -> PeerId {
    let mut hasher = Sha256::new();
    hasher.update(ED25519_SPKI_PREFIX);
    hasher.update(key);
    hasher.finalize().into()
}

/// Encode a list (at most [`MAX_ATTESTATIONS`]; the caller splits longer ones).
pub fn encode_list(list: &[Attestation]) -> Vec<u8> {
    let mut out = Vec::with_capacity(list.len() * ATTESTATION_LEN);
    for a in list {
        a.encode_into(&mut out);
    }
    out
}

/// Decode a list: its length is checked against the bytes present and the
/// limit before anything is allocated.
pub fn decode_list(bytes: &[u8]) -> Result<Vec<Attestation>, AttestationError> {
    if !bytes.len().is_multiple_of(ATTESTATION_LEN) {
        return Err(AttestationError::Truncated { len: bytes.len() });
    }
    let count = bytes.len() / ATTESTATION_LEN;
    if count > MAX_ATTESTATIONS {
        return Err(AttestationError::TooMany { count });
    }
    Ok(bytes
        .chunks_exact(ATTESTATION_LEN)
        .map(|chunk| {
            let mut a = Attestation {
                change: [0; 32],
                key: [0; 32],
                signature: [0; 64],
            };
            a.change.copy_from_slice(&chunk[..32]);
            a.key.copy_from_slice(&chunk[32..64]);
            a.signature.copy_from_slice(&chunk[64..]);
            a
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::identity::NodeIdentity;

    fn key_pair(seed: u8) -> Ed25519KeyPair {
        Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).expect("a key from a seed")
    }

    #[test]
    fn a_signed_change_verifies_only_for_its_document_and_change() {
        let keys = key_pair(7);
        let doc = DocumentId([1; 16]);
        let a = Attestation::sign(&keys, &doc, &[9; 32]);
        assert!(a.verify(&doc));
        assert!(!a.verify(&DocumentId([2; 16])), "another document");
        let mut other_change = a.clone();
        other_change.change[0] ^= 1;
        assert!(!other_change.verify(&doc), "another change");
        // A relay putting its own key on the author's signature.
        let mut rekeyed = a.clone();
        rekeyed
            .key
            .copy_from_slice(key_pair(8).public_key().as_ref());
        assert!(!rekeyed.verify(&doc), "another key");
    }

    #[test]
    fn the_author_is_the_node_id_the_certificate_gives() {
        let identity = NodeIdentity::generate("commune:a").expect("an identity");
        let keys = identity
            .attestation_key_pair()
            .expect("the node's key pair");
        let a = Attestation::sign(&keys, &DocumentId([3; 16]), &[4; 32]);
        assert_eq!(&a.author(), identity.node_id().as_bytes());
    }

    #[test]
    fn a_batch_verifies_like_single_verification_and_finds_the_bad_one() {
        let docs = [DocumentId([1; 16]), DocumentId([2; 16])];
        let list: Vec<Attestation> = (0..10u8)
            .map(|i| Attestation::sign(&key_pair(i % 3), &docs[usize::from(i % 2)], &[i; 32]))
            .collect();
        let items: Vec<_> = list
            .iter()
            .enumerate()
            .map(|(i, a)| (docs[i % 2], a))
            .collect();
        assert_eq!(verify_many(&items), vec![true; 10]);
        // One signature broken, one attestation moved to another document,
        // one key that is not a curve point: the batch fails, and exactly
        // those are found.
        let mut bad = list.clone();
        bad[3].signature[10] ^= 1;
        bad[7].key = [0xff; 32];
        let mut items: Vec<_> = bad
            .iter()
            .enumerate()
            .map(|(i, a)| (docs[i % 2], a))
            .collect();
        items[5].0 = docs[0];
        let expected: Vec<bool> = (0..10).map(|i| ![3, 5, 7].contains(&i)).collect();
        assert_eq!(verify_many(&items), expected);
        let singles: Vec<bool> = items.iter().map(|(d, a)| a.verify(d)).collect();
        assert_eq!(singles, expected, "as single verification finds them");
        // One alone, and more than a batch.
        assert_eq!(verify_many(&items[3..4]), vec![false]);
        let mut many: Vec<_> = (0..MAX_BATCH + 3).map(|_| (docs[0], &list[0])).collect();
        many[MAX_BATCH + 1].1 = &bad[3];
        many[MAX_BATCH + 1].0 = docs[1];
        let found = verify_many(&many);
        assert_eq!(found.len(), MAX_BATCH + 3);
        assert_eq!(
            found.iter().position(|ok| !ok),
            Some(MAX_BATCH + 1),
            "the bad one in the second batch, and only it"
        );
        assert_eq!(found.iter().filter(|ok| !**ok).count(), 1);
    }

    /// ed25519-dalek's `verify_batch` on the same items, the reference.
    fn dalek_batch(items: &[(DocumentId, &Attestation)]) -> bool {
        use ed25519_dalek::{Signature, VerifyingKey};
        let messages: Vec<_> = items.iter().map(|(d, a)| message(d, &a.change)).collect();
        let messages: Vec<&[u8]> = messages.iter().map(|m| &m[..]).collect();
        let signatures: Vec<_> = items
            .iter()
            .map(|(_, a)| Signature::from_bytes(&a.signature))
            .collect();
        let Ok(keys) = items
            .iter()
            .map(|(_, a)| VerifyingKey::from_bytes(&a.key))
            .collect::<Result<Vec<_>, _>>()
        else {
            return false;
        };
        ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
    }

    #[test]
    fn the_batch_with_keys_taken_once_judges_as_dalek_s_batch() {
        let docs: Vec<DocumentId> = (0..7u8).map(|i| DocumentId([i; 16])).collect();
        // Three authors, many signatures each (the keys summed), and one
        // author alone.
        let list: Vec<Attestation> = (0..40u8)
            .map(|i| Attestation::sign(&key_pair(i % 3), &docs[usize::from(i % 7)], &[i; 32]))
            .collect();
        let items: Vec<_> = list
            .iter()
            .enumerate()
            .map(|(i, a)| (docs[i % 7], a))
            .collect();
        assert!(dalek_batch(&items), "the reference accepts the good batch");
        assert!(verify_batch(&items));
        assert!(verify_batch(&items[..2]) && verify_batch(&items[5..6]));
        // Every way one attestation can be bad, at several places: each
        // fails the batch, as it fails dalek's.
        let l = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        type Spoil = fn(&mut Attestation, &[u8; 32]);
        let breaks: [(&str, Spoil); 6] = [
            ("a bit of s", |a, _| a.signature[40] ^= 1),
            ("a bit of R", |a, _| a.signature[3] ^= 1),
            ("another change", |a, _| a.change[0] ^= 1),
            ("another author's key", |a, _| {
                a.key.copy_from_slice(key_pair(9).public_key().as_ref())
            }),
            ("a key that is no point", |a, _| a.key = [0xff; 32]),
            ("s + l, the same scalar not reduced", |a, l| {
                // s < l, so s + l < 2^253: no carry out of the top byte.
                let mut carry = 0u16;
                for (byte, add) in a.signature[32..].iter_mut().zip(l) {
                    let sum = u16::from(*byte) + u16::from(*add) + carry;
                    *byte = sum as u8;
                    carry = sum >> 8;
                }
            }),
        ];
        for (what, spoil) in breaks {
            for at in [0, 17, 39] {
                let mut bad = list.clone();
                spoil(&mut bad[at], &l);
                let items: Vec<_> = bad
                    .iter()
                    .enumerate()
                    .map(|(i, a)| (docs[i % 7], a))
                    .collect();
                assert!(
                    !items[at].1.verify(&items[at].0),
                    "{what}: single verification refuses it"
                );
                assert!(
                    !dalek_batch(&items),
                    "{what} at {at}: the reference refuses the batch"
                );
                assert!(!verify_batch(&items), "{what} at {at}: refused");
            }
        }
        // The right signature under another document.
        let mut moved = items.clone();
        moved[12].0 = docs[0];
        assert!(
            !dalek_batch(&moved) && !verify_batch(&moved),
            "another document"
        );
    }

    #[test]
    fn lists_round_trip_and_are_bounded_before_allocating() {
        let keys = key_pair(1);
        let doc = DocumentId([5; 16]);
        let list: Vec<_> = (0..3u8)
            .map(|i| Attestation::sign(&keys, &doc, &[i; 32]))
            .collect();
        let bytes = encode_list(&list);
        assert_eq!(bytes.len(), 3 * ATTESTATION_LEN);
        assert_eq!(decode_list(&bytes), Ok(list));
        assert_eq!(
            decode_list(&bytes[..bytes.len() - 1]),
            Err(AttestationError::Truncated {
                len: 3 * ATTESTATION_LEN - 1
            })
        );
        let too_many = vec![0u8; (MAX_ATTESTATIONS + 1) * ATTESTATION_LEN];
        assert_eq!(
            decode_list(&too_many),
            Err(AttestationError::TooMany {
                count: MAX_ATTESTATIONS + 1
            })
        );
    }
}
