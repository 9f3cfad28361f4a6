//! Parsers for human-written link parameters (the `linkemu` command line
//! and its stdin commands). Each returns a message that says what was
//! expected.

use std::time::Duration;

/// Splits `"150ms"` into `(150.0, "ms")`; refuses signs, NaN and infinity.
fn number_and_unit<'a>(s: &'a str, what: &str) -> Result<(f64, &'a str), String> {
    let s = s.trim();
    if s.starts_with('-') {
        return Err(format!("invalid {what} {s:?}: cannot be negative"));
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    if number.is_empty() {
        return Err(format!("invalid {what} {s:?}: expected a number"));
    }
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid {what} {s:?}: {number:?} is not a number"))?;
    Ok((value, unit.trim()))
}

/// A duration such as `150ms`, `2s`, `1.5s`, `500us`, `2m`, `1h`, or `0`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    const UNITS: &str = "ns, us, ms, s, m, h";
    let (value, unit) = number_and_unit(s, "duration")?;
    let seconds_per_unit = match unit.to_ascii_lowercase().as_str() {
        "" if value == 0.0 => 0.0,
        "" => {
            return Err(format!(
                "invalid duration {s:?}: missing unit (use one of {UNITS}, e.g. 150ms)"
            ));
        }
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "invalid duration {s:?}: unknown unit {other:?} (use one of {UNITS})"
            ));
        }
    };
    Duration::try_from_secs_f64(value * seconds_per_unit)
        .map_err(|_| format!("invalid duration {s:?}: out of range"))
}

/// A rate in bits per second: `384kbit`, `2mbit`, `1gbit`, `1.5mbit`,
/// `1000000` (bits/s), with an optional `/s`; units are decimal (k = 1000).
/// `off`, `none` or `unlimited` give `None`.
pub fn parse_bandwidth(s: &str) -> Result<Option<u64>, String> {
    const UNITS: &str = "bit, kbit, mbit, gbit";
    let t = s.trim();
    if ["off", "none", "unlimited"].contains(&t.to_ascii_lowercase().as_str()) {
        return Ok(None);
    }
    let (value, unit) = number_and_unit(t, "bandwidth")?;
    let unit = unit.to_ascii_lowercase();
    let unit = unit.strip_suffix("/s").unwrap_or(&unit);
    let multiplier = match unit {
        "" | "bit" => 1.0,
        "k" | "kbit" => 1e3,
        "m" | "mbit" => 1e6,
        "g" | "gbit" => 1e9,
        "bps" | "kbps" | "mbps" | "gbps" => {
            return Err(format!(
                "invalid bandwidth {s:?}: {unit:?} is ambiguous (bits or bytes?); use {UNITS}"
            ));
        }
        other => {
            return Err(format!(
                "invalid bandwidth {s:?}: unknown unit {other:?} (use {UNITS}, e.g. 384kbit)"
            ));
        }
    };
    let bps = (value * multiplier).round();
    if bps < 1.0 {
        return Err(format!(
            "invalid bandwidth {s:?}: must be at least 1 bit/s (or \"off\")"
        ));
    }
    if bps >= u64::MAX as f64 {
        return Err(format!("invalid bandwidth {s:?}: out of range"));
    }
    Ok(Some(bps as u64))
}

/// A size in bytes: `65536`, `64KiB`, `64KB` (= 64000), `1MiB`, `2MB`,
/// `1GiB`, with an optional `B`.
pub fn parse_bytes(s: &str) -> Result<usize, String> {
    const UNITS: &str = "B, KB, KiB, MB, MiB, GB, GiB";
    let (value, unit) = number_and_unit(s, "size")?;
    let multiplier: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "kib" => 1024.0,
        "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "invalid size {s:?}: unknown unit {other:?} (use {UNITS}, e.g. 64KiB)"
            ));
        }
    };
    let bytes = (value * multiplier).round();
    if bytes >= usize::MAX as f64 {
        return Err(format!("invalid size {s:?}: out of range"));
    }
    Ok(bytes as usize)
}

/// A probability: `0.05` or `5%`, in `[0, 1]`.
pub fn parse_probability(s: &str) -> Result<f64, String> {
    let (value, unit) = number_and_unit(s, "probability")?;
    let p = match unit {
        "" => value,
        "%" => value / 100.0,
        other => {
            return Err(format!(
                "invalid probability {s:?}: unexpected {other:?} (use e.g. 0.05 or 5%)"
            ));
        }
    };
    if !(0.0..=1.0).contains(&p) {
        return Err(format!("invalid probability {s:?}: not in [0, 1]"));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("150ms"), Ok(Duration::from_millis(150)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration(" 10 ms "), Ok(Duration::from_millis(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        for bad in [
            "", "ms", "150", "-5ms", "5x", "1e3ms", "1..2s", "nan", "inf",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_duration("150").unwrap_err().contains("missing unit"));
    }

    #[test]
    fn bandwidths() {
        assert_eq!(parse_bandwidth("384kbit"), Ok(Some(384_000)));
        assert_eq!(parse_bandwidth("2mbit"), Ok(Some(2_000_000)));
        assert_eq!(parse_bandwidth("2Mbit/s"), Ok(Some(2_000_000)));
        assert_eq!(parse_bandwidth("1.5mbit"), Ok(Some(1_500_000)));
        assert_eq!(parse_bandwidth("1000000"), Ok(Some(1_000_000)));
        assert_eq!(parse_bandwidth("off"), Ok(None));
        for bad in ["0", "fast", "10kbps", "-1mbit", "1tbit", "0.1bit"] {
            assert!(parse_bandwidth(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_and_probabilities() {
        assert_eq!(parse_bytes("64KiB"), Ok(65536));
        assert_eq!(parse_bytes("64KB"), Ok(64000));
        assert_eq!(parse_bytes("1500"), Ok(1500));
        assert_eq!(parse_bytes("1MiB"), Ok(1 << 20));
        assert!(parse_bytes("64 apples").is_err());
        assert_eq!(parse_probability("0.05"), Ok(0.05));
        assert_eq!(parse_probability("5%"), Ok(0.05));
        assert_eq!(parse_probability("1"), Ok(1.0));
        for bad in ["1.5", "-0.1", "150%", "x", "0.1x", "NaN"] {
            assert!(parse_probability(bad).is_err(), "{bad}");
        }
    }
}
