//! Diagnostics: the crate's [`Error`], positioned at a line and column of the PTX text.
//!
//! Every error carries the offending token's text and what was expected there, and renders
//! the source line with a caret under the token, so a user can fix the PTX without a debugger.

use std::fmt;

/// What went wrong, for callers that branch on the class of error rather than its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A byte sequence that is not a PTX token.
    Lex,
    /// Tokens in an order the PTX grammar does not allow.
    Syntax,
    /// An instruction name PTX does not define.
    UnknownInstruction,
    /// An instruction suffix PTX does not define for that instruction.
    UnknownModifier,
    /// Wrong number or kind of operands for the instruction.
    Operand,
    /// A register whose type the instruction type does not allow.
    Type,
    /// A register, label, symbol or function used but never declared.
    Undefined,
    /// A name declared twice in the same scope.
    Duplicate,
    /// A `.version`, `.target` or `.address_size` this front end does not accept.
    Unsupported,
    /// Input beyond a size or nesting bound that protects the parser.
    Limit,
}

/// A PTX parse or check error, positioned in the source text.
///
/// Displays as `line:col: message`, then the offending source line and a caret under the
/// offending token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Error {
    /// The class of error.
    pub kind: ErrorKind,
    /// 1-based line of the offending token.
    pub line: u32,
    /// 1-based column (in bytes) of the offending token.
    pub col: u32,
    /// What is wrong, including the offending text and what was expected.
    pub message: String,
    /// The offending token as written (empty at end of input).
    pub found: String,
    /// What the parser expected instead, when that is known.
    pub expected: Option<String>,
    /// The whole source line holding the token (tabs kept, so the caret lines up).
    pub source_line: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.message)?;
        if !self.source_line.is_empty() || self.line > 0 {
            writeln!(f)?;
            writeln!(f, "{}", self.source_line)?;
            // Reproduce the line's leading whitespace (tabs included) so the caret lines up.
            let mut pad = String::new();
            for (i, ch) in self.source_line.chars().enumerate() {
                if i + 1 >= self.col as usize {
                    break;
                }
                pad.push(if ch == '\t' { '\t' } else { ' ' });
            }
            let width = self.found.chars().count().clamp(1, 80);
            write!(f, "{pad}{}", "^".repeat(width))?;
        }
        Ok(())
    }
}

impl Error {
    /// Builds an error at byte `offset` of `src`.
    pub(crate) fn at(
        src: &str,
        offset: usize,
        kind: ErrorKind,
        message: impl Into<String>,
        found: &str,
        expected: Option<&str>,
    ) -> Error {
        let offset = offset.min(src.len());
        let bytes = src.as_bytes();
        let line_start = bytes[..offset]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let line_end = bytes[offset..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(src.len(), |p| offset + p);
        let line = bytes[..line_start].iter().filter(|&&b| b == b'\n').count() + 1;
        let raw = String::from_utf8_lossy(&bytes[line_start..line_end]);
        let source_line = raw.trim_end_matches('\r').to_string();
        let mut message = message.into();
        let found = if found.len() > 80 {
            let mut end = 80;
            while !found.is_char_boundary(end) {
                end -= 1;
            }
            &found[..end]
        } else {
            found
        };
        let shown = if found.is_empty() {
            "end of input".to_string()
        } else {
            format!("`{found}`")
        };
        match expected {
            Some(e) => message.push_str(&format!(" (found {shown}, expected {e})")),
            None => message.push_str(&format!(" (at {shown})")),
        }
        Error {
            kind,
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(offset - line_start + 1).unwrap_or(u32::MAX),
            message,
            found: found.to_string(),
            expected: expected.map(str::to_string),
            source_line,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_line_col_source_and_caret() {
        let src = ".version 8.0\n\tadd.s33 %r1, %r2;\n";
        let off = src.find("add.s33").unwrap();
        let e = Error::at(
            src,
            off,
            ErrorKind::UnknownModifier,
            "unknown modifier",
            "add.s33",
            Some("a type"),
        );
        assert_eq!((e.line, e.col), (2, 2));
        let text = e.to_string();
        assert!(text.starts_with("2:2: unknown modifier (found `add.s33`, expected a type)\n"));
        assert!(text.ends_with("\tadd.s33 %r1, %r2;\n\t^^^^^^^"), "{text}");
    }

    #[test]
    fn end_of_input_is_positioned_on_last_line() {
        let src = ".version 8.0";
        let e = Error::at(
            src,
            src.len(),
            ErrorKind::Syntax,
            "unexpected end",
            "",
            None,
        );
        assert_eq!((e.line, e.col), (1, 13));
        assert!(e.to_string().contains("end of input"));
    }
}
