//! Kernel arguments written as text: the syntax of `fcuda run` and the conformance harness.
//!
//! One spec is one kernel parameter, in order:
//!
//! | spec | parameter |
//! | --- | --- |
//! | `u8:…` `i8:…` `u16:…` `i16:…` `u32:…` `i32:…` `u64:…` `i64:…` | an integer scalar, decimal or `0x` hex, `-` allowed for signed types (and for unsigned as two's complement of the same width, e.g. `u32:-1`) |
//! | `f32:…` `f64:…` | a float: decimal (`1.5`, `-2e-3`, `inf`, `nan`) or its exact bits in `0x` hex (`f32:0x3f800000`) |
//! | `raw:HEX` | those bytes as one parameter (a struct passed by value); spaces and `_` between digit pairs are allowed |
//! | `buf:FILE` | a device buffer initialised from the file's bytes; its device address is passed |
//! | `zeros:BYTES` | a zeroed device buffer of that many bytes; its device address is passed |
//!
//! Parsing is pure (no device, no file access), so specs can be checked before anything runs.

use std::path::PathBuf;

use crate::error::{Error, ErrorCode, Result};

/// A scalar kernel argument with its exact width.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    /// `u8:VALUE`.
    U8(u8),
    /// `i8:VALUE`.
    I8(i8),
    /// `u16:VALUE`.
    U16(u16),
    /// `i16:VALUE`.
    I16(i16),
    /// `u32:VALUE`.
    U32(u32),
    /// `i32:VALUE`.
    I32(i32),
    /// `u64:VALUE`.
    U64(u64),
    /// `i64:VALUE`.
    I64(i64),
    /// `f32:VALUE`.
    F32(f32),
    /// `f64:VALUE`.
    F64(f64),
}

impl Scalar {
    /// The little-endian bytes the kernel sees.
    pub fn to_bytes(self) -> Vec<u8> {
        match self {
            Scalar::U8(v) => v.to_le_bytes().to_vec(),
            Scalar::I8(v) => v.to_le_bytes().to_vec(),
            Scalar::U16(v) => v.to_le_bytes().to_vec(),
            Scalar::I16(v) => v.to_le_bytes().to_vec(),
            Scalar::U32(v) => v.to_le_bytes().to_vec(),
            Scalar::I32(v) => v.to_le_bytes().to_vec(),
            Scalar::U64(v) => v.to_le_bytes().to_vec(),
            Scalar::I64(v) => v.to_le_bytes().to_vec(),
            Scalar::F32(v) => v.to_bits().to_le_bytes().to_vec(),
            Scalar::F64(v) => v.to_bits().to_le_bytes().to_vec(),
        }
    }

    /// The spec's type name (`"u32"`, `"f64"`, …).
    pub fn type_name(self) -> &'static str {
        match self {
            Scalar::U8(_) => "u8",
            Scalar::I8(_) => "i8",
            Scalar::U16(_) => "u16",
            Scalar::I16(_) => "i16",
            Scalar::U32(_) => "u32",
            Scalar::I32(_) => "i32",
            Scalar::U64(_) => "u64",
            Scalar::I64(_) => "i64",
            Scalar::F32(_) => "f32",
            Scalar::F64(_) => "f64",
        }
    }
}

/// One parsed argument spec.
#[derive(Debug, Clone, PartialEq)]
pub enum ArgSpec {
    /// `TYPE:VALUE`.
    Scalar(Scalar),
    /// `raw:HEX`: bytes passed by value as one parameter.
    Raw(Vec<u8>),
    /// `buf:FILE`: a device buffer holding the file's bytes.
    Buffer(PathBuf),
    /// `zeros:BYTES`: a zeroed device buffer.
    Zeros(u64),
}

impl ArgSpec {
    /// Whether the argument becomes a device buffer (and so an `out_K.bin` file).
    pub fn is_buffer(&self) -> bool {
        matches!(self, ArgSpec::Buffer(_) | ArgSpec::Zeros(_))
    }
}

impl std::str::FromStr for ArgSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<ArgSpec> {
        parse(s)
    }
}

fn bad(spec: &str, why: impl std::fmt::Display) -> Error {
    Error::with_detail(ErrorCode::InvalidValue, format!("argument `{spec}`: {why}"))
}

