//! Splitting an xz file, a zstd file or a `.deb` (see
//! `trees_split::container`): its contents become objects of their own,
//! each in memory or spilled to `tmp/` past the `large` threshold, and X
//! is rebuilt from them and its recipe, in this process, and compared
//! with its id before the split counts.

use std::io::{Read, Write};
use std::sync::Arc;

use trees_pack::id::{Hasher, Kind, hash_object};
use trees_pack::mmap::Region;
use trees_split::analyse::Refusal;
use trees_split::any::AnyRecipe;
use trees_split::container::{self, Contents};
use trees_split::table::Record;

use super::load::Object;
use super::spill::Data;
use super::split_parts::{One, Sink, SinkWriter, Why};
use super::{Error, io_at as io};
use crate::Silo;

/// The contents as they are made, each a [`Sink`].
struct Many<'a> {
    done: Vec<Sink>,
    current: Option<Sink>,
    silo: &'a Silo,
    large: u64,
}

impl Write for Many<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let sink = self
            .current
            .as_mut()
            .ok_or_else(|| std::io::Error::other("no content started"))?;
        SinkWriter {
            sink,
            silo: self.silo,
            large: self.large,
        }
        .write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Contents for Many<'_> {
    fn start(&mut self) -> std::io::Result<()> {
        if let Some(s) = self.current.take() {
            self.done.push(s);
        }
        self.current = Some(Sink::Mem(Vec::new()));
        Ok(())
    }
    fn abandon(&mut self) -> std::io::Result<()> {
        self.current = None;
        Ok(())
    }
}

/// X's bytes: in memory, or its spill file mapped.
enum Bytes {
    Mem(Arc<Vec<u8>>),
    Mapped(Region),
}

impl Bytes {
    fn of(data: &Data) -> std::io::Result<Bytes> {
        Ok(match data {
            Data::Mem(v) => Bytes::Mem(Arc::clone(v)),
            Data::Spilled(s) => {
                let len = usize::try_from(s.size).map_err(std::io::Error::other)?;
                Bytes::Mapped(Region::map(s.file.as_file(), 0, len)?)
            }
        })
    }
    fn get(&self) -> &[u8] {
        match self {
            Bytes::Mem(v) => v,
            Bytes::Mapped(r) => r,
        }
    }
}

fn whole(why: Why) -> Result<One, Error> {
    Ok(One::Whole(why))
}

/// Splits one xz, zstd or `ar` object, or says why not.
pub(super) fn split_one(silo: &Silo, o: &Object, memory: u64, large: u64) -> Result<One, Error> {
    let tmp = silo.tmp_dir();
    let x = Bytes::of(&o.data).map_err(io(&tmp))?;
    let mut many = Many {
        done: Vec::new(),
        current: None,
        silo,
        large,
    };
    let recipe = match container::split(x.get(), &mut many, memory) {
        Ok(r) => r,
        Err(container::Error::Refused(r)) => {
            return whole(match r {
                container::Refusal::NotContainer(w) => Why::Refused(Refusal::NotGzip(w)),
                container::Refusal::NotRemade(w) => Why::NotRemade(w),
                container::Refusal::OverMemory(w) => Why::Refused(Refusal::OverMemory(w)),
            });
        }
        Err(container::Error::Io(e)) => return Err(io(&tmp)(e)),
    };
    // A zip's member names, one per content: members with data, in order.
    let names: Vec<Vec<u8>> = if recipe.format == trees_split::pieces::FORMAT_ZIP {
        trees_split::zip::parse(x.get())
            .map(|a| {
                a.members
                    .into_iter()
                    .filter(|m| m.data_len > 0)
                    .map(|m| m.name)
                    .collect()
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    drop(x);
    let bytes = recipe.encode();
    if bytes.len() as u64 * 4 > o.data.len() {
        return whole(Why::NotSmaller(format!(
            "its recipe ({} bytes) is over a quarter of it",
            bytes.len()
        )));
    }
    if let Some(s) = many.current.take() {
        many.done.push(s);
    }
    let mut ts = Vec::with_capacity(many.done.len());
    for sink in many.done {
        let data = sink.finish(&tmp)?;
        let mut h = Hasher::new(Kind::Blob, data.len());
        std::io::copy(&mut data.reader().map_err(io(&tmp))?, &mut h).map_err(io(&tmp))?;
        let Ok(id) = h.finish() else {
            return whole(Why::NotRemade("cannot hash its content".to_owned()));
        };
        ts.push(Object { id, data });
    }
    // Rebuild here, from what will be stored, and compare ids.
    let any = AnyRecipe::Pieces(recipe);
    let mut check = Hasher::new(Kind::Blob, o.data.len());
    let rebuilt = {
        let mut readers = Vec::with_capacity(ts.len());
        for t in &ts {
            readers.push(t.data.reader().map_err(io(&tmp))?);
        }
        let mut joined = readers
            .into_iter()
            .fold(Box::new(std::io::empty()) as Box<dyn Read>, |a, r| {
                Box::new(a.chain(r))
            });
        any.rebuild(&mut joined, &mut check, memory)
    };
    if let Err(e) = rebuilt {
        return whole(Why::NotRemade(format!("the rebuild check failed: {e}")));
    }
    if check.finish().ok() != Some(o.id) {
        return whole(Why::NotRemade(
            "the rebuild check gave other bytes".to_owned(),
        ));
    }
    let Ok(r_id) = hash_object(Kind::Blob, &bytes) else {
        return whole(Why::NotRemade("cannot hash its recipe".to_owned()));
    };
    let record = Record {
        x: o.id,
        contents: ts.iter().map(|t| t.id).collect(),
        recipe: r_id,
        size: o.data.len(),
        format: any.format(),
    };
    Ok(One::Split {
        ts,
        r: Object {
            id: r_id,
            data: Data::Mem(Arc::new(bytes)),
        },
        record,
        names,
    })
}
