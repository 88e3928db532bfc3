//! The zip archive framing, parsed byte for byte from its central
//! directory, treating every count, size and offset in it as hostile.
//!
//! A zip file is read from its end: the end record says where the central
//! directory is, the directory says where each member's local header is,
//! and the local header says where its data starts. All integers are
//! little-endian (APPNOTE.TXT, PKWARE's specification, section 4.3):
//!
//! ```text
//! [prefix]          anything: a self-extractor stub, junk (see "shift")
//! per member:
//!   local header    30 bytes: "PK\3\4", version needed 2, flags 2,
//!                   method 2, time 2, date 2, CRC-32 4, compressed size 4,
//!                   uncompressed size 4, name length n 2, extra length e 2;
//!                   then name n, extra e (fields: id 2, size 2, data;
//!                   zip64 field 0x0001: uncompressed 8, compressed 8)
//!   data            compressed size bytes
//!   [descriptor]    if flags bit 3: ["PK\7\8"], CRC-32 4, compressed
//!                   4 or 8, uncompressed 4 or 8 (8 in zip64)
//! central directory, one entry per member, directory size bytes:
//!   entry           46 bytes: "PK\1\2", made by 2, version needed 2,
//!                   flags 2, method 2, time 2, date 2, CRC-32 4,
//!                   compressed size 4, uncompressed size 4, name length
//!                   n 2, extra length e 2, comment length c 2, disk 2,
//!                   internal attributes 2, external attributes 4, local
//!                   header offset 4; then name n, extra e, comment c
//!                   (zip64 field 0x0001: uncompressed 8, compressed 8,
//!                   offset 8, each only if its field above is FFFFFFFF)
//! [zip64 end]       "PK\6\6", size of the rest 8 (44 or more), made by 2,
//!                   version needed 2, disk 4, directory's disk 4, entries
//!                   on this disk 8, entries 8, directory size 8,
//!                   directory offset 8, extensible data
//! [zip64 locator]   20 bytes: "PK\6\7", zip64 end's disk 4, zip64 end's
//!                   offset 8, disks 4
//! end record        22 bytes: "PK\5\6", disk 2, directory's disk 2,
//!                   entries on this disk 2, entries 2, directory size 4,
//!                   directory offset 4, comment length c 2; comment c
//! [tail]            anything
//! ```
//!
//! The end record is looked for in the last 64 KiB + 22 bytes (and
//! [`TRAILING`] more): the last "PK\5\6" whose comment ends the file
//! exactly, or else the last one whose comment fits in the bytes after it
//! (the bytes after the comment are a tail, kept as found). If a zip64
//! locator sits just before it, the zip64 end record is the one ending at
//! the locator (at its declared offset, or just before the locator when
//! junk before the archive moved it), and its values count; the end
//! record's fields must then be FFFF / FFFFFFFF or agree with them.
//!
//! Offsets in a zip count from its first byte, so a stub or junk put
//! before a finished archive makes them short. As Info-ZIP's `unzip` does,
//! the directory is taken to end where the zip64 end record (or else the
//! end record) starts: that less the directory size is where it starts,
//! and that less the declared directory offset is the shift added to every
//! local header offset (0 for a plain archive; `zip -A` rewrites the
//! offsets so that it is 0 again). A negative shift is an error.
//!
//! What is trusted: nothing. Every count, size and offset is checked
//! against the bytes that are there before it is used; nothing is
//! allocated from a declared size; the member count is bounded by the
//! directory size / 46 and the entries must fill the directory exactly.
//! Each member's data lies in the file, before the directory, and no two
//! members' [local header, end of data) overlap (overlapping members are
//! how the small zip bombs multiply their output). What is reported as
//! declared and not checked: the uncompressed size and the CRC-32 (the
//! data is not decompressed here), and whether a flag-bit-3 member's data
//! descriptor is where it should be. A local header that contradicts the
//! directory is not an error: its member is marked not
//! [`consistent`](Member::consistent), and a caller keeps its bytes as they
//! are. Archives spanning several disks are refused.

mod end;
pub mod listing;

