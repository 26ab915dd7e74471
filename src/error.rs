//! The library's error type. Every variant renders as one line that says what
//! went wrong, where, and (when there is one) what to do about it: the binaries
//! print exactly that line and exit non-zero.
//!
//! Where is data, not text: the file an error is about (`path`) and the place
//! inside it (`at`: a JSON path such as `partitions[0].size`, a line, a
//! partition) are fields, rendered `<path>: <at>: <message>`. A caller that
//! knows more than the code below it wraps the error in [`Error::Context`]
//! ([`ErrorContext::in_file`], [`ErrorContext::in_layout`]) instead of
//! rewriting its text. Nothing here escapes: [`crate::diag`] escapes the
//! whole line once, when it is printed.

use std::fmt;
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
    #[error("{}{message}", Where(Some(path.as_path()), at.as_deref()))]
    PartitionTable {
        path: PathBuf,
        at: Option<String>,
        message: String,
    },
    /// A `--partition`-style selector matched nothing or more than one partition.
    #[error("partition selector {selector:?}: {message}")]
    Selector { selector: String, message: String },
    /// A FAT filesystem could not be read or written.
    #[error("{}{message}", Where(path.as_deref(), at.as_deref()))]
    Fat {
        path: Option<PathBuf>,
        at: Option<String>,
        message: String,
    },
    /// The zip package could not be written or does not meet the installer's contract.
    #[error("{}{message}", Where(path.as_deref(), at.as_deref()))]
    Package {
        path: Option<PathBuf>,
        at: Option<String>,
        message: String,
    },
    /// The mkimage layout is not valid, or asks for what cannot be built.
    #[error("layout {}{message}", Where(Some(path.as_path()), at.as_deref()))]
    Layout {
        path: PathBuf,
        at: Option<String>,
        message: String,
    },
    /// An external tool (mke2fs, mkfs.btrfs, ...) failed or is unsuitable.
    #[error("{tool}: {message}")]
    Tool { tool: String, message: String },
    /// installer_data.json or one of its entries is not valid.
    #[error("{}{message}", Where(path.as_deref(), at.as_deref()))]
    InstallerData {
        path: Option<PathBuf>,
        at: Option<String>,
        message: String,
    },
    /// Anything else that is wrong with the caller's input.
    #[error("{}{message}", Where(path.as_deref(), at.as_deref()))]
    Invalid {
        path: Option<PathBuf>,
        at: Option<String>,
        message: String,
    },
    /// An error from below, with what the caller knows about where it
    /// happened: `<context>: <source>`.
    #[error("{context}: {source}")]
    Context {
        context: Context,
        #[source]
        source: Box<Error>,
    },
}

/// What a caller adds to an error from below ([`Error::Context`]).
#[derive(Debug)]
pub enum Context {
    /// In the mkimage layout, at a JSON path: `layout <path>: <at>`.
    Layout { path: PathBuf, at: Option<String> },
    /// About a file, at a place in it: `<path>: <at>`.
    File { path: PathBuf, at: Option<String> },
    /// At a place in the file named further out: `<at>`.
    At(String),
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Context::Layout { path, at } => {
                write!(f, "layout {}", path.display())?;
                at.iter().try_for_each(|at| write!(f, ": {at}"))
            }
            Context::File { path, at } => {
                write!(f, "{}", path.display())?;
                at.iter().try_for_each(|at| write!(f, ": {at}"))
            }
            Context::At(at) => f.write_str(at),
        }
    }
}

/// `<path>: <at>: `, each part only when present.
struct Where<'a>(Option<&'a Path>, Option<&'a str>);

