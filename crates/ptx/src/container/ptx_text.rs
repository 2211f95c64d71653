//! Recognising PTX text among binary containers.

use super::Error;

/// Whether `bytes` look like PTX: after whitespace and comments, `.version` (or a comment,
/// which is how every compiler begins its output, before `.version`).
pub fn is_ptx(bytes: &[u8]) -> bool {
    let s = trim_start(bytes);
    s.starts_with(b"//") || s.starts_with(b"/*") || s.starts_with(b".version")
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let n = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &bytes[n..]
}

/// The PTX text of `bytes`: cut at the first NUL (the driver takes NUL-terminated strings),
/// required to be UTF-8, and to reach a `.version` directive after leading comments.
pub fn ptx_text(bytes: &[u8]) -> Result<&str, Error> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let text = std::str::from_utf8(&bytes[..end]).map_err(|e| Error::NotUtf8 {
        what: "PTX text".into(),
        offset: e.valid_up_to() as u64,
    })?;
    let mut rest = text.as_bytes();
    loop {
        rest = trim_start(rest);
        if let Some(r) = rest.strip_prefix(b"//") {
            rest = r
                .iter()
                .position(|&b| b == b'\n')
                .map_or(&[][..], |i| &r[i..]);
        } else if let Some(r) = rest.strip_prefix(b"/*") {
            match r.windows(2).position(|w| w == b"*/") {
                Some(i) => rest = &r[i + 2..],
                None => rest = &[],
            }
        } else {
            break;
        }
    }
    if rest.starts_with(b".version") {
        Ok(text)
    } else {
        Err(Error::UnknownFormat(
            "text does not reach a PTX .version directive after its leading comments".into(),
        ))
    }
}
