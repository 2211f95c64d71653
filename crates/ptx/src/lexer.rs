//! Tokenizer over the raw bytes of PTX text.
//!
//! Tokens borrow from the source (no per-token allocation) and carry their byte span, line and
//! column. Instruction names with their suffixes (`ld.global.L2::cache_hint.v4.u32`) and
//! special registers (`%tid.x`) are single [`TokKind::Ident`] tokens; the parser splits them.

use crate::diag::{Error, ErrorKind};

/// Token classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokKind {
    /// A name: starts with a letter, `_`, `$` or `%`; may contain `.` and `::`.
    Ident,
    /// A directive or type: `.` followed by a name (`.reg`, `.u32`, `.shared::cta`).
    Dir,
    /// A numeric literal (integer or float, any base); starts with a digit.
    Num,
    /// A quoted string.
    Str,
    /// One punctuation byte.
    Punct(u8),
    /// End of input (always the last token).
    Eof,
}

/// One token: kind, byte span, position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tok {
    pub kind: TokKind,
    pub start: u32,
    pub end: u32,
    pub line: u32,
    pub col: u32,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$' || b == b'%'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

/// Largest input accepted (token offsets are `u32`).
pub(crate) const MAX_INPUT: usize = u32::MAX as usize - 1;

/// Splits `src` into tokens, ending with one [`TokKind::Eof`].
pub(crate) fn lex(src: &str) -> Result<Vec<Tok>, Error> {
    if src.len() > MAX_INPUT {
        return Err(Error::at(
            src,
            0,
            ErrorKind::Limit,
            "input larger than 4 GiB",
            "",
            None,
        ));
    }
    let b = src.as_bytes();
    // The driver reads PTX as a C string: text ends at the first NUL (images often pad with
    // them).
    let n = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let mut toks = Vec::with_capacity(n / 5 + 16);
    // A UTF-8 byte-order mark some editors add.
    let mut i = if b.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    };
    let mut line = 1u32;
    let mut line_start = 0usize;
    while i < n {
        let c = b[i];
        match c {
            b'\n' => {
                i += 1;
                line += 1;
                line_start = i;
                continue;
            }
            b' ' | b'\t' | b'\r' | 0x0b | 0x0c => {
                i += 1;
                continue;
            }
            b'/' if i + 1 < n && b[i + 1] == b'/' => {
                while i < n && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if i + 1 < n && b[i + 1] == b'*' => {
                let open = i;
                i += 2;
                loop {
                    if i + 1 >= n {
                        return Err(Error::at(
                            src,
                            open,
                            ErrorKind::Lex,
                            "unterminated block comment",
                            "/*",
                            Some("`*/`"),
                        ));
                    }
                    if b[i] == b'*' && b[i + 1] == b'/' {
                        i += 2;
                        break;
                    }
                    if b[i] == b'\n' {
                        line += 1;
                        line_start = i + 1;
                    }
                    i += 1;
                }
                continue;
            }
            _ => {}
        }
        let start = i;
        let col = (start - line_start + 1) as u32;
        let kind = if is_ident_start(c) {
            i += 1;
            loop {
                if i < n && (is_ident_char(b[i]) || b[i] == b'.') {
                    i += 1;
                } else if i + 2 < n && b[i] == b':' && b[i + 1] == b':' && is_ident_char(b[i + 2]) {
                    i += 2;
                } else {
                    break;
                }
            }
            TokKind::Ident
        } else if c == b'.' && i + 1 < n && is_ident_start(b[i + 1]) && b[i + 1] != b'%' {
            i += 1;
            loop {
                if i < n && is_ident_char(b[i]) {
                    i += 1;
                } else if i + 2 < n && b[i] == b':' && b[i + 1] == b':' && is_ident_char(b[i + 2]) {
                    i += 2;
                } else {
                    break;
                }
            }
            TokKind::Dir
        } else if c.is_ascii_digit() {
            // Hex-like literals (0x.., 0f.., 0d.., 0b..) never take an exponent sign.
            let radix_prefix = c == b'0'
                && i + 1 < n
                && matches!(
                    b[i + 1],
                    b'x' | b'X' | b'f' | b'F' | b'd' | b'D' | b'b' | b'B'
                );
            i += 1;
            while i < n {
                let d = b[i];
                let exp_sign = (d == b'+' || d == b'-')
                    && !radix_prefix
                    && matches!(b[i - 1], b'e' | b'E')
                    && i + 1 < n
                    && b[i + 1].is_ascii_digit();
                if d.is_ascii_alphanumeric() || d == b'.' || d == b'_' || exp_sign {
                    i += 1;
                } else {
                    break;
                }
            }
            TokKind::Num
        } else if c == b'"' {
            i += 1;
            loop {
                if i >= n || b[i] == b'\n' {
                    return Err(Error::at(
                        src,
                        start,
                        ErrorKind::Lex,
                        "unterminated string",
                        "\"",
                        Some("a closing `\"`"),
                    ));
                }
                if b[i] == b'\\' && i + 1 < n && b[i + 1] != b'\n' {
                    i += 2;
                    continue;
                }
                i += 1;
                if b[i - 1] == b'"' {
                    break;
                }
            }
            TokKind::Str
        } else if matches!(
            c,
            b',' | b';'
                | b':'
                | b'{'
                | b'}'
                | b'['
                | b']'
                | b'('
                | b')'
                | b'+'
                | b'-'
                | b'@'
                | b'!'
                | b'<'
                | b'>'
                | b'='
                | b'|'
                | b'*'
                | b'/'
                | b'.'
        ) {
            i += 1;
            TokKind::Punct(c)
        } else {
            let ch_len = src[start..].chars().next().map_or(1, char::len_utf8);
            return Err(Error::at(
                src,
                start,
                ErrorKind::Lex,
                "unexpected character",
                &src[start..start + ch_len],
                Some("a PTX token"),
            ));
        };
        toks.push(Tok {
            kind,
            start: start as u32,
            end: i as u32,
            line,
            col,
        });
    }
    toks.push(Tok {
        kind: TokKind::Eof,
        start: n as u32,
        end: n as u32,
        line,
        col: (n - line_start + 1) as u32,
    });
    Ok(toks)
}