/// A local file header's signature, "PK\x03\x04".
pub const LOCAL_MAGIC: [u8; 4] = *b"PK\x03\x04";
/// A central directory entry's signature.
pub const CENTRAL_MAGIC: [u8; 4] = *b"PK\x01\x02";
/// The end of central directory record's signature.
pub const END_MAGIC: [u8; 4] = *b"PK\x05\x06";
/// The zip64 end of central directory record's signature.
pub const ZIP64_END_MAGIC: [u8; 4] = *b"PK\x06\x06";
/// The zip64 end of central directory locator's signature.
pub const ZIP64_LOCATOR_MAGIC: [u8; 4] = *b"PK\x06\x07";
/// The optional signature of a data descriptor.
pub const DESCRIPTOR_MAGIC: [u8; 4] = *b"PK\x07\x08";

/// A local header's fixed part.
pub const LOCAL_LEN: usize = 30;
/// A central directory entry's fixed part.
pub const CENTRAL_LEN: usize = 46;
/// The end record's fixed part (its comment follows).
pub const END_LEN: usize = 22;
/// Bytes after the end record's comment still searched past: junk a
/// transfer or a signing tool appended. 64 KiB more to scan is nothing.
pub const TRAILING: usize = 64 << 10;

/// Flag bit 0: the data is encrypted.
pub const FLAG_ENCRYPTED: u16 = 1;
/// Flag bit 3: the local header's CRC and sizes may be 0, a data
/// descriptor after the data has them.
pub const FLAG_DESCRIPTOR: u16 = 1 << 3;
/// The extra field id of zip64 sizes and offsets.
const ZIP64_EXTRA: u16 = 0x0001;
/// A 32-bit field with this value is in the zip64 extra field or record.
const MARK32: u32 = u32::MAX;
/// A 16-bit count with this value is in the zip64 end record.
const MARK16: u16 = u16::MAX;

/// One member, as the central directory describes it and its local header confirms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its name, from the central directory.
    pub name: Vec<u8>,
    /// Its position in the central directory, from 0.
    pub entry: usize,
    /// The compression method: 0 stored, 8 deflate, others kept as they are.
    pub method: u16,
    /// The general purpose bit flag, from the central directory
    /// ([`FLAG_ENCRYPTED`], [`FLAG_DESCRIPTOR`]).
    pub flags: u16,
    /// The absolute offset of its local header in the file.
    pub header_start: usize,
    /// The absolute offset of its data (after local header, name, extra).
    pub data_start: usize,
    /// The compressed size, from the central directory (its zip64 extra
    /// field if need be).
    pub data_len: usize,
    /// The declared uncompressed size (not checked: callers must not trust it).
    pub plain_len: u64,
    /// The declared CRC-32 (not checked).
    pub crc32: u32,
    /// Whether its directory entry took a size or the offset from a zip64
    /// extra field.
    pub zip64: bool,
    /// "Version made by" from the directory: its high byte is the host
    /// system (3: Unix), which says how to read `external`.
    pub made_by: u16,
    /// The last-modified time from the directory, as MS-DOS keeps it:
    /// the date in the high 16 bits, the time in the low 16.
    pub dos_time: u32,
    /// The external file attributes from the directory: for a Unix host,
    /// the file's `st_mode` in the high 16 bits.
    pub external: u32,
    /// False when the local header contradicts the directory: the name,
    /// the method, flag bits 0 or 3, or (bit 3 clear) the CRC-32 or a size
    /// (from its zip64 extra field when the local field is FFFFFFFF)
    /// differ. Callers keep such a member's bytes as they are.
    pub consistent: bool,
}

impl Member {
    /// Where its data ends (the data descriptor, if any, follows).
    pub fn data_end(&self) -> usize {
        self.data_start + self.data_len
    }

    /// Its last-modified time as seconds since the epoch, reading the
    /// MS-DOS date and time as UTC (zips keep no time zone); `None` if
    /// they are not a valid date.
    pub fn mtime(&self) -> Option<u64> {
        let (date, time) = (self.dos_time >> 16, self.dos_time & 0xffff);
        let (y, m, d) = (1980 + (date >> 9), (date >> 5) & 15, date & 31);
        let (hh, mm, ss) = (time >> 11, (time >> 5) & 63, (time & 31) * 2);
        if !(1..=12).contains(&m) || d == 0 || hh > 23 || mm > 59 || ss > 59 {
            return None;
        }
        // Days from 1970-01-01 to y-m-d (the proleptic Gregorian calendar).
        let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
        let era_day = 365 * y + y / 4 - y / 100 + y / 400 + (153 * m + 2) / 5 + d - 1;
        let days = u64::from(era_day).checked_sub(719_468)?;
        Some(days * 86_400 + u64::from(hh * 3600 + mm * 60 + ss))
    }

