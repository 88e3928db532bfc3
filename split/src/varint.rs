//! Unsigned LEB128 varints, as the general recipe writes its integers.

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
