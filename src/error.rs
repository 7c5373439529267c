//! Errors: where in which file something went wrong, printed as one line.
//!
//! The reader is the only stage that knows file offsets, so it produces
//! [`Error::Data`] with the offset of the record or field at fault; the
//! pipeline adds the file name. `main.rs` prints `perfold: <file>: ...`.

use std::fmt;
use std::io;

/// One-line error of a perfold run.
#[derive(Debug)]
pub enum Error {
    /// The input's bytes are at fault at `offset`.
    Data {
        /// Byte offset in the input (of the record or field at fault).
        offset: u64,
        /// What is wrong there.
        what: String,
    },
    /// An I/O error while reading the input (not a data problem).
    Io(io::Error),
    /// Writing the output failed (a closed pipe is reported as this too).
    Output(io::Error),
    /// A bad command-line choice that only the input can reveal.
    Usage(String),
}

impl Error {
    /// A data error at `offset`.
    pub fn data(offset: u64, what: impl Into<String>) -> Self {
        Error::Data {
            offset,
            what: what.into(),
        }
    }

    /// True when the output went to a pipe that the reader closed.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Data { offset, what } => write!(f, "offset {offset}: {what}"),
            Error::Io(e) => write!(f, "{e}"),
            Error::Output(e) => write!(f, "write error: {e}"),
            Error::Usage(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for Error {}

/// perfold's `Result`.
pub type Result<T> = std::result::Result<T, Error>;
