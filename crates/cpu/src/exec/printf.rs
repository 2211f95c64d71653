//! Device-side `printf`: the formatting of CUDA's `vprintf(format, args)` system call.
//!
//! nvcc packs a `printf` call's arguments into a local buffer, each at an offset aligned to its
//! size (C's default promotions apply: `float` arrives as `double`, `char` and `short` as `int`),
//! and calls `vprintf` with the format string's address and the buffer's. The conversions are
//! C's, with `long` 64 bits wide as on the device; the result is the number of arguments the
//! format consumed, which is what the device's `printf` returns.

use crate::Error;

/// Reads the argument buffer: `(offset, bytes)` → the little-endian value there.
pub(super) type ArgRead<'a> = dyn FnMut(u64, u32) -> Result<u64, Error> + 'a;
/// Reads the NUL-terminated string at a device address (`%s`).
pub(super) type StrRead<'a> = dyn FnMut(u64) -> Result<Vec<u8>, Error> + 'a;

/// A conversion's flags, width and precision.
#[derive(Default, Clone, Copy)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    alt: bool,
    zero: bool,
    width: usize,
    precision: Option<usize>,
}

impl Spec {
    /// What precedes a signed number's digits: `-`, or `+` / space by the flags.
    fn sign(&self, negative: bool) -> &'static str {
        if negative {
            "-"
        } else if self.plus {
            "+"
        } else if self.space {
            " "
        } else {
            ""
        }
    }
}

