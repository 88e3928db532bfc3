//! Sizes and durations as people type them on a command line: `2G`,
//! `512M`, `14d`, `0`. Each parser takes any string and either returns a
//! value or a message that quotes the input; none panics, whatever the
//! bytes (they work on characters, never on byte offsets that could fall
//! inside one).

use std::time::Duration;

/// Parses a byte count: digits, then optionally `K`, `M`, `G` or `T`
/// (powers of 1024, either case), at least 1M. Spaces around are ignored.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, unit) = split_unit(t);
    let shift = match unit.map(|c| c.to_ascii_uppercase()) {
        None => 0,
        Some('K') => 10,
        Some('M') => 20,
        Some('G') => 30,
        Some('T') => 40,
        Some(_) => return Err(format!("{s:?}: the unit must be K, M, G or T (as in 2G)")),
    };
    let n = parse_digits(digits).ok_or_else(|| format!("{s:?} is not a size like 2G or 512M"))?;
    n.checked_mul(1u64 << shift)
        .filter(|&b| b >= 1 << 20)
        .ok_or_else(|| format!("{s:?}: give at least 1M and at most 16E"))
}

/// Parses a duration: `0`, or digits followed by `s`, `m`, `h` or `d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("{s:?} is not a duration: use a number with s, m, h or d (14d), or 0");
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let (digits, unit) = split_unit(s);
    let secs = match unit {
        Some('s') => 1,
        Some('m') => 60,
        Some('h') => 3600,
        Some('d') => 86_400,
        _ => return Err(bad()),
    };
    let n = parse_digits(digits).ok_or_else(bad)?;
    n.checked_mul(secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{s:?} is too long a duration"))
}

/// Splits off the last character if it is a letter (of any script: `1é`
/// then fails on the unit, not on the digits).
fn split_unit(s: &str) -> (&str, Option<char>) {
    match s.char_indices().next_back() {
        Some((i, c)) if c.is_alphabetic() => (&s[..i], Some(c)),
        _ => (s, None),
    }
}

/// ASCII digits only (no sign, no spaces), as a `u64`.
fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sizes_take_units_and_refuse_the_rest() {
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size(" 1048576 "), Ok(1 << 20));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
        for bad in [
            "",
            "G",
            "1é",
            "1K",
            "-1G",
            "+2G",
            "2 G",
            "2GB",
            "99999999999T",
            "é",
            "1\u{301}",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn durations_take_suffixes_and_refuse_the_rest() {
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("14d"), Ok(Duration::from_secs(14 * 86_400)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        for bad in [
            "",
            "d",
            "14",
            "-1d",
            "+1d",
            "1w",
            "1é",
            "é",
            "ß",
            "1 d",
            "99999999999999999999d",
            "999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn sizes_never_panic(s in any::<String>()) {
            let _ = parse_size(&s);
        }

        #[test]
        fn durations_never_panic(s in any::<String>()) {
            let _ = parse_duration(&s);
        }

        #[test]
        fn a_unit_after_any_text_never_panics(s in "\\PC{0,8}", unit in "[sSmMhHdDkKgGtTé]") {
            let _ = parse_size(&format!("{s}{unit}"));
            let _ = parse_duration(&format!("{s}{unit}"));
        }

        #[test]
        fn sizes_round_trip(n in 1u64..=1 << 20, unit in 0usize..4) {
            let (c, shift) = [('K', 10), ('M', 20), ('G', 30), ('T', 40)][unit];
            let want = n << shift;
            prop_assume!(want >= 1 << 20);
            prop_assert_eq!(parse_size(&format!("{n}{c}")), Ok(want));
        }

        #[test]
        fn durations_round_trip(n in 0u64..1 << 40, unit in 0usize..4) {
            let (c, secs) = [('s', 1), ('m', 60), ('h', 3600), ('d', 86_400)][unit];
            prop_assert_eq!(parse_duration(&format!("{n}{c}")), Ok(Duration::from_secs(n * secs)));
        }
    }
}
