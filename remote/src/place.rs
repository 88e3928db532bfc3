//! What a silo argument names: a directory, a silo served over HTTP(S), or
//! a bucket. No URL is ever a path: an argument with a scheme (`name://`)
//! that we do not serve is an error, never a local folder named `name:`.

use std::path::PathBuf;

use crate::s3;

/// Where a silo is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A local directory.
    Dir(PathBuf),
    /// A silo served read-only over `http://` or `https://` (the URL).
    Http(String),
    /// A silo in a bucket, `s3://BUCKET/PREFIX`.
    S3(s3::Location),
}

/// A silo argument that names no silo we can reach.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A URL whose scheme we do not serve.
    #[error(
        "{arg}: {scheme}:// is not a kind of silo this program reaches (a directory, http://, https:// or s3://BUCKET/PREFIX); it is not taken as a local path"
    )]
    Scheme {
        /// The argument.
        arg: String,
        /// Its scheme.
        scheme: String,
    },
    /// A malformed `s3://` URL, or a bucket that cannot be opened.
    #[error(transparent)]
    S3(#[from] s3::Error),
    /// A directory that is not a silo.
    #[error("cannot open silo {}", dir.display())]
    Dir {
        /// The directory.
        dir: PathBuf,
        /// The cause.
        source: trees_silo::store::OpenError,
    },
    /// A silo served over HTTP cannot be written.
    #[error(
        "{0} is a silo served over HTTP, which is read-only: `silo cat` and `silo mirror` read it; change the directory it serves, or use a silo in s3://"
    )]
    ReadOnly(String),
}

/// An opened silo; `bucket` when it lives in object storage.
pub struct Opened {
    /// The silo (a bucket's is read through its local replica).
    pub silo: trees_silo::Silo,
    /// The bucket, for its traffic counts.
    pub bucket: Option<std::sync::Arc<s3::Bucket>>,
}

/// The scheme of `arg` if it starts with `name://` (RFC 3986 scheme
/// characters).
pub fn scheme(arg: &str) -> Option<&str> {
    let (name, _) = arg.split_once("://")?;
    let mut chars = name.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(name)
}

impl Place {
    /// Reads a silo argument.
    pub fn parse(arg: &str) -> Result<Place, Error> {
        match scheme(arg) {
            None => Ok(Place::Dir(PathBuf::from(arg))),
            Some(s) if s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https") => {
                Ok(Place::Http(arg.to_owned()))
            }
            Some("s3") => Ok(Place::S3(s3::Location::parse(arg)?)),
            Some(s) => Err(Error::Scheme {
                arg: arg.to_owned(),
                scheme: s.to_owned(),
            }),
        }
    }

    /// Opens the silo (with `create`, makes it first), keeping a bucket's
    /// replica under `cache`, every pack in it.
    pub fn open(&self, create: bool, cache: &std::path::Path) -> Result<Opened, Error> {
        self.open_with(create, cache, s3::Packs::Whole)
    }

    /// [`Place::open`], a bucket's packs downloaded as `packs` says
    /// (repack and gc: [`s3::Packs::OnDemand`]).
    pub fn open_with(
        &self,
        create: bool,
        cache: &std::path::Path,
        packs: s3::Packs,
    ) -> Result<Opened, Error> {
        match self {
            Place::Dir(dir) => {
                let silo = if create {
                    trees_silo::Silo::init(dir)
                } else {
                    trees_silo::Silo::open(dir)
                }
                .map_err(|source| Error::Dir {
                    dir: dir.clone(),
                    source,
                })?;
                Ok(Opened { silo, bucket: None })
            }
            Place::Http(url) => Err(Error::ReadOnly(url.clone())),
            Place::S3(loc) => {
                let (silo, bucket) = s3::open(loc, cache, create, packs)?;
                Ok(Opened {
                    silo,
                    bucket: Some(bucket),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_never_paths() {
        assert_eq!(
            Place::parse("s3://silo/deps.silo").unwrap(),
            Place::S3(s3::Location {
                bucket: "silo".into(),
                prefix: "deps.silo".into()
            })
        );
        assert!(matches!(
            Place::parse("gs://b/p"),
            Err(Error::Scheme { scheme, .. }) if scheme == "gs"
        ));
        assert!(matches!(Place::parse("https://x/y/"), Ok(Place::Http(_))));
        assert_eq!(
            Place::parse("dir/with:colon").unwrap(),
            Place::Dir(PathBuf::from("dir/with:colon"))
        );
        assert!(Place::parse("s3://Bad_Bucket/p").is_err());
        assert!(Place::parse("s3://b/../x").is_err());
    }
}
