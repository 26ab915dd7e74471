//! Command-line parsing shared by the binaries: clap's errors become the same
//! one line as every other error (`tool: error: ...`, exit 2), while `--help`
//! and `--version` print exactly what clap prints.

use clap::error::ErrorKind;
use std::process::ExitCode;

/// A binary's whole `main`: parse the arguments (one line and exit 2 when
/// they are wrong), then run with them ([`crate::error::exit_with`]).
pub fn main<T: clap::Parser>(
    program: &'static str,
    run: impl FnOnce(T) -> crate::Result<()>,
) -> ExitCode {
    match parse(program) {
        Ok(args) => crate::error::exit_with(program, || run(args)),
        Err(code) => code,
    }
}

/// Parse the arguments, or say what is wrong in one line and return the exit
/// status to end with.
pub fn parse<T: clap::Parser>(program: &str) -> Result<T, ExitCode> {
    T::try_parse().map_err(|e| report(program, &e))
}

/// Print a clap error or help text the project's way; returns the exit status.
pub fn report(program: &str, e: &clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            eprintln!("{}", one_line(program, "error: a subcommand is required"));
            ExitCode::from(2)
        }
        _ => {
            eprintln!("{}", one_line(program, &e.render().to_string()));
            ExitCode::from(2)
        }
    }
}

/// `error: unexpected argument '--x' found\n\n  tip: ...\n\nUsage: ...` →
/// `tool: error: unexpected argument '--x' found (see 'tool --help')`.
pub fn one_line(program: &str, rendered: &str) -> String {
    // The message is clap's first paragraph; a newline inside it came from
    // an argument and is escaped below.
    let trimmed = rendered.trim();
    let first = trimmed.split("\n\n").next().unwrap_or(trimmed).trim_end();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // clap indents the items of its lists (missing arguments): those join
    // with a space; any other line break came from an argument.
    let mut text = String::new();
    for (i, l) in first.split('\n').enumerate() {
        if i > 0 {
            text.push_str(if l.starts_with("  ") { " " } else { "\n" });
        }
        text.push_str(if l.starts_with("  ") {
            l.trim_start()
        } else {
            l
        });
    }
    format!(
        "{program}: error: {} (see '{program} --help')",
        crate::escape::line(&text)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn clap_text_becomes_one_line() {
        let rendered = "error: unexpected argument '--bogus\n' found\n\n  tip: to pass '--bogus' as a value, use '-- --bogus'\n\nUsage: carve-partitions list <IMAGE>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            super::one_line("carve-partitions", rendered),
            "carve-partitions: error: unexpected argument '--bogus\\n' found (see 'carve-partitions --help')"
        );
    }
}
