//! The identifier of an office (cơ quan, đơn vị): path-like and stable.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An office identifier such as `province:quang-nam`, `district:dien-ban`,
/// `commune:dien-ban/dien-phuong` or `province:quang-nam/cong-an-tinh`.
///
/// The form is `LEVEL:SLUG[/SLUG...]`: the level label, a colon, then one or
/// more slugs of lowercase ASCII letters, digits and hyphens separated by
/// slashes. The level label is data (the tree may have any depth); nothing in
/// the code depends on a particular set of labels.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OfficeId(String);

/// Why a string is not an office id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{value}` is not an office id: {reason} (expected LEVEL:SLUG[/SLUG...], for example commune:dien-ban/dien-phuong)"
)]
pub struct OfficeIdError {
    pub value: String,
    pub reason: &'static str,
}

impl OfficeId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The level label before the colon (`commune` in `commune:dien-ban/dien-phuong`).
    pub fn level_label(&self) -> &str {
        self.0.split_once(':').map_or("", |(level, _)| level)
    }
}

impl FromStr for OfficeId {
    type Err = OfficeIdError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let error = |reason| OfficeIdError {
            value: value.to_string(),
            reason,
        };
        let (level, path) = value.split_once(':').ok_or_else(|| error("no colon"))?;
        let is_slug = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        if !is_slug(level) {
            return Err(error(
                "the level must be lowercase letters, digits or hyphens",
            ));
        }
        if !path.split('/').all(is_slug) {
            return Err(error(
                "each slug must be non-empty lowercase ASCII letters, digits or hyphens",
            ));
        }
        Ok(Self(value.to_string()))
    }
}

impl TryFrom<String> for OfficeId {
    type Error = OfficeIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<OfficeId> for String {
    fn from(id: OfficeId) -> Self {
        id.0
    }
}

impl fmt::Display for OfficeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_path_like_ids() {
        for ok in [
            "province:quang-nam",
            "commune:dien-ban/dien-phuong",
            "province:quang-nam/cong-an-tinh",
        ] {
            assert_eq!(ok.parse::<OfficeId>().unwrap().as_str(), ok);
        }
        assert_eq!(
            "commune:dien-ban/dien-phuong"
                .parse::<OfficeId>()
                .unwrap()
                .level_label(),
            "commune"
        );
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "",
            "province",
            "Province:x",
            "commune:",
            "commune:a//b",
            "xã:điện",
        ] {
            assert!(bad.parse::<OfficeId>().is_err(), "{bad} accepted");
        }
    }
}
