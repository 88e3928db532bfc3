//! git's delta format: how one object is rebuilt from another.
//!
//! A delta is two little-endian base-128 varints (the base's size, then the
//! result's size) followed by instructions:
//!
//! ```text
//! 0xxxxxxx              insert: the next x (1..=127) bytes are copied from the delta
//! 1sssoooo [o..] [s..]  copy: for each set bit of oooo one offset byte, for each
//!                       set bit of sss one size byte, least significant first;
//!                       copy `size` bytes of the base from `offset`
//!                       (a size of 0 means 0x10000)
//! 00000000              reserved: a reader must reject it
//! ```
//!
//! So inserts carry at most 127 bytes, copy offsets have 32 bits and copy
//! sizes 24 bits. git itself writes copies of at most 0x10000 bytes, but every
//! reader (git's `patch-delta.c`, libgit2, gitoxide) takes up to 0xffffff.

pub mod apply;
pub mod encode;

pub use apply::apply;
pub use encode::Encoder;

/// git: an insert instruction carries at most 127 literal bytes.
pub const MAX_INSERT: usize = 0x7f;
/// The size field of a copy has three bytes.
pub const MAX_COPY: u64 = 0xff_ffff;
/// The offset field of a copy has four bytes.
pub const MAX_COPY_OFFSET: u64 = 0xffff_ffff;

/// Appends `value` as a delta-header varint: 7 bits a byte, least significant first.
pub(crate) fn write_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads a delta-header varint at `*pos`; `None` if it is truncated or
/// does not fit 64 bits.
pub(crate) fn read_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    let mut shift = 0u32;
    loop {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        if shift > 63 || (shift == 63 && (byte & 0x7f) > 1) {
            return None;
        }
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
        shift += 7;
    }
}

/// The base size and result size a delta announces, and where its
/// instructions start.
pub fn header(delta: &[u8]) -> Result<(u64, u64, usize), apply::Error> {
    let mut pos = 0;
    let base = read_varint(delta, &mut pos).ok_or(apply::Error::BadHeader)?;
    let result = read_varint(delta, &mut pos).ok_or(apply::Error::BadHeader)?;
    Ok((base, result, pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_their_edges() {
        for v in [
            0,
            1,
            0x7f,
            0x80,
            0x3fff,
            0x4000,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut buf = Vec::new();
            write_varint(v, &mut buf);
            let mut pos = 0;
            assert_eq!(read_varint(&buf, &mut pos), Some(v));
            assert_eq!(pos, buf.len());
        }
    }

    #[test]
    fn varint_overflow_and_truncation_are_refused() {
        let mut pos = 0;
        assert_eq!(read_varint(&[0x80, 0x80], &mut pos), None);
        let eleven = [0xff; 10].iter().copied().chain([0x01]).collect::<Vec<_>>();
        pos = 0;
        assert_eq!(read_varint(&eleven, &mut pos), None);
    }
}
