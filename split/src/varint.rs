//! Unsigned LEB128 varints and length-prefixed bytes, as both recipe
//! layouts write them ([`crate::recipe`], [`crate::pieces`]), and the one
//! bounded reader of them: every count and length is checked against the
//! bytes left, so hostile input gives an error, never a panic or an
//! allocation larger than the input.

/// Why bytes are not a recipe this build can use (either layout).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Not a recipe at all.
    #[error("not a recipe: it starts with neither \"TGZR\" nor \"TRCP\"")]
    Magic,
    /// A format this build does not know (written by a newer one).
    #[error(
        "recipe format {0} is unknown to this build, which rebuilds formats 1-4 (1 = gzip by \
         preflate-rs 0.7.6, 2 = xz, 3 = zstd, 4 = ar); use the build that wrote it"
    )]
    UnknownFormat(u8),
    /// The bytes are damaged.
    #[error("recipe is corrupt at byte {at}: {what}")]
    Corrupt {
        /// Where.
        at: usize,
        /// What is wrong.
        what: &'static str,
    },
}

/// Appends `v`: seven bits a byte, low first, the high bit set on every
/// byte but the last.
pub(crate) fn put(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Appends `b`'s length, then `b`.
pub(crate) fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Reads a recipe from `at` on.
pub(crate) struct Reader<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) at: usize,
}

impl<'a> Reader<'a> {
    /// The error for damage found here.
    pub(crate) fn corrupt(&self, what: &'static str) -> FormatError {
        FormatError::Corrupt { at: self.at, what }
    }

    pub(crate) fn byte(&mut self, what: &'static str) -> Result<u8, FormatError> {
        let b = *self.bytes.get(self.at).ok_or(self.corrupt(what))?;
        self.at += 1;
        Ok(b)
    }

    pub(crate) fn varint(&mut self, what: &'static str) -> Result<u64, FormatError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte(what)?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(self.corrupt("a varint over 64 bits"));
            }
            v |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.corrupt("a varint over 64 bits"))
    }

    /// A count of items that each take at least one byte: bounded by what is left.
    pub(crate) fn count(&mut self, what: &'static str) -> Result<usize, FormatError> {
        let n = self.varint(what)?;
        if n > (self.bytes.len() - self.at) as u64 {
            return Err(self.corrupt("a count larger than the bytes left"));
        }
        Ok(n as usize)
    }

    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], FormatError> {
        let end = self.at.checked_add(n).ok_or(self.corrupt(what))?;
        let s = self.bytes.get(self.at..end).ok_or(self.corrupt(what))?;
        self.at = end;
        Ok(s)
    }

    /// Length-prefixed bytes.
    pub(crate) fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], FormatError> {
        let n = self.varint(what)?;
        let n = usize::try_from(n).map_err(|_| self.corrupt(what))?;
        self.take(n, what)
    }
}
