//! What splitting one object gives (the split, or why it stays whole) and
//! where its contents are written as they are made: shared by the gzip
//! path (`super::split`) and the xz, zstd and `ar` path
//! (`super::split_container`).

use std::io::Write;
use std::sync::Arc;

use trees_split::analyse::Refusal;
use trees_split::table::Record;

use super::load::Object;
use super::spill::{Data, Spill};
use super::{Error, io_at as io};
use crate::Silo;

/// Why an object is stored whole.
pub(super) enum Why {
    Refused(Refusal),
    NotSmaller(String),
    NotRemade(String),
}

/// One object, split or not.
pub(super) enum One {
    Split {
        ts: Vec<Object>,
        r: Object,
        record: Record,
        /// Each content's member name, for a zip (else empty).
        names: Vec<Vec<u8>>,
    },
    Whole(Why),
}

/// T as it is made: in memory until it passes `large`, then in `tmp/`.
pub(super) enum Sink {
    Mem(Vec<u8>),
    File(
        tempfile::NamedTempFile,
        std::io::BufWriter<std::fs::File>,
        u64,
    ),
}

impl Sink {
    pub(super) fn finish(self, tmp: &std::path::Path) -> Result<Data, Error> {
        Ok(match self {
            Sink::Mem(v) => Data::Mem(Arc::new(v)),
            Sink::File(file, mut w, size) => {
                w.flush().map_err(io(tmp))?;
                Data::Spilled(Arc::new(Spill {
                    file,
                    size,
                    reuse: None,
                }))
            }
        })
    }
}

pub(super) struct SinkWriter<'a> {
    pub(super) sink: &'a mut Sink,
    pub(super) silo: &'a Silo,
    pub(super) large: u64,
}

impl Write for SinkWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Sink::Mem(v) = self.sink
            && (v.len() + buf.len()) as u64 > self.large
        {
            let file = self.silo.temp_file(".raw")?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, file.as_file().try_clone()?);
            w.write_all(v)?;
            let size = v.len() as u64;
            *self.sink = Sink::File(file, w, size);
        }
        match self.sink {
            Sink::Mem(v) => v.extend_from_slice(buf),
            Sink::File(_, w, size) => {
                w.write_all(buf)?;
                *size += buf.len() as u64;
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
