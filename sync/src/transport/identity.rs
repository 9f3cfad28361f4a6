//! Node identities: a key pair and a self-signed certificate per node, and the
//! node id derived from the public key.
//!
//! The node id is the SHA-256 of the certificate's SubjectPublicKeyInfo, so it
//! names the key, not the certificate: re-issuing a certificate for the same
//! key keeps the id. Peers pin each other by node id (see [`super::tls`]);
//! there is no certificate authority.
//!
//! Text form: `lt1-` followed by the 32 bytes in lowercase RFC 4648 base32
//! (52 characters, alphabet `a-z2-7`, so no `0`/`o` or `1`/`l` confusion),
//! in groups of four separated by dashes, e.g.
//! `lt1-7fhu-2kqa-...` (68 characters in all). Logs use the short form
//! `lt1-7fhu-2kqa` ([`NodeId::short`]).

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

/// Prefix of the text form; the `1` is a format version.
const PREFIX: &str = "lt1";
/// Number of base32 characters encoding the 32 id bytes.
const ENCODED_LEN: usize = 52;
/// Characters per dash-separated group in the text form.
const GROUP: usize = 4;
/// Base32 characters in the short (log) form.
const SHORT_LEN: usize = 8;
/// Files larger than this are not a node key or certificate.
const MAX_FILE_SIZE: u64 = 64 * 1024;
/// The subject alternative name every node certificate carries. Peers are
/// identified by their key, not by a name; this only keeps generic X.509
/// tooling happy.
pub const CERTIFICATE_SAN: &str = "lienthong.node";

/// SHA-256 of the certificate's SubjectPublicKeyInfo DER: stable for the key,
/// independent of the certificate's other fields.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId([u8; 32]);

impl NodeId {
    /// The id of the key whose DER-encoded SubjectPublicKeyInfo is given.
    pub fn from_public_key_der(spki_der: &[u8]) -> Self {
        Self(Sha256::digest(spki_der).into())
    }

    /// The id of the key certified by a DER-encoded X.509 certificate.
    ///
    /// Safe on untrusted input: malformed certificates give an error, never a
    /// panic. Only the structure is checked (no signature, chain or dates).
    pub fn from_certificate_der(cert_der: &[u8]) -> Result<Self, IdentityError> {
        let der = CertificateDer::from(cert_der);
        let parsed = rustls::server::ParsedCertificate::try_from(&der)
            .map_err(|e| IdentityError::InvalidCertificate(e.to_string()))?;
        Ok(Self::from_public_key_der(
            parsed.subject_public_key_info().as_ref(),
        ))
    }

    /// An id from its raw bytes (as stored, or as returned by [`Self::as_bytes`]).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The first 16 bytes: the node's Automerge actor id.
    pub fn actor_bytes(&self) -> [u8; 16] {
        let mut actor = [0u8; 16];
        actor.copy_from_slice(&self.0[..16]);
        actor
    }

    /// The short form for logs, e.g. `lt1-7fhu-2kqa` (the first 40 bits).
    /// Not unique enough to pin or compare identities: use the full form.
    pub fn short(&self) -> ShortNodeId {
        ShortNodeId(*self)
    }

    /// The 52 lowercase base32 characters, without prefix or dashes. Valid
    /// as a DNS label (at most 63 characters).
    pub fn base32(&self) -> String {
        data_encoding::BASE32_NOPAD
            .encode(&self.0)
            .to_ascii_lowercase()
    }

