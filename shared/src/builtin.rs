//! The configuration files shipped in `configs/`, compiled into the binary
//! so `lienthong demo` works with no file on disk. A test proves each one
//! parses, which is why the functions here may `expect`.

use std::path::Path;

use crate::catalogue::Catalogue;
use crate::offices::NetworkConfig;

/// `configs/networks/quang-nam-3tier.toml`: province Center, districts, communes (2021).
pub const QUANG_NAM_3TIER: &str = include_str!("../../configs/networks/quang-nam-3tier.toml");

/// `configs/networks/da-nang-2tier.toml`: city and communes, no districts (since July 2025).
pub const DA_NANG_2TIER: &str = include_str!("../../configs/networks/da-nang-2tier.toml");

/// `configs/catalogue.toml`: the procedure catalogue.
pub const CATALOGUE: &str = include_str!("../../configs/catalogue.toml");

/// The shipped networks by name, as `(name, file label, source)`.
pub const NETWORKS: [(&str, &str, &str); 2] = [
    (
        "quang-nam-3tier",
        "<built-in configs/networks/quang-nam-3tier.toml>",
        QUANG_NAM_3TIER,
    ),
    (
        "da-nang-2tier",
        "<built-in configs/networks/da-nang-2tier.toml>",
        DA_NANG_2TIER,
    ),
];

/// The three-tier Quảng Nam network.
pub fn quang_nam_3tier() -> NetworkConfig {
    NetworkConfig::parse(Path::new(NETWORKS[0].1), QUANG_NAM_3TIER)
        .expect("the shipped quang-nam-3tier.toml parses (tested)")
}

/// The two-tier Đà Nẵng network.
pub fn da_nang_2tier() -> NetworkConfig {
    NetworkConfig::parse(Path::new(NETWORKS[1].1), DA_NANG_2TIER)
        .expect("the shipped da-nang-2tier.toml parses (tested)")
}

/// A shipped network by its name (`quang-nam-3tier`, `da-nang-2tier`).
pub fn network(name: &str) -> Option<NetworkConfig> {
    match name {
        "quang-nam-3tier" => Some(quang_nam_3tier()),
        "da-nang-2tier" => Some(da_nang_2tier()),
        _ => None,
    }
}

/// The shipped procedure catalogue.
pub fn catalogue() -> Catalogue {
    Catalogue::parse(Path::new("<built-in configs/catalogue.toml>"), CATALOGUE)
        .expect("the shipped catalogue.toml parses (tested)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_files_parse() {
        for (name, label, source) in NETWORKS {
            let parsed = NetworkConfig::parse(Path::new(label), source);
            assert!(parsed.is_ok(), "{name}: {}", parsed.unwrap_err());
            assert!(network(name).is_some());
        }
        let catalogue = Catalogue::parse(Path::new("catalogue.toml"), CATALOGUE);
        assert!(catalogue.is_ok(), "{}", catalogue.unwrap_err());
        assert!(network("nowhere").is_none());
    }

    #[test]
    fn shipped_files_on_disk_match_the_compiled_ones() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
        let quang_nam = NetworkConfig::load(&root.join("networks/quang-nam-3tier.toml")).unwrap();
        assert_eq!(quang_nam, quang_nam_3tier());
        let da_nang = NetworkConfig::load(&root.join("networks/da-nang-2tier.toml")).unwrap();
        assert_eq!(da_nang, da_nang_2tier());
        assert_eq!(
            Catalogue::load(&root.join("catalogue.toml")).unwrap(),
            catalogue()
        );
    }

    #[test]
    fn shipped_networks_have_both_rule_sets() {
        for network in [quang_nam_3tier(), da_nang_2tier()] {
            let ids: Vec<_> = network.rule_sets.iter().map(|r| r.id.as_str()).collect();
            assert_eq!(ids, ["2018", "2025"], "{}", network.name);
            assert_eq!(network.calendar.timezone, chrono_tz::Asia::Ho_Chi_Minh);
            assert_eq!(
                network.calendar.working_hours,
                ["07:00-11:30", "13:30-17:00"]
            );
        }
    }
}