/// Appends `fmt` formatted with the arguments `arg` reads to `out`; returns how many arguments
/// it consumed.
pub(super) fn format(
    fmt: &[u8],
    arg: &mut ArgRead,
    string: &mut StrRead,
    out: &mut Vec<u8>,
) -> Result<i32, Error> {
    let mut offset = 0u64;
    let mut count = 0i32;
    // The next argument of `bytes`, aligned to its size.
    let mut next = |bytes: u32, count: &mut i32| -> Result<u64, Error> {
        offset = offset.next_multiple_of(bytes as u64);
        let v = arg(offset, bytes)?;
        offset += bytes as u64;
        *count += 1;
        Ok(v)
    };
    let mut i = 0;
    while i < fmt.len() {
        let c = fmt[i];
        i += 1;
        if c != b'%' {
            out.push(c);
            continue;
        }
        let start = i - 1;
        if fmt.get(i) == Some(&b'%') {
            i += 1;
            out.push(b'%');
            continue;
        }
        let mut s = Spec::default();
        while let Some(&f) = fmt.get(i) {
            match f {
                b'-' => s.left = true,
                b'+' => s.plus = true,
                b' ' => s.space = true,
                b'#' => s.alt = true,
                b'0' => s.zero = true,
                _ => break,
            }
            i += 1;
        }
        if fmt.get(i) == Some(&b'*') {
            i += 1;
            let w = next(4, &mut count)? as u32 as i32;
            s.left |= w < 0;
            s.width = (w.unsigned_abs() as usize).min(MAX_FIELD);
        } else {
            s.width = digits(fmt, &mut i);
        }
        let mut verbatim = false;
        if fmt.get(i) == Some(&b'.') {
            i += 1;
            // The device takes no precision from the arguments: `%.*f` is printed as written.
            verbatim = fmt.get(i) == Some(&b'*');
            s.precision = Some(digits(fmt, &mut i));
        }
        // Length: `hh`, `h` (the value arrives as an `int`), `l`, `ll`, `j`, `z`, `t` (64 bits).
        let mut wide = false;
        let mut narrow = 0u32;
        while let Some(&m) = fmt.get(i) {
            match m {
                b'h' => narrow += 1,
                b'l' | b'j' | b'z' | b't' | b'L' | b'q' => wide = true,
                _ => break,
            }
            i += 1;
        }
        let Some(&conv) = fmt.get(i) else {
            break;
        };
        i += 1;
        let int_bytes = if wide { 8 } else { 4 };
        if verbatim {
            out.extend_from_slice(&fmt[start..i]);
            continue;
        }
        match conv {
            b'd' | b'i' => {
                let raw = next(int_bytes, &mut count)?;
                let v = match (wide, narrow) {
                    (true, _) => raw as i64,
                    (false, 0) => raw as u32 as i32 as i64,
                    (false, 1) => raw as u16 as i16 as i64,
                    (false, _) => raw as u8 as i8 as i64,
                };
                let sign = s.sign(v < 0);
                let body = int_digits(v.unsigned_abs(), 10, false, s.precision);
                pad_number(out, &s, sign, "", &body, s.precision.is_none());
            }
            b'u' | b'o' | b'x' | b'X' => {
                let raw = next(int_bytes, &mut count)?;
                let v = match (wide, narrow) {
                    (true, _) => raw,
                    (false, 0) => raw as u32 as u64,
                    (false, 1) => raw as u16 as u64,
                    (false, _) => raw as u8 as u64,
                };
                let (radix, upper) = match conv {
                    b'u' => (10, false),
                    b'o' => (8, false),
                    b'x' => (16, false),
                    _ => (16, true),
                };
                let mut body = int_digits(v, radix, upper, s.precision);
                let mut prefix = "";
                if s.alt && conv == b'o' && !body.starts_with('0') {
                    body.insert(0, '0');
                }
                if s.alt && v != 0 && radix == 16 {
                    prefix = if upper { "0X" } else { "0x" };
                }
                pad_number(out, &s, "", prefix, &body, s.precision.is_none());
            }
            b'c' => {
                let v = next(4, &mut count)? as u8;
                pad(out, &s, &[v]);
            }
            b's' => {
                let a = next(8, &mut count)?;
                let mut text = if a == 0 {
                    b"(null)".to_vec()
                } else {
                    string(a)?
                };
                if let Some(p) = s.precision {
                    text.truncate(p);
                }
                pad(out, &s, &text);
            }
            b'p' => match next(8, &mut count)? {
                0 => pad(out, &s, b"(nil)"),
                v => pad_number(out, &s, "", "0x", &format!("{v:x}"), false),
            },
            b'f' | b'F' | b'e' | b'E' | b'g' | b'G' | b'a' | b'A' => {
                let v = f64::from_bits(next(8, &mut count)?);
                let sign = s.sign(v.is_sign_negative());
                let upper = conv.is_ascii_uppercase();
                if !v.is_finite() {
                    let t = if v.is_nan() { "nan" } else { "inf" };
                    let t = if upper { t.to_uppercase() } else { t.into() };
                    pad_number(out, &s, sign, "", &t, false);
                    continue;
                }
                let a = v.abs();
                let (prefix, body) = match conv.to_ascii_lowercase() {
                    b'f' => ("", fixed(a, s.precision.unwrap_or(6), s.alt)),
                    b'e' => ("", exponential(a, s.precision.unwrap_or(6), s.alt)),
                    b'g' => ("", general(a, s.precision.unwrap_or(6), s.alt)),
                    _ => ("0x", hex_float(a, s.precision, s.alt)),
                };
                let body = if upper { body.to_uppercase() } else { body };
                let prefix = if upper && !prefix.is_empty() {
                    "0X"
                } else {
                    prefix
                };
                pad_number(out, &s, sign, prefix, &body, true);
            }
            b'n' => {
                // Writing through a pointer is not part of the device's printf: consumed only.
                next(8, &mut count)?;
            }
            // `%5%` and unknown conversions are printed as written.
            _ => out.extend_from_slice(&fmt[start..i]),
        }
    }
    Ok(count)
}

/// The widest field and the longest precision honoured: a format string is device data, and
/// `%999999999d` must not make the host allocate gigabytes.
const MAX_FIELD: usize = 4096;

fn digits(fmt: &[u8], i: &mut usize) -> usize {
    let mut n = 0usize;
    while let Some(d) = fmt.get(*i).filter(|c| c.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add((d - b'0') as usize);
        *i += 1;
    }
    n.min(MAX_FIELD)
}

/// The digits of `v` with at least `precision` of them (none for a zero of precision 0).
fn int_digits(v: u64, radix: u32, upper: bool, precision: Option<usize>) -> String {
    let mut s = match radix {
        8 => format!("{v:o}"),
        16 if upper => format!("{v:X}"),
        16 => format!("{v:x}"),
        _ => v.to_string(),
    };
    match precision {
        Some(0) if v == 0 => s.clear(),
        Some(p) if s.len() < p => s.insert_str(0, &"0".repeat(p - s.len())),
        _ => {}
    }
    s
}

