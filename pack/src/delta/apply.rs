//! Applying a delta: the reader that every byte of a hostile pack reaches.
//!
//! Every instruction is checked before it is carried out: a copy must lie
//! inside the base, no instruction may produce more than the announced
//! result, the reserved opcode 0 is refused, and the result must end at
//! exactly the announced size. Memory is reserved up to the announced size
//! only when that size is below a bound the caller sets.

use super::{header, read_varint};

/// Why a delta cannot be applied. Offsets are positions in the delta.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The two size varints at the start are truncated or overflow.
    #[error("delta header is truncated or its sizes overflow 64 bits")]
    BadHeader,
    /// The delta was made for a base of another size.
    #[error("delta expects a base of {expected} bytes, the base has {actual}")]
    BaseSizeMismatch {
        /// Base size announced by the delta.
        expected: u64,
        /// Size of the base given.
        actual: u64,
    },
    /// The announced result is larger than the caller allows.
    #[error("delta announces a result of {size} bytes, more than the limit of {limit}")]
    ResultTooLarge {
        /// Announced size.
        size: u64,
        /// The caller's bound.
        limit: u64,
    },
    /// Opcode 0 is reserved by git.
    #[error("reserved delta opcode 0 at offset {at}")]
    ReservedOpcode {
        /// Offset of the opcode.
        at: usize,
    },
    /// An instruction ends past the end of the delta.
    #[error("instruction at offset {at} is truncated")]
    Truncated {
        /// Offset of the instruction.
        at: usize,
    },
    /// A copy reaches outside the base.
    #[error(
        "copy at offset {at} of {size} bytes from base offset {offset} reaches past the base of {base_len} bytes"
    )]
    CopyOutOfBase {
        /// Offset of the instruction.
        at: usize,
        /// Base offset of the copy.
        offset: u64,
        /// Bytes to copy.
        size: u64,
        /// Size of the base.
        base_len: u64,
    },
    /// An instruction produces more than the announced result size.
    #[error("instruction at offset {at} writes past the announced result size {expected}")]
    Overrun {
        /// Offset of the instruction.
        at: usize,
        /// Announced size.
        expected: u64,
    },
    /// The result cannot be allocated (an address-space limit, say): the
    /// The writer of a streamed result failed.
    #[error("cannot write the rebuilt object: {0}")]
    Output(String),
    /// A base read a window at a time could not be read.
    #[error("cannot read the delta base: {0}")]
    Base(String),
    /// delta is refused instead of aborting the process.
    #[error("cannot allocate {size} bytes for the delta's result")]
    OutOfMemory {
        /// Bytes asked for.
        size: u64,
    },
    /// The instructions end before the announced result size.
    #[error("delta produced {actual} bytes, but announced {expected}")]
    ShortResult {
        /// Announced size.
        expected: u64,
        /// Bytes produced.
        actual: u64,
    },
}

/// The default bound on a delta's result: 64 GiB, far past any blob we
/// store, far below what would exhaust the address space.
pub const DEFAULT_RESULT_LIMIT: u64 = 1 << 36;

/// Rebuilds the target from `base` and `delta` into `out` (cleared first).
pub fn apply(base: &[u8], delta: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
    apply_with_limit(base, delta, out, DEFAULT_RESULT_LIMIT)
}

/// [`apply`], refusing deltas that announce a result above `limit` bytes.
pub fn apply_with_limit(
    base: &[u8],
    delta: &[u8],
    out: &mut Vec<u8>,
    limit: u64,
) -> Result<(), Error> {
    out.clear();
    let (_, result_size, _) = header(delta)?;
    if result_size > limit {
        return Err(Error::ResultTooLarge {
            size: result_size,
            limit,
        });
    }
    // Each instruction byte yields at most 0xffffff/8 result bytes, so a
    // delta cannot honestly announce more than that: cap the reservation.
    let plausible = (delta.len() as u64).saturating_mul(0x20_0000);
    let want = result_size.min(plausible);
    out.try_reserve_exact(want as usize)
        .map_err(|_| Error::OutOfMemory { size: want })?;
    run(&mut &*base, delta, limit, &mut |bytes| put(out, bytes))?;
    Ok(())
}