/// A parsed numeric literal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    /// An integer; `unsigned` when spelled with `U` or too large for `i64`.
    Int { value: u64, unsigned: bool },
    /// `0fXXXXXXXX`: exact f32 bits.
    F32(u32),
    /// `0dXXXXXXXXXXXXXXXX`: exact f64 bits.
    F64(u64),
    /// A decimal float literal, as f64 bits.
    Dec(u64),
}

/// Parses a numeric literal token's text; `None` when it is not a valid PTX number.
pub(crate) fn parse_number(t: &str) -> Option<Number> {
    let b = t.as_bytes();
    if b.is_empty() || !b[0].is_ascii_digit() {
        return None;
    }
    if b.len() >= 2 && b[0] == b'0' {
        match b[1] {
            b'f' | b'F' => {
                let h = &t[2..];
                if h.len() == 8 && h.bytes().all(|c| c.is_ascii_hexdigit()) {
                    return u32::from_str_radix(h, 16).ok().map(Number::F32);
                }
                return None;
            }
            b'd' | b'D' => {
                let h = &t[2..];
                if h.len() == 16 && h.bytes().all(|c| c.is_ascii_hexdigit()) {
                    return u64::from_str_radix(h, 16).ok().map(Number::F64);
                }
                return None;
            }
            _ => {}
        }
    }
    if t.contains('.') || (!t.starts_with("0x") && !t.starts_with("0X") && t.contains(['e', 'E'])) {
        let t = t.strip_suffix(['f', 'F']).unwrap_or(t);
        if !t
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            return None;
        }
        return t.parse::<f64>().ok().map(|v| Number::Dec(v.to_bits()));
    }
    let (body, unsigned) = match t.strip_suffix(['U', 'u']) {
        Some(s) => (s, true),
        None => (t, false),
    };
    let (digits, radix) =
        if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (h, 16)
        } else if let Some(h) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (h, 2)
        } else if body.len() > 1 && body.starts_with('0') {
            (&body[1..], 8)
        } else {
            (body, 10)
        };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let value = u64::from_str_radix(digits, radix).ok()?;
    Some(Number::Int {
        value,
        unsigned: unsigned || value > i64::MAX as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(TokKind, &str)> {
        lex(src)
            .unwrap()
            .iter()
            .map(|t| (t.kind, &src[t.start as usize..t.end as usize]))
            .collect()
    }

    #[test]
    fn instruction_with_hints_is_one_ident() {
        let k = kinds("@!%p1 ld.global.L2::cache_hint.v4.u32 {%r1,%r2}, [%rd1+-4];");
        assert_eq!(k[0], (TokKind::Punct(b'@'), "@"));
        assert_eq!(k[1], (TokKind::Punct(b'!'), "!"));
        assert_eq!(k[2], (TokKind::Ident, "%p1"));
        assert_eq!(k[3], (TokKind::Ident, "ld.global.L2::cache_hint.v4.u32"));
        assert!(k.contains(&(TokKind::Num, "4")));
        assert_eq!(k.last().unwrap().0, TokKind::Eof);
    }

    #[test]
    fn directives_labels_and_comments() {
        let k = kinds(".reg .shared::cta x; // c\n$L__BB0_1: /* multi\nline */ .b8 1.5e-3");
        assert_eq!(k[0], (TokKind::Dir, ".reg"));
        assert_eq!(k[1], (TokKind::Dir, ".shared::cta"));
        assert_eq!(k[4], (TokKind::Ident, "$L__BB0_1"));
        assert_eq!(k[5], (TokKind::Punct(b':'), ":"));
        assert_eq!(k[7], (TokKind::Num, "1.5e-3"));
        let toks = lex(".a\n  .b").unwrap();
        assert_eq!((toks[1].line, toks[1].col), (2, 3));
    }

    #[test]
    fn bad_input_is_positioned() {
        let e = lex("mov.u32 %r1, #3;").unwrap_err();
        assert_eq!((e.line, e.col), (1, 14));
        assert!(lex("/* open").is_err());
        assert!(lex("\"open").is_err());
        assert!(lex("é").is_err());
    }

    #[test]
    fn nul_ends_input_and_bom_is_skipped() {
        let k = kinds("\u{feff}ret;\0garbage \u{1}");
        assert_eq!(
            k,
            vec![
                (TokKind::Ident, "ret"),
                (TokKind::Punct(b';'), ";"),
                (TokKind::Eof, "")
            ]
        );
    }

    #[test]
    fn numbers() {
        use Number::*;
        assert_eq!(
            parse_number("0x1F"),
            Some(Int {
                value: 31,
                unsigned: false
            })
        );
        assert_eq!(
            parse_number("017"),
            Some(Int {
                value: 15,
                unsigned: false
            })
        );
        assert_eq!(
            parse_number("0b101U"),
            Some(Int {
                value: 5,
                unsigned: true
            })
        );
        assert_eq!(
            parse_number("18446744073709551615"),
            Some(Int {
                value: u64::MAX,
                unsigned: true
            })
        );
        assert_eq!(parse_number("0f3F800000"), Some(F32(0x3F80_0000)));
        assert_eq!(
            parse_number("0D3FF0000000000000"),
            Some(F64(0x3FF0_0000_0000_0000))
        );
        assert_eq!(parse_number("1.5"), Some(Dec(1.5f64.to_bits())));
        assert_eq!(parse_number("2e3"), Some(Dec(2000f64.to_bits())));
        assert_eq!(parse_number("0f3F80"), None);
        assert_eq!(parse_number("12abc"), None);
        assert_eq!(parse_number("99999999999999999999999"), None);
        assert_eq!(parse_number("09"), None);
    }
}