/// Pads a number to the width: spaces outside the sign and prefix, or zeros inside them with
/// the `0` flag where `zeros_allowed` (`-` turns it off, and so does a precision for integers).
fn pad_number(
    out: &mut Vec<u8>,
    s: &Spec,
    sign: &str,
    prefix: &str,
    body: &str,
    zeros_allowed: bool,
) {
    let len = sign.len() + prefix.len() + body.len();
    let fill = s.width.saturating_sub(len);
    let zeros = s.zero && !s.left && zeros_allowed;
    if !s.left && !zeros {
        out.extend(std::iter::repeat_n(b' ', fill));
    }
    out.extend_from_slice(sign.as_bytes());
    out.extend_from_slice(prefix.as_bytes());
    if zeros {
        out.extend(std::iter::repeat_n(b'0', fill));
    }
    out.extend_from_slice(body.as_bytes());
    if s.left {
        out.extend(std::iter::repeat_n(b' ', fill));
    }
}

fn pad(out: &mut Vec<u8>, s: &Spec, text: &[u8]) {
    let fill = s.width.saturating_sub(text.len());
    if !s.left {
        out.extend(std::iter::repeat_n(b' ', fill));
    }
    out.extend_from_slice(text);
    if s.left {
        out.extend(std::iter::repeat_n(b' ', fill));
    }
}

/// `%f` of a finite non-negative value: exact decimal rounding, as C's (round half to even on
/// the binary value).
fn fixed(a: f64, precision: usize, alt: bool) -> String {
    let mut s = format!("{a:.precision$}");
    if alt && precision == 0 {
        s.push('.');
    }
    s
}