    /// Its Unix mode (type and permission bits), if the archive was made
    /// on a Unix host and says one.
    pub fn unix_mode(&self) -> Option<u32> {
        let mode = self.external >> 16;
        (self.made_by >> 8 == 3 && mode != 0).then_some(mode)
    }
}

/// A parsed archive: members sorted by `header_start`, each data range
/// inside the file, none overlapping another or the central directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    /// Every member, sorted by `header_start`.
    pub members: Vec<Member>,
    /// The absolute offset where the central directory actually starts.
    pub directory_start: usize,
    /// The directory's size: it ends where the zip64 end record, or else
    /// the end record, starts.
    pub directory_len: usize,
    /// The absolute offset of the end record.
    pub end_start: usize,
    /// The end record's length, comment included; bytes after it are a
    /// tail kept as found.
    pub end_len: usize,
    /// Bytes added to every declared offset: what precedes the archive
    /// without being counted by its offsets (0 for most archives).
    pub shift: usize,
    /// Whether the end records are zip64 (a zip64 end record and locator
    /// precede the end record).
    pub zip64: bool,
}

/// Why bytes are not a zip archive we read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No end of central directory record whose comment fits.
    #[error("not a zip archive (no end of central directory record in its last {searched} bytes)")]
    NoEnd {
        /// How many bytes from the end were searched.
        searched: usize,
    },
    /// The end record, or the zip64 end records, are wrong.
    #[error("zip end record at byte {at}: {what}")]
    End {
        /// Where the record starts.
        at: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// The central directory's place or size is wrong.
    #[error("zip central directory at byte {at}: {what}")]
    Directory {
        /// Where it starts (or would).
        at: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// A central directory entry is damaged.
    #[error("zip member {index}, directory entry at byte {at}: {what}")]
    Entry {
        /// Which entry of the directory, from 0.
        index: usize,
        /// Where the entry starts.
        at: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// A member's local header or data is not where its entry says.
    #[error("zip member {index}, local header at byte {at}: {what}")]
    Local {
        /// Which entry of the directory, from 0.
        index: usize,
        /// Where the local header starts (or would).
        at: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// Two members share bytes (a zip bomb's overlapping members, or two
    /// entries for one local header).
    #[error(
        "zip members {first} and {second} overlap: {second} starts at byte {at}, inside {first}"
    )]
    Overlap {
        /// The directory index of the member that starts first.
        first: usize,
        /// The directory index of the one starting inside it.
        second: usize,
        /// Where the second one's local header starts.
        at: usize,
    },
}

/// The little-endian integers at `at` of a header whose length is checked.
fn le16<const N: usize>(h: &[u8; N], at: usize) -> u16 {
    u16::from_le_bytes([h[at], h[at + 1]])
}

fn le32<const N: usize>(h: &[u8; N], at: usize) -> u32 {
    u32::from_le_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]])
}

fn le64<const N: usize>(h: &[u8; N], at: usize) -> u64 {
    u64::from(le32(h, at)) | u64::from(le32(h, at + 4)) << 32
}

/// The 8 bytes at `at` of a variable-length field, if they are there.
fn le64_in(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..)?.first_chunk::<8>().map(|h| le64(h, 0))
}

/// The `N` bytes at `at`, if they are all there.
fn fixed<const N: usize>(x: &[u8], at: usize) -> Option<&[u8; N]> {
    x.get(at..)?.first_chunk::<N>()
}

/// The data of the first extra field with this id, if the fields up to it
/// are whole.
fn extra_field(mut extra: &[u8], id: u16) -> Option<&[u8]> {
    // Each turn drops at least the 4-byte field header: bounded.
    while let Some(h) = extra.first_chunk::<4>() {
        let len = usize::from(le16(h, 2));
        let data = extra.get(4..4 + len)?;
        if le16(h, 0) == id {
            return Some(data);
        }
        extra = &extra[4 + len..];
    }
    None
}