    /// Parses the 52 base32 characters of [`Self::base32`] (any case).
    pub(crate) fn from_base32(chars: &str) -> Result<Self, ParseNodeIdError> {
        let mut upper = String::with_capacity(ENCODED_LEN);
        for c in chars.chars() {
            if c.is_ascii_alphabetic() || ('2'..='7').contains(&c) {
                upper.push(c.to_ascii_uppercase());
            } else {
                return Err(ParseNodeIdError::InvalidCharacter(c));
            }
        }
        if upper.len() != ENCODED_LEN {
            return Err(ParseNodeIdError::WrongLength(upper.len()));
        }
        let bytes = data_encoding::BASE32_NOPAD
            .decode(upper.as_bytes())
            .map_err(|_| ParseNodeIdError::ImpossibleLastCharacter)?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| ParseNodeIdError::WrongLength(ENCODED_LEN))?;
        Ok(Self(bytes))
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_grouped(f, &self.base32())
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn write_grouped(f: &mut fmt::Formatter<'_>, chars: &str) -> fmt::Result {
    f.write_str(PREFIX)?;
    // The string is ASCII, so byte chunks are character chunks.
    for group in chars.as_bytes().chunks(GROUP) {
        f.write_str("-")?;
        f.write_str(std::str::from_utf8(group).map_err(|_| fmt::Error)?)?;
    }
    Ok(())
}

/// The short log form of a [`NodeId`]; see [`NodeId::short`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShortNodeId(NodeId);

impl fmt::Display for ShortNodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_grouped(f, &self.0.base32()[..SHORT_LEN])
    }
}

impl fmt::Debug for ShortNodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Parses the text form: `lt1-` and 52 base32 characters, in any case, with
/// or without the dashes (and surrounding white space ignored).
impl FromStr for NodeId {
    type Err = ParseNodeIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        let rest = match trimmed.get(..PREFIX.len()) {
            Some(p) if p.eq_ignore_ascii_case(PREFIX) => &trimmed[PREFIX.len()..],
            _ => return Err(ParseNodeIdError::MissingPrefix(abbreviate(trimmed))),
        };
        let chars: String = rest.chars().filter(|&c| c != '-').collect();
        Self::from_base32(&chars)
    }
}

fn abbreviate(s: &str) -> String {
    const MAX: usize = 24;
    match s.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_owned(),
    }
}

/// Why a string is not a node id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseNodeIdError {
    #[error(
        "not a node id: {0:?} does not start with `lt1-` (a node id looks like lt1-xxxx-xxxx-… with 13 groups of 4)"
    )]
    MissingPrefix(String),
    #[error(
        "invalid character {0:?} in node id: node ids use only the letters a-z and the digits 2-7 \
         (check for typos such as 0 for o or 1 for l)"
    )]
    InvalidCharacter(char),
    #[error(
        "node id has {0} characters after `lt1-` (not counting dashes), expected 52{hint}",
        hint = if *.0 == SHORT_LEN { "; this looks like the short form printed in logs, use the full id" } else { "" }
    )]
    WrongLength(usize),
    #[error("node id has an impossible last character: check it for a typo")]
    ImpossibleLastCharacter,
}

/// Errors creating, storing or loading a node identity.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    #[error(
        "no node identity in {}: {} does not exist; run `lienthong init` to create one",
        .dir.display(), .missing.display()
    )]
    NotInitialized { dir: PathBuf, missing: PathBuf },
    #[error(
        "incomplete node identity: {} exists but {} is missing; restore it from a backup \
         (running `lienthong init` instead creates a new node id that every peer must re-pin)",
        .present.display(), .missing.display()
    )]
    Incomplete { present: PathBuf, missing: PathBuf },
    #[error("cannot read {}: {source}", .path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {}: {source}", .path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error(
        "refusing to overwrite {}: this directory already holds a node identity \
         (move the old node.key and node.crt away first if you really mean to replace it)",
        .path.display()
    )]
    AlreadyExists { path: PathBuf },
    #[error(
        "private key {} is accessible by group or others (mode {mode:03o}); run `chmod 600 {}`",
        .path.display(), .path.display()
    )]
    KeyPermissions { path: PathBuf, mode: u32 },
    #[error("{} is not a valid PEM file with a {expected} section: {reason}", .path.display())]
    CorruptPem {
        path: PathBuf,
        expected: &'static str,
        reason: String,
    },
    #[error("{} is too large to be a node key or certificate ({size} bytes)", .path.display())]
    FileTooLarge { path: PathBuf, size: u64 },
    #[error(
        "the private key in {} does not match the certificate in {}; \
         the two files must come from the same `lienthong init`",
        .key.display(), .cert.display()
    )]
    KeyMismatch { key: PathBuf, cert: PathBuf },
    #[error("the private key does not match the certificate")]
    KeyDoesNotMatchCertificate,
    #[error("invalid certificate: {0}")]
    InvalidCertificate(String),
    #[error("invalid private key (expected PKCS#8): {0}")]
    InvalidKey(String),
    #[error("invalid common name {0:?}: it must be 1 to 64 characters")]
    InvalidCommonName(String),
    #[error("cannot generate node identity: {0}")]
    Generate(String),
}

