//! The invitation code (mã mời): what `lienthong invite` prints and
//! `lienthong init --join` reads. Base32 (RFC 4648, no padding) of
//! `version ‖ parent node id (32) ‖ invitation id (8) ‖ secret (16) ‖
//! address (UTF-8) ‖ checksum (2 bytes of SHA-256 of what precedes)`.
//! The checksum only catches typing mistakes; the secret is the proof.

use data_encoding::BASE32_NOPAD;
use lienthong_sync::transport::identity::NodeId;
use sha2::{Digest, Sha256};

const VERSION: u8 = 1;
/// Longest `host:port` a code carries.
pub const MAX_ADDRESS: usize = 253 + 6;

#[derive(Clone, PartialEq, Eq)]
pub struct InvitationCode {
    pub parent: NodeId,
    pub address: String,
    pub id: [u8; 8],
    pub secret: [u8; 16],
}

impl std::fmt::Debug for InvitationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("InvitationCode")
            .field("parent", &self.parent)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error(
        "the invitation code is not base32 (letters A–Z and digits 2–7): copy it again from `lienthong invite`"
    )]
    NotBase32,
    #[error(
        "the invitation code is mistyped or cut short (its checksum does not match): copy it again exactly"
    )]
    Checksum,
    #[error(
        "the invitation code was made by another version of lienthong (format {0}): make a new one with this version"
    )]
    Version(u8),
    #[error("the invitation code carries no usable parent address")]
    Address,
}

fn checksum(bytes: &[u8]) -> [u8; 2] {
    let hash = Sha256::digest(bytes);
    [hash[0], hash[1]]
}

impl InvitationCode {
    /// The SHA-256 of the secret: all the parent keeps.
    pub fn secret_hash(secret: &[u8; 16]) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(b"lienthong/invitation-secret/v1\0");
        hash.update(secret);
        hash.finalize().into()
    }

    pub fn encode(&self) -> String {
        let mut bytes = vec![VERSION];
        bytes.extend_from_slice(self.parent.as_bytes());
        bytes.extend_from_slice(&self.id);
        bytes.extend_from_slice(&self.secret);
        bytes.extend_from_slice(self.address.as_bytes());
        let sum = checksum(&bytes);
        bytes.extend_from_slice(&sum);
        BASE32_NOPAD.encode(&bytes)
    }

    pub fn decode(text: &str) -> Result<Self, CodeError> {
        // Operators may paste it with spaces, dashes or in lower case.
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if cleaned.len() > 2 * (1 + 32 + 8 + 16 + MAX_ADDRESS + 2) {
            return Err(CodeError::Checksum);
        }
        let bytes = BASE32_NOPAD.decode(cleaned.as_bytes()).map_err(|_| {
            // Only base32 letters but no whole number of bytes: cut short.
            if cleaned
                .bytes()
                .all(|b| matches!(b, b'A'..=b'Z' | b'2'..=b'7'))
            {
                CodeError::Checksum
            } else {
                CodeError::NotBase32
            }
        })?;
        const FIXED: usize = 1 + 32 + 8 + 16;
        if bytes.len() < FIXED + 2 + 3 {
            return Err(CodeError::Checksum);
        }
        let (body, sum) = bytes.split_at(bytes.len() - 2);
        if checksum(body) != sum {
            return Err(CodeError::Checksum);
        }
        if body[0] != VERSION {
            return Err(CodeError::Version(body[0]));
        }
        let mut parent = [0u8; 32];
        parent.copy_from_slice(&body[1..33]);
        let mut id = [0u8; 8];
        id.copy_from_slice(&body[33..41]);
        let mut secret = [0u8; 16];
        secret.copy_from_slice(&body[41..57]);
        let address = std::str::from_utf8(&body[FIXED..]).map_err(|_| CodeError::Address)?;
        if address.is_empty() || address.len() > MAX_ADDRESS || !address.contains(':') {
            return Err(CodeError::Address);
        }
        Ok(InvitationCode {
            parent: NodeId::from_bytes(parent),
            address: address.to_string(),
            id,
            secret,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> InvitationCode {
        InvitationCode {
            parent: NodeId::from_bytes([7; 32]),
            address: "10.0.0.1:7443".into(),
            id: [1, 2, 3, 4, 5, 6, 7, 8],
            secret: [9; 16],
        }
    }

    #[test]
    fn a_code_reads_back_and_a_typo_is_caught() {
        let code = sample();
        let text = code.encode();
        assert!(text.len() < 120, "{} chars", text.len());
        assert_eq!(InvitationCode::decode(&text).unwrap(), code);
        assert_eq!(
            InvitationCode::decode(&text.to_lowercase()).unwrap(),
            code,
            "lower case is accepted"
        );
        // One character changed: caught by the checksum.
        let mut typo: Vec<char> = text.chars().collect();
        typo[40] = if typo[40] == 'A' { 'B' } else { 'A' };
        let typo: String = typo.into_iter().collect();
        assert_eq!(InvitationCode::decode(&typo), Err(CodeError::Checksum));
        assert_eq!(
            InvitationCode::decode(&text[..text.len() - 5]),
            Err(CodeError::Checksum)
        );
        assert_eq!(
            InvitationCode::decode("not a code!"),
            Err(CodeError::NotBase32)
        );
        assert!(
            !format!("{code:?}").contains("9, 9"),
            "Debug hides the secret"
        );
    }
}