/// A central directory entry's values.
struct Entry {
    at: usize,
    name: Vec<u8>,
    made_by: u16,
    dos_time: u32,
    external: u32,
    flags: u16,
    method: u16,
    crc32: u32,
    data_len: u64,
    plain_len: u64,
    offset: u64,
    zip64: bool,
}

/// Reads the directory `x[start..end]`: exactly `count` entries that fill it.
fn read_directory(x: &[u8], start: usize, end: usize, count: u64) -> Result<Vec<Entry>, Error> {
    let err = |at, what| Error::Directory { at, what };
    let dir = x
        .get(start..end)
        .ok_or(err(start, "it runs past the end of the file"))?;
    // The bound that keeps a hostile count from costing anything.
    let count = usize::try_from(count)
        .ok()
        .filter(|&c| c <= dir.len() / CENTRAL_LEN)
        .ok_or(err(start, "its entry count is more than its size can hold"))?;
    let mut out = Vec::new();
    let mut at = 0;
    for index in 0..count {
        let (entry, next) = read_entry(dir, at, index, start)?;
        out.push(entry);
        at = next;
    }
    if at != dir.len() {
        return Err(err(start + at, "bytes are left in it after its last entry"));
    }
    Ok(out)
}

/// Reads the entry at `dir[at..]` (`base`: where `dir` starts in the
/// file); returns it and where the next one starts.
fn read_entry(dir: &[u8], at: usize, index: usize, base: usize) -> Result<(Entry, usize), Error> {
    let err = |what| Error::Entry {
        index,
        at: base + at,
        what,
    };
    let h = fixed::<CENTRAL_LEN>(dir, at).ok_or(err("truncated entry"))?;
    if h[..4] != CENTRAL_MAGIC {
        return Err(err("no central directory signature"));
    }
    let name_at = at + CENTRAL_LEN;
    let extra_at = name_at + usize::from(le16(h, 28));
    let comment_at = extra_at + usize::from(le16(h, 30));
    let next = comment_at + usize::from(le16(h, 32));
    if next > dir.len() {
        return Err(err(
            "its name, extra field or comment runs past the directory",
        ));
    }
    // In this order, each only if its field is FFFFFFFF (APPNOTE 4.5.3).
    let fields = [le32(h, 24), le32(h, 20), le32(h, 42)];
    let mut values = fields.map(u64::from);
    let zip64 = fields.contains(&MARK32);
    if zip64 {
        let data = extra_field(&dir[extra_at..comment_at], ZIP64_EXTRA).ok_or(err(
            "a size or its offset is FFFFFFFF and it has no zip64 extra field",
        ))?;
        let mut k = 0;
        for (value, field) in values.iter_mut().zip(fields) {
            if field == MARK32 {
                *value = le64_in(data, k).ok_or(err("its zip64 extra field is too short"))?;
                k += 8;
            }
        }
    }
    let [plain_len, data_len, offset] = values;
    let entry = Entry {
        at: base + at,
        name: dir[name_at..extra_at].to_vec(),
        made_by: le16(h, 4),
        dos_time: u32::from(le16(h, 14)) << 16 | u32::from(le16(h, 12)),
        external: le32(h, 38),
        flags: le16(h, 8),
        method: le16(h, 10),
        crc32: le32(h, 16),
        data_len,
        plain_len,
        offset,
        zip64,
    };
    Ok((entry, next))
}