/// A node's key pair and self-signed certificate.
pub struct NodeIdentity {
    certificate: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
    node_id: NodeId,
}

impl NodeIdentity {
    /// File name of the PEM private key inside an identity directory.
    pub const KEY_FILE: &'static str = "node.key";
    /// File name of the PEM certificate inside an identity directory.
    pub const CERT_FILE: &'static str = "node.crt";

    /// A fresh Ed25519 key pair and a minimal self-signed certificate for it:
    /// subject CN = `common_name` (e.g. the office id), one subject
    /// alternative name ([`CERTIFICATE_SAN`]), no other extensions, valid for
    /// 20 years from the start of the current year. Peers ignore the dates
    /// (see [`super::tls`]); they are there for X.509 tooling.
    pub fn generate(common_name: &str) -> Result<Self, IdentityError> {
        let cn_len = common_name.chars().count();
        if cn_len == 0 || cn_len > 64 {
            return Err(IdentityError::InvalidCommonName(common_name.to_owned()));
        }
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519)
            .map_err(|e| IdentityError::Generate(e.to_string()))?;
        let mut params = rcgen::CertificateParams::new(vec![CERTIFICATE_SAN.to_owned()])
            .map_err(|e| IdentityError::Generate(e.to_string()))?;
        let mut name = rcgen::DistinguishedName::new();
        name.push(rcgen::DnType::CommonName, common_name);
        params.distinguished_name = name;
        let year = current_year();
        params.not_before = rcgen::date_time_ymd(year, 1, 1);
        params.not_after = rcgen::date_time_ymd(year + 20, 1, 1);
        let cert = params
            .self_signed(&key)
            .map_err(|e| IdentityError::Generate(e.to_string()))?;
        Self::from_der(cert.der().to_vec(), key.serialize_der())
    }

    /// The node's key as a signing key pair, for change attestations
    /// (`protocol::attest`): the same key its certificate and node id name.
    pub fn attestation_key_pair(&self) -> Result<ring::signature::Ed25519KeyPair, IdentityError> {
        ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(self.key.secret_pkcs8_der())
            .map_err(|e| IdentityError::InvalidKey(e.to_string()))
    }

    /// An identity from a DER certificate and its PKCS#8 DER private key;
    /// fails if either does not parse or if they do not belong together.
    pub fn from_der(certificate_der: Vec<u8>, pkcs8_der: Vec<u8>) -> Result<Self, IdentityError> {
        let certificate = CertificateDer::from(certificate_der);
        let key = PrivatePkcs8KeyDer::from(pkcs8_der);
        let node_id = NodeId::from_certificate_der(&certificate)?;
        let signing_key =
            rustls::crypto::ring::sign::any_supported_type(&PrivateKeyDer::Pkcs8(key.clone_key()))
                .map_err(|e| IdentityError::InvalidKey(e.to_string()))?;
        match signing_key.public_key() {
            Some(spki) if NodeId::from_public_key_der(&spki) == node_id => {}
            _ => return Err(IdentityError::KeyDoesNotMatchCertificate),
        }
        Ok(Self {
            certificate,
            key,
            node_id,
        })
    }

    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// The DER-encoded self-signed certificate (public).
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate
    }

    /// The certificate as rustls takes it.
    pub fn certificate(&self) -> CertificateDer<'static> {
        self.certificate.clone()
    }

    /// A copy of the PKCS#8 private key (secret: only for building TLS
    /// configurations; never log or send it). The copy is zeroed on drop.
    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key.clone_key())
    }

    /// The certificate in PEM form (what `node.crt` holds).
    pub fn certificate_pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.certificate)
    }

    /// Writes `node.key` (PEM PKCS#8, created with mode 0600 so it is never
    /// readable by others, not even briefly) and `node.crt` (PEM) into `dir`,
    /// creating `dir` (mode 0700) if needed. Refuses to overwrite either file.
    /// Both files are fsynced before this returns.
    pub fn save(&self, dir: &Path) -> Result<(), IdentityError> {
        let key_path = dir.join(Self::KEY_FILE);
        let cert_path = dir.join(Self::CERT_FILE);
        create_dir(dir)?;
        for path in [&key_path, &cert_path] {
            if exists(path)? {
                return Err(IdentityError::AlreadyExists { path: path.clone() });
            }
        }
        let key_pem =
            SecretBytes(pem_encode("PRIVATE KEY", self.key.secret_pkcs8_der()).into_bytes());
        write_new_file(&key_path, &key_pem.0, 0o600)?;
        if let Err(e) = write_new_file(&cert_path, self.certificate_pem().as_bytes(), 0o644) {
            // Do not leave a key without its certificate behind.
            let _ = fs::remove_file(&key_path);
            return Err(e);
        }
        // Make the new directory entries durable too.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Reads the identity written by [`Self::save`]. Refuses a key file that
    /// group or others can access, a key that does not match the
    /// certificate, and files that are not the expected PEM.
    pub fn load(dir: &Path) -> Result<Self, IdentityError> {
        let key_path = dir.join(Self::KEY_FILE);
        let cert_path = dir.join(Self::CERT_FILE);
        let key_exists = exists(&key_path)?;
        let cert_exists = exists(&cert_path)?;
        match (key_exists, cert_exists) {
            (true, true) => {}
            (false, false) => {
                return Err(IdentityError::NotInitialized {
                    dir: dir.to_owned(),
                    missing: key_path,
                });
            }
            (true, false) => {
                return Err(IdentityError::Incomplete {
                    present: key_path,
                    missing: cert_path,
                });
            }
            (false, true) => {
                return Err(IdentityError::Incomplete {
                    present: cert_path,
                    missing: key_path,
                });
            }
        }

        let key_bytes = SecretBytes(read_limited(&key_path, true)?);
        let cert_bytes = read_limited(&cert_path, false)?;

        let certificate =
            CertificateDer::from_pem_slice(&cert_bytes).map_err(|e| IdentityError::CorruptPem {
                path: cert_path.clone(),
                expected: "CERTIFICATE",
                reason: pem_reason(&e),
            })?;
        let key = PrivatePkcs8KeyDer::from_pem_slice(&key_bytes.0).map_err(|e| {
            IdentityError::CorruptPem {
                path: key_path.clone(),
                expected: "PRIVATE KEY (PKCS#8)",
                reason: pem_reason(&e),
            }
        })?;
        let certificate_der = certificate.to_vec();
        let key_der = key.secret_pkcs8_der().to_vec();
        match Self::from_der(certificate_der, key_der) {
            Ok(identity) => Ok(identity),
            Err(IdentityError::KeyDoesNotMatchCertificate) => Err(IdentityError::KeyMismatch {
                key: key_path,
                cert: cert_path,
            }),
            Err(IdentityError::InvalidCertificate(reason)) => Err(IdentityError::CorruptPem {
                path: cert_path,
                expected: "CERTIFICATE",
                reason: format!("the certificate inside does not parse: {reason}"),
            }),
            Err(IdentityError::InvalidKey(reason)) => Err(IdentityError::CorruptPem {
                path: key_path,
                expected: "PRIVATE KEY (PKCS#8)",
                reason: format!("the key inside does not parse: {reason}"),
            }),
            Err(e) => Err(e),
        }
    }
}