impl fmt::Display for Where<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = self.0 {
            write!(f, "{}: ", path.display())?;
        }
        if let Some(at) = self.1 {
            write!(f, "{at}: ")?;
        }
        Ok(())
    }
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
            at: None,
            message: message.into(),
        }
    }

    pub fn selector(selector: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Selector {
            selector: selector.into(),
            message: message.into(),
        }
    }

    pub fn fat(message: impl Into<String>) -> Self {
        Error::Fat {
            path: None,
            at: None,
            message: message.into(),
        }
    }

    pub fn package(message: impl Into<String>) -> Self {
        Error::Package {
            path: None,
            at: None,
            message: message.into(),
        }
    }

    pub fn layout(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Error::Layout {
            path: path.as_ref().to_path_buf(),
            at: None,
            message: message.into(),
        }
    }

    pub fn tool(tool: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Tool {
            tool: tool.into(),
            message: message.into(),
        }
    }

    pub fn installer_data(message: impl Into<String>) -> Self {
        Error::InstallerData {
            path: None,
            at: None,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid {
            path: None,
            at: None,
            message: message.into(),
        }
    }

    /// The file this error is about. Meant for the error being built; an
    /// error that has no room for it (or names a file already) is wrapped
    /// in [`Context::File`] instead.
    pub fn with_path(mut self, path: impl AsRef<Path>) -> Self {
        match &mut self {
            Error::Fat { path: slot, .. }
            | Error::Package { path: slot, .. }
            | Error::InstallerData { path: slot, .. }
            | Error::Invalid { path: slot, .. }
                if slot.is_none() =>
            {
                *slot = Some(path.as_ref().to_path_buf());
                self
            }
            _ => self.context(Context::File {
                path: path.as_ref().to_path_buf(),
                at: None,
            }),
        }
    }

    /// The place inside the file: a JSON path, a line, a partition. Meant
    /// for the error being built; otherwise wrapped in [`Context::At`].
    pub fn at(mut self, place: impl Into<String>) -> Self {
        match &mut self {
            Error::PartitionTable { at: slot, .. }
            | Error::Fat { at: slot, .. }
            | Error::Package { at: slot, .. }
            | Error::Layout { at: slot, .. }
            | Error::InstallerData { at: slot, .. }
            | Error::Invalid { at: slot, .. }
                if slot.is_none() =>
            {
                *slot = Some(place.into());
                self
            }
            _ => self.context(Context::At(place.into())),
        }
    }

    /// Wrap this error, from below, in what the caller knows.
    pub fn context(self, context: Context) -> Self {
        Error::Context {
            context,
            source: Box::new(self),
        }
    }

    /// The file the error is about, as the outermost caller named it.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::Io { path, .. }
            | Error::PartitionTable { path, .. }
            | Error::Layout { path, .. } => Some(path),
            Error::Fat { path, .. }
            | Error::Package { path, .. }
            | Error::InstallerData { path, .. }
            | Error::Invalid { path, .. } => path.as_deref(),
            Error::Selector { .. } | Error::Tool { .. } => None,
            Error::Context { context, source } => match context {
                Context::Layout { path, .. } | Context::File { path, .. } => Some(path),
                Context::At(_) => source.path(),
            },
        }
    }

    /// The place inside [`Error::path`]'s file, as the outermost caller named it.
    pub fn place(&self) -> Option<&str> {
        match self {
            Error::PartitionTable { at, .. }
            | Error::Fat { at, .. }
            | Error::Package { at, .. }
            | Error::Layout { at, .. }
            | Error::InstallerData { at, .. }
            | Error::Invalid { at, .. } => at.as_deref(),
            Error::Io { .. } | Error::Selector { .. } | Error::Tool { .. } => None,
            Error::Context { context, .. } => match context {
                Context::Layout { at, .. } | Context::File { at, .. } => at.as_deref(),
                Context::At(at) => Some(at),
            },
        }
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

/// Add what the caller knows to an error from below ([`Error::Context`]).
pub trait ErrorContext<T> {
    /// The error is about `path`: `<path>: <error>`.
    fn in_file(self, path: impl AsRef<Path>) -> Result<T>;
    /// The error is about the mkimage layout at `path`, at the JSON path
    /// `at`: `layout <path>: <at>: <error>`.
    fn in_layout(self, path: impl AsRef<Path>, at: impl Into<String>) -> Result<T>;
}

impl<T> ErrorContext<T> for Result<T> {
    fn in_file(self, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| {
            e.context(Context::File {
                path: path.as_ref().to_path_buf(),
                at: None,
            })
        })
    }

    fn in_layout(self, path: impl AsRef<Path>, at: impl Into<String>) -> Result<T> {
        self.map_err(|e| {
            e.context(Context::Layout {
                path: path.as_ref().to_path_buf(),
                at: Some(at.into()),
            })
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn place_is_data_and_renders_first() {
        let e = Error::invalid("\"x\" is not a store path")
            .with_path("paths.txt")
            .at("line 3");
        assert_eq!(
            e.to_string(),
            "paths.txt: line 3: \"x\" is not a store path"
        );
        assert_eq!(
            (e.path(), e.place()),
            (Some(Path::new("paths.txt")), Some("line 3"))
        );
        assert_eq!(Error::invalid("plain").to_string(), "plain");
        let e = Error::layout("l.json", "is empty").at("partitions");
        assert_eq!(e.to_string(), "layout l.json: partitions: is empty");
    }

    #[test]
    fn context_wraps_without_rewriting() {
        let below: Result<()> = Err(Error::invalid("\"zz\" is not a GUID"));
        let e = below.in_layout("l.json", "diskGuid").unwrap_err();
        assert_eq!(
            e.to_string(),
            "layout l.json: diskGuid: \"zz\" is not a GUID"
        );
        assert_eq!(
            (e.path(), e.place()),
            (Some(Path::new("l.json")), Some("diskGuid"))
        );
        let Error::Context { source, .. } = &e else {
            panic!("{e:?}")
        };
        assert!(matches!(**source, Error::Invalid { path: None, .. }));

        // A slot already taken, or none: wrapped, the newest outermost.
        let e = Error::fat("damaged").with_path("a.img").with_path("b.zip");
        assert_eq!(e.to_string(), "b.zip: a.img: damaged");
        assert_eq!(e.path(), Some(Path::new("b.zip")));
        let e = Error::tool("mke2fs", "failed").at("partitions[1]");
        assert_eq!(e.to_string(), "partitions[1]: mke2fs: failed");
        assert_eq!(e.path(), None);
        let e: Result<()> = Err(Error::selector("swap", "it matches nothing"));
        assert_eq!(
            e.in_file("disk.img").unwrap_err().to_string(),
            "disk.img: partition selector \"swap\": it matches nothing"
        );
    }

    #[test]
    fn rendering_does_not_escape() {
        // diag escapes the whole line once; escaping here would do it twice.
        let e = Error::fat("bad\nname").with_path("a\u{1b}b");
        assert_eq!(e.to_string(), "a\u{1b}b: bad\nname");
    }
}
