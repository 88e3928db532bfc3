//! The one way an error and its causes become one line, for reports that
//! list several failures (each object of a verify, each silo tried): the
//! workspace's libraries and binaries all use [`error_chain`].

/// An error and its causes on one line, `a: b: c`. A cause whose message
/// the line already holds (an error that prints its source, as
/// `#[error("…: {0}")]` does) is not repeated.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let msg = c.to_string();
        if !s.contains(&msg) {
            s.push_str(": ");
            s.push_str(&msg);
        }
        src = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("outer: {0}")]
    struct Repeats(#[source] std::io::Error);

    #[test]
    fn causes_joined_once() {
        let e = Outer(std::io::Error::other("inner"));
        assert_eq!(error_chain(&e), "outer: inner");
        let e = Repeats(std::io::Error::other("inner"));
        assert_eq!(error_chain(&e), "outer: inner");
    }
}
