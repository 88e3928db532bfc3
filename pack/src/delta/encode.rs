//! Writing delta instructions: the format half of delta encoding.
//!
//! Finding *what* to copy is the job of the `trees-delta` crate; this
//! [`Encoder`] only turns "copy these base bytes" and "insert these bytes"
//! into the shortest legal instructions, merging adjacent inserts and
//! splitting at the format's limits.

use super::{MAX_COPY, MAX_COPY_OFFSET, MAX_INSERT, write_varint};

/// What an encoder refuses.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The copy reaches past the end of the base.
    #[error("copy of {len} bytes at offset {offset} reaches past the base of {base_len} bytes")]
    CopyOutOfBase {
        /// Start of the copy in the base.
        offset: u64,
        /// Bytes to copy.
        len: u64,
        /// Size of the base.
        base_len: u64,
    },
    /// git's copy offsets have 32 bits.
    #[error("copy offset {offset} does not fit the 32 bits of git's delta format")]
    OffsetTooLarge {
        /// Start of the copy in the base.
        offset: u64,
    },
    /// The instructions produce more or fewer bytes than announced.
    #[error("the instructions produce {actual} bytes, but the delta announced {expected}")]
    SizeMismatch {
        /// Announced result size.
        expected: u64,
        /// Bytes the instructions produce.
        actual: u64,
    },
}

/// Builds one delta from copy and insert calls, in target order.
#[derive(Debug)]
pub struct Encoder {
    out: Vec<u8>,
    base_len: u64,
    target_len: u64,
    produced: u64,
    /// Start in `out` of the open insert instruction, if the last thing written was one.
    open_insert: Option<usize>,
}

impl Encoder {
    /// A delta that turns a base of `base_len` bytes into a target of `target_len`.
    pub fn new(base_len: u64, target_len: u64) -> Self {
        let mut out = Vec::with_capacity(64);
        write_varint(base_len, &mut out);
        write_varint(target_len, &mut out);
        Encoder {
            out,
            base_len,
            target_len,
            produced: 0,
            open_insert: None,
        }
    }

    /// Bytes of instructions written so far.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// True if no instruction has been written yet (the header is always there).
    pub fn is_empty(&self) -> bool {
        self.produced == 0
    }

    /// Appends literal bytes, extending the previous insert when it has room.
    pub fn insert(&mut self, mut bytes: &[u8]) {
        self.produced += bytes.len() as u64;
        while !bytes.is_empty() {
            let start = match self.open_insert {
                Some(start) if usize::from(self.out[start]) < MAX_INSERT => start,
                _ => {
                    self.out.push(0);
                    self.out.len() - 1
                }
            };
            let room = MAX_INSERT - usize::from(self.out[start]);
            let take = room.min(bytes.len());
            self.out.extend_from_slice(&bytes[..take]);
            self.out[start] += take as u8; // take <= 127
            self.open_insert = Some(start);
            bytes = &bytes[take..];
        }
    }

    /// Appends a copy of `len` base bytes starting at `offset`, split into
    /// instructions of at most [`MAX_COPY`] bytes.
    pub fn copy(&mut self, mut offset: u64, mut len: u64) -> Result<(), Error> {
        if offset
            .checked_add(len)
            .is_none_or(|end| end > self.base_len)
        {
            return Err(Error::CopyOutOfBase {
                offset,
                len,
                base_len: self.base_len,
            });
        }
        while len > 0 {
            if offset > MAX_COPY_OFFSET {
                return Err(Error::OffsetTooLarge { offset });
            }
            let take = len.min(MAX_COPY);
            self.push_copy(offset as u32, take as u32);
            self.produced += take;
            offset += take;
            len -= take;
        }
        Ok(())
    }

    fn push_copy(&mut self, offset: u32, size: u32) {
        self.open_insert = None;
        let at = self.out.len();
        let mut op = 0x80u8;
        self.out.push(0);
        // Only non-zero bytes are written; their presence bits go in `op`.
        for (i, byte) in offset.to_le_bytes().into_iter().enumerate() {
            if byte != 0 {
                op |= 1 << i;
                self.out.push(byte);
            }
        }
        for (i, byte) in size.to_le_bytes().into_iter().take(3).enumerate() {
            if byte != 0 {
                op |= 0x10 << i;
                self.out.push(byte);
            }
        }
        self.out[at] = op;
    }

    /// The finished delta, if the instructions produce exactly the announced size.
    pub fn finish(self) -> Result<Vec<u8>, Error> {
        if self.produced != self.target_len {
            return Err(Error::SizeMismatch {
                expected: self.target_len,
                actual: self.produced,
            });
        }
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_bytes_are_omitted_when_zero() {
        let mut e = Encoder::new(0x20000, 0x10000);
        e.copy(0x100, 0x10000).unwrap();
        let d = e.finish().unwrap();
        // header: 0x20000 = 80 80 08, 0x10000 = 80 80 04
        // copy: 0x80 | offset byte 1 (0x02) | size byte 2 (0x40); then 0x01, 0x01
        assert_eq!(
            d,
            vec![0x80, 0x80, 0x08, 0x80, 0x80, 0x04, 0xc2, 0x01, 0x01]
        );
    }

    #[test]
    fn inserts_merge_and_split_at_127() {
        let mut e = Encoder::new(0, 200);
        e.insert(&[1; 100]);
        e.insert(&[2; 100]);
        let d = e.finish().unwrap();
        // header: base 0 (one byte), target 200 (two bytes)
        assert_eq!(d.len(), 3 + 1 + 127 + 1 + 73);
        assert_eq!(d[3], 127);
        assert_eq!(d[3 + 128], 73);
    }

    #[test]
    fn long_copies_split_at_the_24_bit_limit() {
        let n = MAX_COPY * 2 + 5;
        let mut e = Encoder::new(n, n);
        e.copy(0, n).unwrap();
        let d = e.finish().unwrap();
        let mut out = Vec::new();
        crate::delta::apply(&vec![7u8; n as usize], &d, &mut out).unwrap();
        assert_eq!(out.len() as u64, n);
    }

    #[test]
    fn copies_outside_the_base_and_wrong_sizes_are_refused() {
        let mut e = Encoder::new(10, 5);
        assert!(matches!(e.copy(8, 3), Err(Error::CopyOutOfBase { .. })));
        e.insert(b"abc");
        assert_eq!(
            e.finish(),
            Err(Error::SizeMismatch {
                expected: 5,
                actual: 3
            })
        );
    }
}
