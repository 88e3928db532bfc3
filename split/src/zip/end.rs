//! The end records: the end of central directory record found from the
//! end of the file, and the zip64 end records before it.

use super::{
    END_LEN, END_MAGIC, Error, MARK16, MARK32, TRAILING, ZIP64_END_MAGIC, ZIP64_LOCATOR_MAGIC,
    fixed, le16, le32, le64,
};

/// The zip64 end locator's length.
const LOCATOR_LEN: usize = 20;
/// The zip64 end record's fixed part, which "size of the rest" counts
/// from byte 12.
const ZIP64_END_LEN: usize = 56;

/// The end record as found, with the directory's values (zip64 ones if
/// there are zip64 end records).
pub(super) struct End {
    /// Where the end record starts.
    pub at: usize,
    /// Its length, comment included.
    pub len: usize,
    /// Where the directory ends: the zip64 end record, or the end record.
    pub directory_end: usize,
    /// The directory's entry count.
    pub count: u64,
    /// Its size.
    pub size: u64,
    /// Its declared offset (short by the shift).
    pub offset: u64,
    /// Whether there are zip64 end records.
    pub zip64: bool,
}

/// Finds the end record: the last one whose comment ends the file
/// exactly, or else the last one whose comment fits in the bytes after it.
/// Returns where it starts and its length, comment included.
pub(super) fn find(x: &[u8]) -> Result<(usize, usize), Error> {
    let window = END_LEN + usize::from(u16::MAX) + TRAILING;
    let lowest = x.len().saturating_sub(window);
    let no = Error::NoEnd {
        searched: x.len().min(window),
    };
    let Some(last) = x.len().checked_sub(END_LEN) else {
        return Err(no);
    };
    let mut fitting = None;
    for at in (lowest..=last).rev() {
        let Some(h) = fixed::<END_LEN>(x, at).filter(|h| h[..4] == END_MAGIC) else {
            continue;
        };
        let len = END_LEN + usize::from(le16(h, 20));
        match (at + len).cmp(&x.len()) {
            std::cmp::Ordering::Equal => return Ok((at, len)),
            std::cmp::Ordering::Less => {
                fitting.get_or_insert((at, len));
            }
            std::cmp::Ordering::Greater => {}
        }
    }
    fitting.ok_or(no)
}

/// Reads the end record at `at` and, if a locator precedes it, the zip64
/// end records.
pub(super) fn read(x: &[u8], at: usize, len: usize) -> Result<End, Error> {
    let err = |what| Error::End { at, what };
    let h = fixed::<END_LEN>(x, at).ok_or(err("truncated"))?;
    let (disk, dir_disk) = (le16(h, 4), le16(h, 6));
    let (here, count) = (le16(h, 8), le16(h, 10));
    let (size, offset) = (le32(h, 12), le32(h, 16));
    let mut end = End {
        at,
        len,
        directory_end: at,
        count: u64::from(count),
        size: u64::from(size),
        offset: u64::from(offset),
        zip64: false,
    };
    let Some(z) = zip64_end(x, at)? else {
        // FFFF / FFFFFFFF without zip64 records are taken as they are (an
        // archive of exactly 65,535 members has them): checked below anyway.
        if disk != 0 || dir_disk != 0 || here != count {
            return Err(err("the archive spans several disks"));
        }
        return Ok(end);
    };
    let agree16 = |small: u16, big: u64| small == MARK16 || u64::from(small) == big;
    let agree32 = |small: u32, big: u64| small == MARK32 || u64::from(small) == big;
    let agree = agree16(disk, 0)
        && agree16(dir_disk, 0)
        && agree16(here, z.count)
        && agree16(count, z.count)
        && agree32(size, z.size)
        && agree32(offset, z.offset);
    if !agree {
        return Err(err("its fields disagree with the zip64 end record"));
    }
    end.directory_end = z.at;
    end.count = z.count;
    end.size = z.size;
    end.offset = z.offset;
    end.zip64 = true;
    Ok(end)
}

/// The zip64 end record's values.
struct Zip64 {
    at: usize,
    count: u64,
    size: u64,
    offset: u64,
}

/// The zip64 end record, if a locator sits just before the end record at
/// `end_at`.
fn zip64_end(x: &[u8], end_at: usize) -> Result<Option<Zip64>, Error> {
    let Some(loc_at) = end_at.checked_sub(LOCATOR_LEN) else {
        return Ok(None);
    };
    let Some(loc) = fixed::<LOCATOR_LEN>(x, loc_at).filter(|l| l[..4] == ZIP64_LOCATOR_MAGIC)
    else {
        return Ok(None);
    };
    let err = |at, what| Error::End { at, what };
    if le32(loc, 4) != 0 || le32(loc, 16) > 1 {
        return Err(err(
            loc_at,
            "the archive spans several disks (zip64 locator)",
        ));
    }
    // A record ends where the locator starts (they are contiguous).
    let ends_at_locator = |r: &usize| {
        fixed::<ZIP64_END_LEN>(x, *r).is_some_and(|h| {
            let rest = le64(h, 4);
            h[..4] == ZIP64_END_MAGIC
                && rest >= (ZIP64_END_LEN - 12) as u64
                && usize::try_from(rest)
                    .ok()
                    .and_then(|rest| (r + 12).checked_add(rest))
                    == Some(loc_at)
        })
    };
    // At its declared offset; or, when a prefix moved it, just before the
    // locator (a record without extensible data, as everyone writes it).
    let declared = usize::try_from(le64(loc, 8)).ok();
    let at = [declared, loc_at.checked_sub(ZIP64_END_LEN)]
        .into_iter()
        .flatten()
        .find(ends_at_locator)
        .ok_or(err(
            loc_at,
            "no zip64 end record ends where its locator starts",
        ))?;
    let h = fixed::<ZIP64_END_LEN>(x, at).ok_or(err(at, "truncated zip64 end record"))?;
    let (here, count) = (le64(h, 24), le64(h, 32));
    if le32(h, 16) != 0 || le32(h, 20) != 0 || here != count {
        return Err(err(
            at,
            "the archive spans several disks (zip64 end record)",
        ));
    }
    Ok(Some(Zip64 {
        at,
        count,
        size: le64(h, 40),
        offset: le64(h, 48),
    }))
}
