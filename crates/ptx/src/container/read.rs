//! Bounds-checked little-endian reads shared by the container parsers.
//!
//! Every read names what it was reading and where, so a truncated or corrupt container turns
//! into an [`Error::Malformed`] that tells the user which structure broke, never a panic.

use super::Error;

/// Reads `N` bytes at `off`, or `None` when they do not all lie inside `data`.
fn array<const N: usize>(data: &[u8], off: usize) -> Option<[u8; N]> {
    let end = off.checked_add(N)?;
    data.get(off..end)?.try_into().ok()
}

/// A byte slice that knows its absolute position in the input, for error messages.
#[derive(Clone, Copy)]
pub(crate) struct Bytes<'a> {
    pub data: &'a [u8],
    /// Absolute offset of `data[0]` in the user's input.
    pub base: u64,
}

impl std::fmt::Debug for Bytes<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bytes at {:#x}", self.data.len(), self.base)
    }
}

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8], base: u64) -> Self {
        Bytes { data, base }
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Absolute offset of relative position `off`.
    pub fn abs(&self, off: usize) -> u64 {
        self.base.saturating_add(off as u64)
    }

    fn short(&self, what: &str, off: usize, need: u64) -> Error {
        Error::malformed(
            what,
            self.abs(off),
            format!(
                "needs {need} bytes but only {} remain",
                self.data.len().saturating_sub(off)
            ),
        )
    }

    pub fn u8(&self, off: usize, what: &str) -> Result<u8, Error> {
        self.data
            .get(off)
            .copied()
            .ok_or_else(|| self.short(what, off, 1))
    }

    pub fn u16(&self, off: usize, what: &str) -> Result<u16, Error> {
        array(self.data, off)
            .map(u16::from_le_bytes)
            .ok_or_else(|| self.short(what, off, 2))
    }

    pub fn u32(&self, off: usize, what: &str) -> Result<u32, Error> {
        array(self.data, off)
            .map(u32::from_le_bytes)
            .ok_or_else(|| self.short(what, off, 4))
    }

    pub fn u64(&self, off: usize, what: &str) -> Result<u64, Error> {
        array(self.data, off)
            .map(u64::from_le_bytes)
            .ok_or_else(|| self.short(what, off, 8))
    }

    /// The sub-slice `[off, off + len)`, checked against the end of `data`.
    pub fn slice(&self, off: u64, len: u64, what: &str) -> Result<Bytes<'a>, Error> {
        let end = off.checked_add(len);
        match end {
            Some(end) if end <= self.data.len() as u64 => {
                // Both bounds fit in usize because they are at most `data.len()`.
                let (off, end) = (off as usize, end as usize);
                Ok(Bytes::new(&self.data[off..end], self.abs(off)))
            }
            _ => Err(Error::malformed(
                what,
                self.base.saturating_add(off),
                format!(
                    "{len} bytes run past the end of the enclosing data ({} bytes)",
                    self.data.len()
                ),
            )),
        }
    }
}

/// Converts a length read from a container into `usize`, refusing what cannot fit.
pub(crate) fn to_usize(v: u64, what: &str, at: u64) -> Result<usize, Error> {
    usize::try_from(v)
        .map_err(|_| Error::malformed(what, at, format!("size {v} does not fit in memory")))
}

/// The NUL-terminated string at `off` in a string table, or `None` when out of range.
pub(crate) fn cstr(table: &[u8], off: usize) -> Option<&[u8]> {
    let rest = table.get(off..)?;
    let end = rest.iter().position(|&b| b == 0)?;
    Some(&rest[..end])
}