/// Parses one spec (see the module documentation for the syntax).
pub fn parse(spec: &str) -> Result<ArgSpec> {
    let Some((kind, value)) = spec.split_once(':') else {
        return Err(bad(
            spec,
            "expected TYPE:VALUE, raw:HEX, buf:FILE or zeros:BYTES",
        ));
    };
    let v = value.trim();
    let scalar = |s: Scalar| Ok(ArgSpec::Scalar(s));
    match kind.trim() {
        "u8" => scalar(Scalar::U8(int(spec, v, 8)? as u8)),
        "i8" => scalar(Scalar::I8(int(spec, v, 8)? as i8)),
        "u16" => scalar(Scalar::U16(int(spec, v, 16)? as u16)),
        "i16" => scalar(Scalar::I16(int(spec, v, 16)? as i16)),
        "u32" => scalar(Scalar::U32(int(spec, v, 32)? as u32)),
        "i32" => scalar(Scalar::I32(int(spec, v, 32)? as i32)),
        "u64" => scalar(Scalar::U64(int(spec, v, 64)?)),
        "i64" => scalar(Scalar::I64(int(spec, v, 64)? as i64)),
        "f32" => {
            if let Some(h) = hex_digits(v) {
                let bits = u32::from_str_radix(h, 16)
                    .map_err(|_| bad(spec, "hex bits must fit in 32 bits"))?;
                scalar(Scalar::F32(f32::from_bits(bits)))
            } else {
                let x = v
                    .parse::<f32>()
                    .map_err(|_| bad(spec, "not a number (decimal, inf, nan, or 0x bits)"))?;
                scalar(Scalar::F32(x))
            }
        }
        "f64" => {
            if let Some(h) = hex_digits(v) {
                let bits = u64::from_str_radix(h, 16)
                    .map_err(|_| bad(spec, "hex bits must fit in 64 bits"))?;
                scalar(Scalar::F64(f64::from_bits(bits)))
            } else {
                let x = v
                    .parse::<f64>()
                    .map_err(|_| bad(spec, "not a number (decimal, inf, nan, or 0x bits)"))?;
                scalar(Scalar::F64(x))
            }
        }
        "raw" => Ok(ArgSpec::Raw(parse_hex_bytes(spec, v)?)),
        "buf" => {
            if value.is_empty() {
                return Err(bad(spec, "missing file name"));
            }
            Ok(ArgSpec::Buffer(PathBuf::from(value)))
        }
        "zeros" => Ok(ArgSpec::Zeros(count(spec, v, 64)?)),
        other => Err(bad(
            spec,
            format!("unknown kind `{other}` (u8 i8 u16 i16 u32 i32 u64 i64 f32 f64 raw buf zeros)"),
        )),
    }
}

fn hex_digits(v: &str) -> Option<&str> {
    v.strip_prefix("0x").or_else(|| v.strip_prefix("0X"))
}

/// Parses an integer of `bits` width; returns its two's-complement bit pattern zero-extended.
/// Accepts the full unsigned and signed ranges of that width.
fn int(spec: &str, v: &str, bits: u32) -> Result<u64> {
    let (neg, digits) = match v.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, v.strip_prefix('+').unwrap_or(v)),
    };
    let digits = digits.replace('_', "");
    let mag = if let Some(h) = hex_digits(&digits) {
        u64::from_str_radix(h, 16)
    } else {
        digits.parse::<u64>()
    }
    .map_err(|_| bad(spec, "not an integer (decimal or 0x hex)"))?;
    if digits.is_empty() {
        return Err(bad(spec, "missing value"));
    }
    let max_unsigned: u64 = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let min_magnitude: u64 = 1u64 << (bits - 1); // |most negative value|
    let mask = max_unsigned;
    if neg {
        if mag > min_magnitude {
            return Err(bad(spec, format!("{v} does not fit in {bits} bits")));
        }
        Ok(mag.wrapping_neg() & mask)
    } else {
        if mag > max_unsigned {
            return Err(bad(spec, format!("{v} does not fit in {bits} bits")));
        }
        Ok(mag)
    }
}

/// A non-negative integer of `bits` width (sizes and dimensions).
fn count(spec: &str, v: &str, bits: u32) -> Result<u64> {
    if v.starts_with('-') {
        return Err(bad(spec, "must not be negative"));
    }
    int(spec, v, bits)
}

fn parse_hex_bytes(spec: &str, v: &str) -> Result<Vec<u8>> {
    let v = hex_digits(v).unwrap_or(v);
    let digits: Vec<u8> = v.bytes().filter(|b| !matches!(b, b' ' | b'_')).collect();
    if digits.is_empty() {
        return Err(bad(spec, "no bytes given"));
    }
    if digits.len() % 2 != 0 {
        return Err(bad(spec, "odd number of hex digits (two per byte)"));
    }
    let nib = |b: u8| -> Result<u8> {
        (b as char)
            .to_digit(16)
            .map(|d| d as u8)
            .ok_or_else(|| bad(spec, format!("`{}` is not a hex digit", b as char)))
    };
    digits
        .chunks(2)
        .map(|p| Ok(nib(p[0])? << 4 | nib(p[1])?))
        .collect()
}