/// Where the copies of a streamed delta come from: a base in memory, or
/// one the caller maps a window at a time.
pub trait Source {
    /// The base's size.
    fn size(&self) -> u64;
    /// Hands `base[offset..offset + size]` (inside the base: checked by
    /// the caller) to `put`, in one piece or several.
    fn copy(
        &mut self,
        offset: u64,
        size: u64,
        put: &mut dyn FnMut(&[u8]) -> Result<(), Error>,
    ) -> Result<(), Error>;
}

impl Source for &[u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }
    fn copy(
        &mut self,
        offset: u64,
        size: u64,
        put: &mut dyn FnMut(&[u8]) -> Result<(), Error>,
    ) -> Result<(), Error> {
        put(&self[offset as usize..(offset + size) as usize])
    }
}

/// [`apply_with_limit`], streaming the result into `out` instead of
/// holding it: for objects too large for memory. On an error, `out` may
/// have received part of a wrong result. Returns the result's size.
pub fn apply_to(
    base: &mut dyn Source,
    delta: &[u8],
    out: &mut dyn std::io::Write,
    limit: u64,
) -> Result<u64, Error> {
    run(base, delta, limit, &mut |bytes| {
        out.write_all(bytes)
            .map_err(|e| Error::Output(e.to_string()))
    })
}

/// Checks and runs the instructions of `delta`, handing each piece of the
/// result to `put`; returns the result's size.
fn run(
    base: &mut dyn Source,
    delta: &[u8],
    limit: u64,
    put: &mut dyn FnMut(&[u8]) -> Result<(), Error>,
) -> Result<u64, Error> {
    let (base_size, result_size, mut pos) = header(delta)?;
    if base_size != base.size() {
        return Err(Error::BaseSizeMismatch {
            expected: base_size,
            actual: base.size(),
        });
    }
    if result_size > limit {
        return Err(Error::ResultTooLarge {
            size: result_size,
            limit,
        });
    }
    let mut written = 0u64;
    while pos < delta.len() {
        let at = pos;
        let op = delta[pos];
        pos += 1;
        let remaining = result_size - written;
        if op & 0x80 != 0 {
            let mut field = |bits: u8, shift_count: usize| -> Result<u64, Error> {
                let mut v = 0u64;
                for i in 0..shift_count {
                    if bits & (1 << i) != 0 {
                        let b = *delta.get(pos).ok_or(Error::Truncated { at })?;
                        pos += 1;
                        v |= u64::from(b) << (8 * i);
                    }
                }
                Ok(v)
            };
            let offset = field(op & 0x0f, 4)?;
            let mut size = field((op >> 4) & 0x07, 3)?;
            if size == 0 {
                size = 0x10000;
            }
            let end = offset + size; // both < 2^32: no overflow
            if end > base.size() {
                return Err(Error::CopyOutOfBase {
                    at,
                    offset,
                    size,
                    base_len: base.size(),
                });
            }
            if size > remaining {
                return Err(Error::Overrun {
                    at,
                    expected: result_size,
                });
            }
            base.copy(offset, size, put)?;
            written += size;
        } else if op != 0 {
            let n = usize::from(op);
            let bytes = delta.get(pos..pos + n).ok_or(Error::Truncated { at })?;
            if n as u64 > remaining {
                return Err(Error::Overrun {
                    at,
                    expected: result_size,
                });
            }
            put(bytes)?;
            written += n as u64;
            pos += n;
        } else {
            return Err(Error::ReservedOpcode { at });
        }
    }
    if written != result_size {
        return Err(Error::ShortResult {
            expected: result_size,
            actual: written,
        });
    }
    Ok(written)
}