impl Clone for NodeIdentity {
    fn clone(&self) -> Self {
        Self {
            certificate: self.certificate.clone(),
            key: self.key.clone_key(),
            node_id: self.node_id,
        }
    }
}

impl fmt::Debug for NodeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeIdentity")
            .field("node_id", &self.node_id)
            .field("certificate_len", &self.certificate.len())
            .field("key", &"<secret>")
            .finish()
    }
}

/// The current UTC year from the system clock (clamped to a sane range; the
/// dates only decorate the certificate).
fn current_year() -> i32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    civil_year_from_days(days).clamp(1970, 9000) as i32
}

/// The proleptic Gregorian year containing `days` since 1970-01-01
/// (H. Hinnant's `civil_from_days`).
fn civil_year_from_days(days: i64) -> i64 {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(month <= 2)
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = data_encoding::BASE64.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // Base64 output is ASCII, so byte chunks are valid UTF-8.
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// Secret bytes (the PEM private key) that are wiped when dropped: best
/// effort, without `unsafe` (`black_box` keeps the wipe from being elided).
struct SecretBytes(Vec<u8>);

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.0.fill(0);
        std::hint::black_box(&mut self.0);
    }
}

/// Whether `path` exists (as anything, even a dangling symlink); errors other
/// than "not found" (e.g. an unreadable directory) are reported, not guessed.
fn exists(path: &Path) -> Result<bool, IdentityError> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(IdentityError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

fn create_dir(dir: &Path) -> Result<(), IdentityError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| IdentityError::Write {
        path: dir.to_owned(),
        source,
    })
}

