//! The one escaping rule for text that reaches a terminal. Names and values
//! read from images, layouts, JSON or store paths may hold any character; a
//! newline, CR, ESC or NUL printed raw splits an error's one line or repaints
//! the terminal. Every such character is shown as a visible escape instead:
//! `\n`, `\r`, `\t`, `\0`, and `\x1b` / `\u{202e}` for the rest of the C0 and
//! C1 controls, DEL, and the Unicode characters that reorder or hide text
//! (bidirectional overrides, zero-width characters, line separators).
//! Backslashes are left as they are, so quoted names stay readable.

use std::borrow::Cow;
use std::fmt;

/// `s` with every control or invisible character escaped.
pub fn line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push(&mut out, c);
    }
    Cow::Owned(out)
}

/// Display adaptor: `format!("{}", Escaped(name))`.
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&line(self.0))
    }
}

fn needs_escape(c: char) -> bool {
    matches!(c,
        '\0'..='\x1f' | '\x7f'..='\u{9f}'
        | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

fn push(out: &mut String, c: char) {
    use std::fmt::Write;
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\0' => out.push_str("\\0"),
        c if (c as u32) < 0x80 && needs_escape(c) => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if needs_escape(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_visible_and_plain_text_is_untouched() {
        assert_eq!(line("EFI/BOOT/bootaa64.efi"), "EFI/BOOT/bootaa64.efi");
        assert!(matches!(line("plain"), Cow::Borrowed(_)));
        assert_eq!(
            line("a\nb\r\tc\0d\x1b[2Je\x7f"),
            "a\\nb\\r\\tc\\0d\\x1b[2Je\\x7f"
        );
        assert_eq!(
            line("x\u{85}y\u{202e}z\u{feff}"),
            "x\\u{85}y\\u{202e}z\\u{feff}"
        );
        assert_eq!(line("naïve ☃ 日本"), "naïve ☃ 日本");
        assert_eq!(format!("[{:<6}]", Escaped("a\nb")), "[a\\nb  ]");
    }

    #[test]
    fn output_never_holds_a_control_character() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let out = line(&all);
        assert!(!out.chars().any(needs_escape));
        assert!(!out.contains('\n'));
    }
}