/// Appends `bytes`, growing `out` fallibly.
fn put(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), Error> {
    out.try_reserve(bytes.len())
        .map_err(|_| Error::OutOfMemory {
            size: (out.len() + bytes.len()) as u64,
        })?;
    out.extend_from_slice(bytes);
    Ok(())
}

/// The result size a delta announces, without applying it.
pub fn result_size(delta: &[u8]) -> Result<u64, Error> {
    let mut pos = 0;
    read_varint(delta, &mut pos).ok_or(Error::BadHeader)?;
    read_varint(delta, &mut pos).ok_or(Error::BadHeader)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(base: &[u8], delta: &[u8]) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        apply(base, delta, &mut out).map(|()| out)
    }

    #[test]
    fn copy_then_insert() {
        // base 5, result 6; copy offset 1 size 3 (0x91 0x01 0x03); insert "xyz"
        let d = [0x05, 0x06, 0x91, 0x01, 0x03, 0x03, b'x', b'y', b'z'];
        assert_eq!(run(b"abcde", &d).unwrap(), b"bcdxyz");
    }

    #[test]
    fn size_zero_means_0x10000() {
        let base = vec![9u8; 0x10000];
        // base 0x10000 = 80 80 04; result the same; copy with no offset or size bytes
        let d = [0x80, 0x80, 0x04, 0x80, 0x80, 0x04, 0x80];
        assert_eq!(run(&base, &d).unwrap(), base);
    }

    #[test]
    fn hostile_deltas_are_refused() {
        let base = b"abcde";
        let cases: &[(&[u8], Error)] = &[
            // empty: no header at all
            (&[], Error::BadHeader),
            // base size 6 announced, base has 5
            (
                &[0x06, 0x01, 0x01, b'x'],
                Error::BaseSizeMismatch {
                    expected: 6,
                    actual: 5,
                },
            ),
            // opcode 0 is reserved
            (&[0x05, 0x01, 0x00], Error::ReservedOpcode { at: 2 }),
            // insert of 3 bytes with only 1 present
            (&[0x05, 0x03, 0x03, b'x'], Error::Truncated { at: 2 }),
            // copy announcing an offset byte that is missing
            (&[0x05, 0x01, 0x91], Error::Truncated { at: 2 }),
            // copy offset 4 size 2: one byte past the base
            (
                &[0x05, 0x02, 0x91, 0x04, 0x02],
                Error::CopyOutOfBase {
                    at: 2,
                    offset: 4,
                    size: 2,
                    base_len: 5,
                },
            ),
            // copy offset 0xffffffff size 0xffffff: must not overflow
            (
                &[0x05, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                Error::CopyOutOfBase {
                    at: 2,
                    offset: 0xffff_ffff,
                    size: 0xff_ffff,
                    base_len: 5,
                },
            ),
            // result announced as 1 byte, copy of 2
            (
                &[0x05, 0x01, 0x90, 0x02],
                Error::Overrun { at: 2, expected: 1 },
            ),
            // result announced as 4 bytes, insert of 1
            (
                &[0x05, 0x04, 0x01, b'x'],
                Error::ShortResult {
                    expected: 4,
                    actual: 1,
                },
            ),
        ];
        for (delta, want) in cases {
            assert_eq!(run(base, delta).as_ref(), Err(want), "delta {delta:02x?}");
        }
    }

    #[test]
    fn huge_announced_results_are_refused_before_allocating() {
        // result size 2^60: 0x80 x8 then 0x10 (7*8 = 56 bits, then 0x10 << 56)
        let d = [
            0x05, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, 0x01, b'x',
        ];
        assert_eq!(
            run(b"abcde", &d),
            Err(Error::ResultTooLarge {
                size: 1 << 60,
                limit: DEFAULT_RESULT_LIMIT
            })
        );
    }
}
