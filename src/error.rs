//! The library's error type. Every variant renders as one line that says what
//! went wrong, where, and (when there is one) what to do about it: the binaries
//! print exactly that line and exit non-zero.

use std::path::{Path, PathBuf};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system call failed on a path.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The partition table is missing, damaged or inconsistent.
    #[error("{}: {message}", path.display())]
    PartitionTable { path: PathBuf, message: String },
    /// A `--partition`-style selector matched nothing or more than one partition.
    #[error("{0}")]
    Selector(String),
    /// A FAT filesystem could not be read or written.
    #[error("{0}")]
    Fat(String),
    /// The zip package could not be written or does not meet the installer's contract.
    #[error("{0}")]
    Package(String),
    /// The mkimage layout is not valid.
    #[error("layout {}: {message}", path.display())]
    Layout { path: PathBuf, message: String },
    /// An external tool (mke2fs, mkfs.btrfs, ...) failed or is unsuitable.
    #[error("{tool}: {message}")]
    Tool { tool: String, message: String },
    /// installer_data.json or one of its entries is not valid.
    #[error("{0}")]
    InstallerData(String),
    /// Anything else that is wrong with the caller's input.
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    pub fn io(action: &'static str, path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    pub fn table(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Error::PartitionTable {
            path: path.as_ref().to_path_buf(),
            message: message.into(),
        }
    }

    pub fn layout(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Error::Layout {
            path: path.as_ref().to_path_buf(),
            message: message.into(),
        }
    }

    pub fn tool(tool: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Tool {
            tool: tool.into(),
            message: message.into(),
        }
    }

    pub fn fat(message: impl Into<String>) -> Self {
        Error::Fat(message.into())
    }

    pub fn package(message: impl Into<String>) -> Self {
        Error::Package(message.into())
    }

    pub fn installer_data(message: impl Into<String>) -> Self {
        Error::InstallerData(message.into())
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(message.into())
    }
}

/// Attach the action and path to an `io::Result`.
pub trait IoContext<T> {
    fn ctx(self, action: &'static str, path: impl AsRef<Path>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, action: &'static str, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| Error::io(action, path, e))
    }
}

/// Entry point shared by the binaries: name the program for every
/// diagnostic ([`crate::diag`]), run, print one line on failure, exit 1.
pub fn exit_with(
    program: &'static str,
    run: impl FnOnce() -> Result<()>,
) -> std::process::ExitCode {
    crate::diag::set_program(program);
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            crate::diag::error(e);
            std::process::ExitCode::FAILURE
        }
    }
}