/// Parses a launch dimension `X[,Y[,Z]]` (what `--grid` and `--block` take).
pub fn parse_dim(s: &str) -> Result<crate::Dim3> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(Error::with_detail(
            ErrorCode::InvalidValue,
            format!("dimension `{s}`: expected X, X,Y or X,Y,Z"),
        ));
    }
    let mut d = [1u32; 3];
    for (i, p) in parts.iter().enumerate() {
        d[i] = count(s, p, 32)? as u32;
    }
    Ok(crate::Dim3::from(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sc(s: &str) -> Scalar {
        match parse(s).unwrap() {
            ArgSpec::Scalar(x) => x,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn integer_scalars() {
        assert_eq!(sc("u32:42"), Scalar::U32(42));
        assert_eq!(sc("u32:0xFFFFFFFF"), Scalar::U32(u32::MAX));
        assert_eq!(sc("u32:-1"), Scalar::U32(u32::MAX));
        assert_eq!(sc("i32:-2147483648"), Scalar::I32(i32::MIN));
        assert_eq!(sc("i8:-0x80"), Scalar::I8(-128));
        assert_eq!(sc("u8:255"), Scalar::U8(255));
        assert_eq!(sc("i16:0x7fff"), Scalar::I16(i16::MAX));
        assert_eq!(sc("u64:18446744073709551615"), Scalar::U64(u64::MAX));
        assert_eq!(sc("i64:-9223372036854775808"), Scalar::I64(i64::MIN));
        assert_eq!(sc("u16:1_000"), Scalar::U16(1000));
    }

    #[test]
    fn integer_range_errors() {
        for s in [
            "u8:256",
            "i8:-129",
            "u32:0x100000000",
            "i64:-9223372036854775809",
            "u64:x",
            "i32:",
            "u32:-",
        ] {
            let e = parse(s).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidValue, "{s}");
            assert!(e.to_string().contains(s), "{e}");
        }
    }

    #[test]
    fn float_scalars() {
        assert_eq!(sc("f32:1.5"), Scalar::F32(1.5));
        assert_eq!(sc("f32:0x3f800000"), Scalar::F32(1.0));
        assert_eq!(sc("f64:-2e-3"), Scalar::F64(-2e-3));
        assert_eq!(sc("f64:0x4000000000000000"), Scalar::F64(2.0));
        assert!(matches!(sc("f32:nan"), Scalar::F32(x) if x.is_nan()));
        assert_eq!(sc("f32:inf"), Scalar::F32(f32::INFINITY));
        assert!(parse("f32:one").is_err());
        assert!(parse("f32:0x123456789").is_err());
    }

    #[test]
    fn bytes_of_scalars() {
        assert_eq!(Scalar::I32(-2).to_bytes(), vec![0xfe, 0xff, 0xff, 0xff]);
        assert_eq!(Scalar::F32(1.0).to_bytes(), vec![0, 0, 0x80, 0x3f]);
        assert_eq!(Scalar::U16(0x1234).to_bytes(), vec![0x34, 0x12]);
    }

    #[test]
    fn raw_buffers_and_zeros() {
        assert_eq!(
            parse("raw:0a0B ff_00").unwrap(),
            ArgSpec::Raw(vec![10, 11, 255, 0])
        );
        assert_eq!(parse("raw:0x0102").unwrap(), ArgSpec::Raw(vec![1, 2]));
        assert!(parse("raw:123").is_err());
        assert!(parse("raw:zz").is_err());
        assert!(parse("raw:").is_err());
        assert_eq!(
            parse("buf:in/a.bin").unwrap(),
            ArgSpec::Buffer("in/a.bin".into())
        );
        assert_eq!(
            parse("buf:C:odd:name").unwrap(),
            ArgSpec::Buffer("C:odd:name".into())
        );
        assert!(parse("buf:").is_err());
        assert_eq!(parse("zeros:0x100").unwrap(), ArgSpec::Zeros(256));
        assert!(parse("zeros:-1").is_err());
        assert!(parse("zeros:4").unwrap().is_buffer());
        assert!(!parse("u8:4").unwrap().is_buffer());
    }

    #[test]
    fn unknown_kinds() {
        let e = parse("float:1").unwrap_err();
        assert!(e.to_string().contains("unknown kind `float`"), "{e}");
        let e = parse("42").unwrap_err();
        assert!(e.to_string().contains("expected TYPE:VALUE"), "{e}");
    }

    #[test]
    fn dimensions() {
        assert_eq!(parse_dim("4").unwrap(), crate::Dim3::from((4, 1, 1)));
        assert_eq!(parse_dim("4,2").unwrap(), crate::Dim3::from((4, 2, 1)));
        assert_eq!(parse_dim("4, 2 ,3").unwrap(), crate::Dim3::from((4, 2, 3)));
        assert_eq!(parse_dim("0x10").unwrap(), crate::Dim3::from((16, 1, 1)));
        for s in ["", "1,,2", "1,2,3,4", "-1", "a", "4294967296"] {
            assert!(parse_dim(s).is_err(), "{s}");
        }
    }
}