/// `%e`: one digit, the point, `precision` digits, and an exponent of at least two digits.
fn exponential(a: f64, precision: usize, alt: bool) -> String {
    let s = format!("{a:.precision$e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut m = mantissa.to_string();
    if alt && precision == 0 {
        m.push('.');
    }
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{m}e{sign}{:02}", exp.unsigned_abs())
}

/// `%g`: `%e` or `%f` by the exponent the value has after rounding to `precision` significant
/// digits, without trailing zeros unless `#`.
fn general(a: f64, precision: usize, alt: bool) -> String {
    let p = precision.max(1);
    let e = format!("{a:.prec$e}", prec = p - 1);
    let x: i64 = e
        .split_once('e')
        .and_then(|(_, x)| x.parse().ok())
        .unwrap_or(0);
    let mut s = if (x as i128) < p as i128 && x >= -4 {
        fixed(a, (p as i64 - 1 - x) as usize, alt)
    } else {
        exponential(a, p - 1, alt)
    };
    if !alt {
        let (mantissa, exp) = match s.find('e') {
            Some(k) => (s[..k].to_string(), s[k..].to_string()),
            None => (s.clone(), String::new()),
        };
        let mantissa = if mantissa.contains('.') {
            mantissa
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string()
        } else {
            mantissa
        };
        s = mantissa + &exp;
    }
    s
}

/// `%a` of a finite non-negative value: `1.hhhp±d` (normal) or `0.hhhp-1022` (subnormal), the
/// hexadecimal digits rounded half to even to `precision` or exact without one.
fn hex_float(a: f64, precision: Option<usize>, alt: bool) -> String {
    let bits = a.to_bits();
    let (lead, mut frac, exp) = match (bits >> 52) as i64 {
        0 if bits == 0 => (0u64, 0u64, 0i64),
        0 => (0, bits & ((1 << 52) - 1), -1022),
        e => (1, bits & ((1 << 52) - 1), e - 1023),
    };
    let mut lead = lead;
    let mut digits = 13usize;
    if let Some(p) = precision.filter(|&p| p < 13) {
        let drop = 4 * (13 - p) as u32;
        let half = 1u64 << (drop - 1);
        let rest = frac & ((1u64 << drop) - 1);
        frac >>= drop;
        if rest > half || (rest == half && frac & 1 == 1) {
            frac += 1;
            if frac >> (4 * p) != 0 {
                frac = 0;
                lead += 1;
            }
        }
        digits = p;
    }
    let mut h = if digits == 0 {
        String::new()
    } else {
        format!("{frac:0digits$x}")
    };
    if precision.is_none() {
        h = h.trim_end_matches('0').to_string();
    }
    let point = if !h.is_empty() || alt { "." } else { "" };
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{lead}{point}{h}p{sign}{}", exp.unsigned_abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Formats with the arguments laid out as nvcc lays them out.
    fn printf(fmt: &str, args: &[Arg]) -> (String, i32) {
        let mut buf = Vec::new();
        for a in args {
            let (bytes, v) = match *a {
                Arg::I(v) => (4, v as u32 as u64),
                Arg::L(v) => (8, v as u64),
                Arg::D(v) => (8, v.to_bits()),
                Arg::P(v) => (8, v),
            };
            while buf.len() % bytes != 0 {
                buf.push(0xee);
            }
            buf.extend_from_slice(&v.to_le_bytes()[..bytes]);
        }
        let mut read = |o: u64, n: u32| -> Result<u64, Error> {
            let mut b = [0u8; 8];
            let o = o as usize;
            let end = (o + n as usize).min(buf.len());
            if o < end {
                b[..end - o].copy_from_slice(&buf[o..end]);
            }
            Ok(u64::from_le_bytes(b))
        };
        let mut strings = |a: u64| -> Result<Vec<u8>, Error> {
            Ok(match a {
                1 => b"alpha".to_vec(),
                _ => b"".to_vec(),
            })
        };
        let mut out = Vec::new();
        let n = format(fmt.as_bytes(), &mut read, &mut strings, &mut out).unwrap();
        (String::from_utf8(out).unwrap(), n)
    }

    #[derive(Clone, Copy)]
    enum Arg {
        I(i32),
        L(i64),
        D(f64),
        P(u64),
    }
    use Arg::*;

    #[test]
    fn integers_as_the_gpu_prints_them() {
        // Lines of the GPU's output for kernels/printf.cu (gold/printf.*.stdout.txt).
        let fmt = "t%d int: %d|%i|%u|%x|%X|%o|%5d|%-5d|%05d|%+d|% d|%.3d|%#x|%#o\n";
        let row = |i: i32| {
            let mut a = vec![I(1), I(i), I(i), I(i), I(i), I(i), I(i), I(i), I(i), I(i)];
            a.extend([I(i), I(i), I(i), I(i), I(i)]);
            a
        };
        assert_eq!(
            printf(fmt, &row(-1)),
            (
                "t1 int: -1|-1|4294967295|ffffffff|FFFFFFFF|37777777777|   -1|-1   |-0001|-1|-1\
                 |-001|0xffffffff|037777777777\n"
                    .into(),
                15
            )
        );
        assert_eq!(
            printf(fmt, &row(0)).0,
            "t1 int: 0|0|0|0|0|0|    0|0    |00000|+0| 0|000|0|0\n"
        );
        assert_eq!(
            printf("%ld|%llu|%llx|%20lld|%-20lld|%hd|%hhd|%%", &[
                L(-1000003),
                L(-1000003),
                L(-1000003),
                L(-1000003),
                L(-1000003),
                I(-123456),
                I(-123456)
            ])
            .0,
            "-1000003|18446744073708551613|fffffffffff0bdbd|            -1000003|-1000003            \
             |7616|-64|%"
        );
    }

    #[test]
    fn floating_point_as_c_prints_it() {
        let fmt = "%f|%.2f|%10.4f|%-12.3e|%E|%g|%G|%#g|%.0f|%.10g|%+.1e";
        let row = |d: f64| vec![D(d); 11];
        assert_eq!(
            printf(fmt, &row(-2.25e-5)).0,
            "-0.000023|-0.00|   -0.0000|-2.250e-05  |-2.250000E-05|-2.25e-05|-2.25E-05\
             |-2.25000e-05|-0|-2.25e-05|-2.3e-05"
        );
        assert_eq!(
            printf(fmt, &row(123456789.125)).0,
            "123456789.125000|123456789.12|123456789.1250|1.235e+08   |1.234568E+08|1.23457e+08\
             |1.23457E+08|1.23457e+08|123456789|123456789.1|+1.2e+08"
        );
        assert_eq!(
            printf(fmt, &row(-0.0)).0,
            "-0.000000|-0.00|   -0.0000|-0.000e+00  |-0.000000E+00|-0|-0|-0.00000|-0|-0|-0.0e+00"
        );
        assert_eq!(
            printf("%f|%e|%g|%8.3f|%-6g|", &[D(f64::NEG_INFINITY); 5]).0,
            "-inf|-inf|-inf|    -inf|-inf  |"
        );
        assert_eq!(
            printf("%f|%e|%g|%8.3f|%-6g|", &[D(f64::from_bits(1)); 5]).0,
            "0.000000|4.940656e-324|4.94066e-324|   0.000|4.94066e-324|"
        );
        assert_eq!(
            printf("%.3g|%12.5g|%08.2f|%G", &[D(0.1); 4]).0,
            "0.1|         0.1|00000.10|0.1"
        );
        assert_eq!(printf("%g|%g", &[D(1e-5), D(100000.0)]).0, "1e-05|100000");
        assert_eq!(
            printf("%g|%.0e|%#.0f", &[D(1e6), D(2.5), D(3.0)]).0,
            "1e+06|2e+00|3."
        );
        assert_eq!(
            printf(
                "%a|%a|%.1a|%A|%a",
                &[D(1.5), D(0.1), D(1.96875), D(-2.0), D(0.0)]
            )
            .0,
            "0x1.8p+0|0x1.999999999999ap-4|0x2.0p+0|-0X1P+1|0x0p+0"
        );
    }

    proptest::proptest! {
        /// Any format and any argument bytes: no panic, output bounded by the format's length
        /// and the field limit.
        #[test]
        fn any_format_formats(fmt in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
                              args in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let mut read = |o: u64, n: u32| -> Result<u64, Error> {
                let mut b = [0u8; 8];
                for (k, x) in b.iter_mut().take(n as usize).enumerate() {
                    *x = args.get(o as usize + k).copied().unwrap_or(0);
                }
                Ok(u64::from_le_bytes(b))
            };
            let mut strings = |a: u64| -> Result<Vec<u8>, Error> { Ok(vec![b'x'; (a % 100) as usize]) };
            let mut out = Vec::new();
            let n = format(&fmt, &mut read, &mut strings, &mut out).unwrap();
            proptest::prop_assert!(n >= 0 && n as usize <= fmt.len());
            proptest::prop_assert!(out.len() <= fmt.len() * (MAX_FIELD + 400));
        }
    }

    #[test]
    fn strings_characters_pointers_and_stars() {
        assert_eq!(
            printf(
                "[%s] [%.2s] [%8s] [%-8s] [%c%c] [%s]",
                &[P(1), P(1), P(1), P(1), I('x' as i32), I('z' as i32), P(0)]
            )
            .0,
            "[alpha] [al] [   alpha] [alpha   ] [xz] [(null)]"
        );
        // As the GPU prints them (gold/printf.*.stdout.txt, `printf_edges`).
        assert_eq!(
            printf(
                "[%*d] [%-*d] [%.*f]",
                &[I(5), I(42), I(4), I(7), I(2), D(1.0)]
            ),
            ("[   42] [7   ] [%.*f]".into(), 4)
        );
        assert_eq!(
            printf("[%p] [%p]", &[P(0), P(0x1234)]).0,
            "[(nil)] [0x1234]"
        );
        assert_eq!(
            printf("[%5c] [%-3c] [%5%]", &[I('x' as i32), I('y' as i32)]).0,
            "[    x] [y  ] [%5%]"
        );
        assert_eq!(printf("no arguments\n", &[]), ("no arguments\n".into(), 0));
        assert_eq!(printf("100%% %-4y|", &[]).0, "100% %-4y|");
        assert_eq!(printf("%f|%e", &[D(-f64::NAN), D(f64::NAN)]).0, "-nan|nan");
    }
}
