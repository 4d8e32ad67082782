//! The error type of the facade and the CLI.

use std::fmt;

/// What went wrong, with a message that names the bad part.
#[derive(Clone, Debug, PartialEq)]
pub enum Error {
    /// Bad input: a spec string, a key, a value, a file's content (exit code 2).
    Usage(String),
    /// A result file could not be written (exit code 1).
    Io(String),
}

impl Error {
    /// A usage error with a message.
    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::Io(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl From<gradflow_problems::ProblemError> for Error {
    fn from(e: gradflow_problems::ProblemError) -> Self {
        Error::Usage(e.to_string())
    }
}

/// The facade's result type.
pub type Result<T> = std::result::Result<T, Error>;
