//! The one channel for what the tools tell a person on stderr: notes
//! (progress, what was written), warnings and the final error, each line
//! prefixed with the program's name, set once by [`crate::error::exit_with`].
//! Library code never prints diagnostics by other means.

use std::fmt::Display;
use std::sync::OnceLock;

static PROGRAM: OnceLock<&'static str> = OnceLock::new();

/// Name the program in every line; the first call wins.
pub fn set_program(name: &'static str) {
    let _ = PROGRAM.set(name);
}

/// The program's name, or the crate's when no binary set one (unit tests).
pub fn program() -> &'static str {
    PROGRAM.get().copied().unwrap_or("nixos-image-tools")
}

/// `<program>: <msg>`: what the tool is doing or did.
pub fn note(msg: impl Display) {
    eprintln!("{}: {}", program(), line(msg));
}

/// `<program>: warning: <msg>`: something to look at; the run goes on.
pub fn warn(msg: impl Display) {
    eprintln!("{}: warning: {}", program(), line(msg));
}

/// `<program>: error: <msg>`: why the run failed (the last line).
pub fn error(msg: impl Display) {
    eprintln!("{}: error: {}", program(), line(msg));
}

/// Messages quote names from the input: one line, whatever they hold.
fn line(msg: impl Display) -> String {
    crate::escape::line(&msg.to_string()).into_owned()
}