/// The member of entry `index`: its local header found and compared.
fn read_member(
    x: &[u8],
    index: usize,
    e: Entry,
    shift: usize,
    directory_start: usize,
) -> Result<Member, Error> {
    let header_start = usize::try_from(e.offset)
        .ok()
        .and_then(|o| o.checked_add(shift))
        .filter(|&h| h < directory_start)
        .ok_or(Error::Entry {
            index,
            at: e.at,
            what: "its local header offset is not before the central directory",
        })?;
    let err = |what| Error::Local {
        index,
        at: header_start,
        what,
    };
    // Only bytes before the directory can be a member's.
    let before = &x[..directory_start];
    let h = fixed::<LOCAL_LEN>(before, header_start).ok_or(err("truncated local header"))?;
    if h[..4] != LOCAL_MAGIC {
        return Err(err("no local header signature"));
    }
    let name_at = header_start + LOCAL_LEN;
    let extra_at = name_at + usize::from(le16(h, 26));
    let data_start = extra_at + usize::from(le16(h, 28));
    let data_len =
        usize::try_from(e.data_len).map_err(|_| err("its compressed size is too large"))?;
    data_start
        .checked_add(data_len)
        .filter(|&end| end <= directory_start)
        .ok_or(err(
            "its name, extra field or data runs into the central directory",
        ))?;
    let consistent = agrees(
        h,
        &before[name_at..extra_at],
        &before[extra_at..data_start],
        &e,
    );
    Ok(Member {
        name: e.name,
        entry: index,
        method: e.method,
        flags: e.flags,
        header_start,
        data_start,
        data_len,
        plain_len: e.plain_len,
        crc32: e.crc32,
        zip64: e.zip64,
        made_by: e.made_by,
        dos_time: e.dos_time,
        external: e.external,
        consistent,
    })
}

/// Whether a local header (`h`, its name and extra field) says what the
/// directory entry says.
fn agrees(h: &[u8; LOCAL_LEN], name: &[u8], extra: &[u8], e: &Entry) -> bool {
    let flags = le16(h, 6);
    if name != e.name || le16(h, 8) != e.method {
        return false;
    }
    if (flags ^ e.flags) & (FLAG_ENCRYPTED | FLAG_DESCRIPTOR) != 0 {
        return false;
    }
    if flags & FLAG_DESCRIPTOR != 0 {
        // The CRC and sizes are in the descriptor; the local ones may be 0.
        return true;
    }
    let (plain, data) = (le32(h, 22), le32(h, 18));
    let mut sizes = [plain, data].map(u64::from);
    if plain == MARK32 || data == MARK32 {
        let Some(z) = extra_field(extra, ZIP64_EXTRA) else {
            return false;
        };
        // APPNOTE 4.5.3: the local zip64 field holds both sizes; some
        // writers put only those that are FFFFFFFF, in order.
        let both = z.len() >= 16;
        let mut k = 0;
        for (i, field) in [plain, data].into_iter().enumerate() {
            if field == MARK32 {
                let Some(v) = le64_in(z, k) else {
                    return false;
                };
                sizes[i] = v;
            }
            if both || field == MARK32 {
                k += 8;
            }
        }
    }
    le32(h, 14) == e.crc32 && sizes == [e.plain_len, e.data_len]
}

/// Parses an archive's framing: its end records, central directory and
/// every member's local header. See the module documentation for what is
/// checked and what is refused.
pub fn parse(x: &[u8]) -> Result<Archive, Error> {
    let (at, len) = end::find(x)?;
    let end = end::read(x, at, len)?;
    let directory_len = usize::try_from(end.size)
        .ok()
        .filter(|&s| s <= end.directory_end)
        .ok_or(Error::Directory {
            at: end.directory_end,
            what: "its size is more than the bytes before the end record",
        })?;
    let directory_start = end.directory_end - directory_len;
    let shift = usize::try_from(end.offset)
        .ok()
        .and_then(|o| directory_start.checked_sub(o))
        .ok_or(Error::Directory {
            at: directory_start,
            what: "its declared offset is past where it starts (before the end record)",
        })?;
    let entries = read_directory(x, directory_start, end.directory_end, end.count)?;
    let mut members = entries
        .into_iter()
        .enumerate()
        .map(|(index, e)| read_member(x, index, e, shift, directory_start))
        .collect::<Result<Vec<_>, _>>()?;
    members.sort_by_key(|m| m.header_start);
    for pair in members.windows(2) {
        if let [a, b] = pair
            && a.data_end() > b.header_start
        {
            return Err(Error::Overlap {
                first: a.entry,
                second: b.entry,
                at: b.header_start,
            });
        }
    }
    Ok(Archive {
        members,
        directory_start,
        directory_len,
        end_start: end.at,
        end_len: end.len,
        shift,
        zip64: end.zip64,
    })
}

#[cfg(test)]
mod tests;