/// Creates `path` (failing if it exists) with `mode` set atomically at
/// creation, writes `contents` and fsyncs. Removes the file on failure.
fn write_new_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), IdentityError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == io::ErrorKind::AlreadyExists {
            IdentityError::AlreadyExists {
                path: path.to_owned(),
            }
        } else {
            IdentityError::Write {
                path: path.to_owned(),
                source,
            }
        }
    })?;
    let result = file.write_all(contents).and_then(|()| file.sync_all());
    if let Err(source) = result {
        drop(file);
        let _ = fs::remove_file(path);
        return Err(IdentityError::Write {
            path: path.to_owned(),
            source,
        });
    }
    Ok(())
}

/// Reads a small file; for the private key, first checks (on the open file,
/// so there is no race with a rename) that group and others have no access.
fn read_limited(path: &Path, is_private_key: bool) -> Result<Vec<u8>, IdentityError> {
    let read_err = |source| IdentityError::Read {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    #[cfg(unix)]
    if is_private_key {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(IdentityError::KeyPermissions {
                path: path.to_owned(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = is_private_key;
    if meta.len() > MAX_FILE_SIZE {
        return Err(IdentityError::FileTooLarge {
            path: path.to_owned(),
            size: meta.len(),
        });
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(IdentityError::FileTooLarge {
            path: path.to_owned(),
            size: bytes.len() as u64,
        });
    }
    Ok(bytes)
}

fn pem_reason(e: &rustls_pki_types::pem::Error) -> String {
    match e {
        rustls_pki_types::pem::Error::NoItemsFound => "no such section found".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_year() {
        assert_eq!(civil_year_from_days(0), 1970);
        assert_eq!(civil_year_from_days(365), 1971);
        assert_eq!(civil_year_from_days(-1), 1969);
        // 2024-12-31 is day 20088, 2025-01-01 is day 20089.
        assert_eq!(civil_year_from_days(20_088), 2024);
        assert_eq!(civil_year_from_days(20_089), 2025);
        // 2000-02-29 (day 11016) and 2000-03-01.
        assert_eq!(civil_year_from_days(11_016), 2000);
        assert_eq!(civil_year_from_days(11_017), 2000);
    }

    #[test]
    fn pem_lines_are_64_wide() {
        let pem = pem_encode("CERTIFICATE", &[7u8; 100]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(*lines.last().unwrap(), "-----END CERTIFICATE-----");
        let parsed = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
        assert_eq!(parsed.as_ref(), &[7u8; 100][..]);
    }
}
