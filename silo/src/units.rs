//! Sizes and durations as people type them on a command line: `2G`,
//! `512M`, `14d`, `0`. Each parser takes any string and either returns a
//! value or a message that quotes the input; none panics, whatever the
//! bytes (they work on characters, never on byte offsets that could fall
//! inside one).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A size or duration that cannot be read: the input, quoted, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?}{why}")]
pub struct UnitError {
    /// What was typed.
    pub input: String,
    /// Why it is refused (starts with ": " or " ").
    pub why: &'static str,
}

fn refuse(input: &str, why: &'static str) -> UnitError {
    UnitError {
        input: input.to_owned(),
        why,
    }
}

/// Parses a byte count: digits, then optionally `K`, `M`, `G` or `T`
/// (powers of 1024, either case), at least 1M. Spaces around are ignored.
pub fn parse_size(s: &str) -> Result<u64, UnitError> {
    let t = s.trim();
    let (digits, unit) = split_unit(t);
    let shift = match unit.map(|c| c.to_ascii_uppercase()) {
        None => 0,
        Some('K') => 10,
        Some('M') => 20,
        Some('G') => 30,
        Some('T') => 40,
        Some(_) => return Err(refuse(s, ": the unit must be K, M, G or T (as in 2G)")),
    };
    let n = parse_digits(digits).ok_or_else(|| refuse(s, " is not a size like 2G or 512M"))?;
    n.checked_mul(1u64 << shift)
        .filter(|&b| b >= 1 << 20)
        .ok_or_else(|| refuse(s, ": give at least 1M and at most 16E"))
}

/// Parses a duration: `0`, or digits followed by `s`, `m`, `h` or `d`.
pub fn parse_duration(s: &str) -> Result<Duration, UnitError> {
    let bad = || {
        refuse(
            s,
            " is not a duration: use a number with s, m, h or d (14d), or 0",
        )
    };
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
        .ok_or_else(|| refuse(s, " is too long a duration"))
}

/// A byte count as people type it: parsed by [`parse_size`], shown in the
/// largest unit that divides it (`2G`), so that a command line's default
/// is the library's constant, shown as it would be typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl FromStr for Size {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Size, UnitError> {
        parse_size(s).map(Size)
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        for (shift, c) in [(40, 'T'), (30, 'G'), (20, 'M'), (10, 'K')] {
            if n != 0 && n.is_multiple_of(1u64 << shift) {
                return write!(f, "{}{c}", n >> shift);
            }
        }
        write!(f, "{n}")
    }
}

/// A duration as people type it: parsed by [`parse_duration`], shown in
/// the largest unit that divides it (`14d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Age(pub Duration);

impl FromStr for Age {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Age, UnitError> {
        parse_duration(s).map(Age)
    }
}

impl fmt::Display for Age {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        if secs == 0 {
            return f.write_str("0");
        }
        for (unit, c) in [(86_400, 'd'), (3600, 'h'), (60, 'm')] {
            if secs.is_multiple_of(unit) {
                return write!(f, "{}{c}", secs / unit);
            }
        }
        write!(f, "{secs}s")
    }
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
    fn defaults_show_as_typed() {
        assert_eq!(Size(2 << 30).to_string(), "2G");
        assert_eq!(Size((1 << 20) + 1).to_string(), "1048577");
        assert_eq!(Age(Duration::from_secs(14 * 86_400)).to_string(), "14d");
        assert_eq!(Age(Duration::from_secs(90)).to_string(), "90s");
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
        fn shown_as_typed(n in 1u64..1 << 30, unit in 0usize..4) {
            let want = Size(n << [10, 20, 30, 40][unit]);
            prop_assume!(want.0 >= 1 << 20);
            prop_assert_eq!(want.to_string().parse::<Size>(), Ok(want));
            let age = Age(Duration::from_secs(n));
            prop_assert_eq!(age.to_string().parse::<Age>(), Ok(age));
        }

        #[test]
        fn durations_round_trip(n in 0u64..1 << 40, unit in 0usize..4) {
            let (c, secs) = [('s', 1), ('m', 60), ('h', 3600), ('d', 86_400)][unit];
            prop_assert_eq!(parse_duration(&format!("{n}{c}")), Ok(Duration::from_secs(n * secs)));
        }
    }
}
