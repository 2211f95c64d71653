//! The fatbin container: what `nvcc -fatbin` writes and what host executables embed in
//! `.nv_fatbin`, holding PTX and cubin images for several architectures.
//!
//! Layout (little-endian), as produced by the CUDA toolchain:
//!
//! ```text
//! header (16 bytes): u32 magic 0xBA55ED50, u16 version (1), u16 header size (16),
//!                    u64 size of the entries that follow the header
//! entry header (64 bytes, more when it carries extra fields or strings):
//!   0x00 u16 kind (1 PTX, 2 ELF cubin, 4 old cubin, 8 NVVM IR)   0x02 u16 version
//!   0x04 u32 header size          0x08 u64 payload size (padded to 8)
//!   0x10 u32 compressed size      0x14 u32 offset of the options-string descriptor
//!   0x18 u16 minor, u16 major (PTX ISA version for PTX)          0x1c u32 SM number
//!   0x20 u32 identifier offset    0x24 u32 identifier length
//!   0x28 u64 flags                0x30 u64 reserved             0x38 u64 uncompressed size
//! payload (payload size bytes), then the next entry
//! ```
//!
//! Flags: 0x1 64-bit addresses, 0x2 debug info, 0x4 CUDA, 0x8 OpenCL, 0x10/0x20/0x40 host
//! Linux/Mac/Windows, 0xf00 optimisation level, 0x1000/0x2000 LZ4 block compression,
//! 0x8000 zstd compression.

use std::borrow::Cow;

use super::compress;
use super::read::{cstr, to_usize, Bytes};
use super::Error;

/// The first four bytes of every fatbin (`0xBA55ED50` little-endian).
pub const FATBIN_MAGIC: u32 = 0xBA55_ED50;
const HEADER_LEN: usize = 16;
const ENTRY_LEN: usize = 64;

/// Entry flag: the code uses 64-bit addresses.
pub const FLAG_64BIT: u64 = 0x1;
/// Entry flag: the code carries debug information (`-G`).
pub const FLAG_DEBUG: u64 = 0x2;
/// Entry flag: the payload is LZ4-compressed (older toolchains).
pub const FLAG_COMPRESSED_OLD: u64 = 0x1000;
/// Entry flag: the payload is LZ4-compressed (`-Xfatbin -compress-all`, the classic default).
pub const FLAG_COMPRESSED_LZ4: u64 = 0x2000;
/// Entry flag: the payload is zstd-compressed (`--compress-mode` in recent toolchains).
pub const FLAG_COMPRESSED_ZSTD: u64 = 0x8000;

/// A payload decoder: compressed bytes and declared size in, data or a complaint out.
type Decoder = fn(&[u8], u64) -> Result<Vec<u8>, String>;

/// Whether `bytes` start with the fatbin magic.
pub fn is_fatbin(bytes: &[u8]) -> bool {
    bytes.get(..4) == Some(&FATBIN_MAGIC.to_le_bytes()[..])
}

/// What an entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// PTX text for a virtual architecture; the CPU device runs this.
    Ptx,
    /// A cubin (ELF) for a real architecture.
    Elf,
    /// The pre-ELF cubin format, no longer generated.
    OldCubin,
    /// NVVM IR for link-time optimisation (`-dlto`).
    NvvmIr,
    /// A kind this reader does not know.
    Other(u16),
}

impl EntryKind {
    fn from_raw(v: u16) -> EntryKind {
        match v {
            1 => EntryKind::Ptx,
            2 => EntryKind::Elf,
            4 => EntryKind::OldCubin,
            8 => EntryKind::NvvmIr,
            v => EntryKind::Other(v),
        }
    }

    /// A short name for listings (`ptx`, `elf`, …).
    pub fn name(self) -> Cow<'static, str> {
        match self {
            EntryKind::Ptx => "ptx".into(),
            EntryKind::Elf => "elf".into(),
            EntryKind::OldCubin => "old-cubin".into(),
            EntryKind::NvvmIr => "nvvm-ir".into(),
            EntryKind::Other(v) => format!("kind-{v}").into(),
        }
    }
}

/// How an entry's payload is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Stored as is.
    None,
    /// nvcc's classic fatbin compression: one raw LZ4 block.
    Lz4,
    /// zstd frames (CUDA 12.4+ `--compress-mode`).
    Zstd,
}

/// One entry of a fatbin: the header fields and the stored (possibly compressed) payload.
#[derive(Debug, Clone)]
pub struct FatbinEntry<'a> {
    /// Position of this entry in its fatbin, from 0.
    pub index: usize,
    /// Absolute offset of the entry header in the input.
    pub offset: u64,
    /// What the payload holds.
    pub kind: EntryKind,
    /// The entry header's format version (0x0101 in current toolchains).
    pub version: u16,
    /// Bytes of the entry header; the payload follows it.
    pub header_size: u32,
    /// SM number: 90 for `sm_90` cubins and `compute_90` PTX.
    pub arch: u32,
    /// `(major, minor)`: the PTX ISA version for PTX entries, the ELF code version for cubins.
    pub code_version: (u16, u16),
    /// Raw flag bits (see the `FLAG_*` constants).
    pub flags: u64,
    /// Bytes the payload occupies in the container (padding included).
    pub payload_size: u64,
    /// Bytes of compressed data at the start of the payload; 0 when not compressed.
    pub compressed_size: u32,
    /// Size after decompression as declared by the header; 0 when not compressed.
    pub uncompressed_size: u64,
    /// Object identifier (the source file name nvcc recorded), when present.
    pub identifier: Option<&'a str>,
    /// ptxas options recorded for PTX entries, when present.
    pub options: Option<&'a str>,
    payload: Bytes<'a>,
}

impl<'a> FatbinEntry<'a> {
    /// `sm_90`-style architecture name, as `cuobjdump` lists entries.
    pub fn arch_name(&self) -> String {
        format!("sm_{}", self.arch)
    }

    /// Whether the code uses 64-bit addresses (always, for current toolchains).
    pub fn is_64bit(&self) -> bool {
        self.flags & FLAG_64BIT != 0
    }

    /// Whether the code was compiled with debug information (`-G`).
    pub fn has_debug_info(&self) -> bool {
        self.flags & FLAG_DEBUG != 0
    }

    /// How the payload is stored, from the flag bits.
    pub fn compression(&self) -> Compression {
        if self.flags & FLAG_COMPRESSED_ZSTD != 0 {
            Compression::Zstd
        } else if self.flags & (FLAG_COMPRESSED_LZ4 | FLAG_COMPRESSED_OLD) != 0 {
            Compression::Lz4
        } else {
            Compression::None
        }
    }

    /// Whether the payload must be decompressed before use.
    pub fn is_compressed(&self) -> bool {
        self.compression() != Compression::None
    }

    /// The payload as stored in the container, compressed or not, padding included.
    pub fn raw_payload(&self) -> &'a [u8] {
        self.payload.data
    }

    fn what(&self) -> String {
        format!(
            "fatbin entry {} ({} {})",
            self.index,
            self.kind.name(),
            self.arch_name()
        )
    }

    /// The payload, decompressed when it is stored compressed. Uncompressed payloads are
    /// borrowed and keep their alignment padding.
    pub fn data(&self) -> Result<Cow<'a, [u8]>, Error> {
        let (decode, method): (Decoder, _) = match self.compression() {
            Compression::None => return Ok(Cow::Borrowed(self.payload.data)),
            Compression::Lz4 => (compress::lz4_block, "LZ4"),
            Compression::Zstd => (compress::zstd, "zstd"),
        };
        let what = self.what();
        let stored = u64::from(self.compressed_size);
        if stored > self.payload.len() as u64 {
            return Err(Error::malformed(
                what,
                self.offset,
                format!(
                    "compressed size {stored} exceeds the payload of {} bytes",
                    self.payload.len()
                ),
            ));
        }
        let input = &self.payload.data[..stored as usize];
        decode(input, self.uncompressed_size)
            .map(Cow::Owned)
            .map_err(|problem| Error::Decompress {
                what,
                offset: self.payload.base,
                method,
                problem,
            })
    }

    /// The PTX text of a PTX entry, decompressed, cut at its terminating NUL.
    pub fn ptx(&self) -> Result<String, Error> {
        if self.kind != EntryKind::Ptx {
            return Err(Error::malformed(
                self.what(),
                self.offset,
                "is not a PTX entry",
            ));
        }
        let data = self.data()?;
        let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
        match std::str::from_utf8(&data[..end]) {
            Ok(s) => Ok(s.to_owned()),
            Err(e) => Err(Error::NotUtf8 {
                what: self.what(),
                offset: e.valid_up_to() as u64,
            }),
        }
    }
}

/// A string described by `(offset, len)` relative to the entry start, when it lies inside the
/// entry header and is UTF-8. These strings are informational, so a bad descriptor yields
/// `None` rather than rejecting the container.
fn header_str(header: &[u8], off: u32, len: u32) -> Option<&str> {
    if off == 0 || len == 0 {
        return None;
    }
    let bytes = header.get(off as usize..(off as usize).checked_add(len as usize)?)?;
    let bytes = cstr(bytes, 0).unwrap_or(bytes);
    std::str::from_utf8(bytes)
        .ok()
        .map(str::trim_end)
        .filter(|s| !s.is_empty())
}

/// One fatbin: header fields and its entries.
#[derive(Debug, Clone)]
pub struct Fatbin<'a> {
    /// Absolute offset of the fatbin header in the input.
    pub offset: u64,
    /// Container format version (1).
    pub version: u16,
    /// Bytes of the container header (16); entries follow it.
    pub header_size: u16,
    /// Total bytes: header plus entries.
    pub total_size: u64,
    /// The entries in file order.
    pub entries: Vec<FatbinEntry<'a>>,
}

impl<'a> Fatbin<'a> {
    /// Parses the single fatbin at the start of `bytes` (a `.fatbin` file). Bytes after its
    /// declared end are ignored when they are zero padding and rejected otherwise.
    pub fn parse(bytes: &'a [u8]) -> Result<Fatbin<'a>, Error> {
        let mut all = parse_all(Bytes::new(bytes, 0), "fatbin")?;
        if all.len() != 1 {
            return Err(Error::malformed(
                "fatbin",
                all.get(1).map_or(0, |f| f.offset),
                format!("holds {} fatbins back to back, expected one", all.len()),
            ));
        }
        Ok(all.remove(0))
    }

    /// Parses the fatbin at the start of `b`; returns it and the bytes it spans.
    pub(crate) fn parse_at(b: Bytes<'a>) -> Result<(Fatbin<'a>, usize), Error> {
        let what = "fatbin header";
        let magic = b.u32(0, what)?;
        if magic != FATBIN_MAGIC {
            return Err(Error::malformed(
                what,
                b.abs(0),
                format!("magic is {magic:#010x}, expected {FATBIN_MAGIC:#010x}"),
            ));
        }
        let version = b.u16(4, what)?;
        let header_size = b.u16(6, what)?;
        let fat_size = b.u64(8, what)?;
        if usize::from(header_size) < HEADER_LEN {
            return Err(Error::malformed(
                what,
                b.abs(6),
                format!("header size is {header_size}, expected at least {HEADER_LEN}"),
            ));
        }
        let body = b.slice(u64::from(header_size), fat_size, "fatbin entries")?;
        let total = usize::from(header_size) + body.len();

        let mut entries = Vec::new();
        let mut pos = 0usize;
        while pos < body.len() {
            let rest = &body.data[pos..];
            if rest.len() < ENTRY_LEN && rest.iter().all(|&b| b == 0) {
                break; // trailing alignment padding
            }
            let index = entries.len();
            let what = format!("fatbin entry {index} header");
            let kind = body.u16(pos, &what)?;
            let eversion = body.u16(pos + 2, &what)?;
            let hsize = body.u32(pos + 4, &what)?;
            if (hsize as usize) < ENTRY_LEN {
                return Err(Error::malformed(
                    what,
                    body.abs(pos),
                    format!("header size is {hsize}, expected at least {ENTRY_LEN}"),
                ));
            }
            let header = body.slice(pos as u64, u64::from(hsize), &what)?;
            let payload_size = header.u64(0x08, &what)?;
            let compressed_size = header.u32(0x10, &what)?;
            let options_desc = header.u32(0x14, &what)?;
            let minor = header.u16(0x18, &what)?;
            let major = header.u16(0x1a, &what)?;
            let arch = header.u32(0x1c, &what)?;
            let ident_off = header.u32(0x20, &what)?;
            let ident_len = header.u32(0x24, &what)?;
            let flags = header.u64(0x28, &what)?;
            let uncompressed_size = header.u64(0x38, &what)?;
            let payload_at = pos as u64 + u64::from(hsize);
            let payload = body.slice(
                payload_at,
                payload_size,
                &format!("fatbin entry {index} payload"),
            )?;
            let options = (options_desc != 0)
                .then(|| {
                    let at = options_desc as usize;
                    let off = header.u32(at, "").ok()?;
                    let len = header.u32(at + 4, "").ok()?;
                    header_str(header.data, off, len)
                })
                .flatten();
            entries.push(FatbinEntry {
                index,
                offset: body.abs(pos),
                kind: EntryKind::from_raw(kind),
                version: eversion,
                header_size: hsize,
                arch,
                code_version: (major, minor),
                flags,
                payload_size,
                compressed_size,
                uncompressed_size,
                identifier: header_str(header.data, ident_off, ident_len),
                options,
                payload,
            });
            // Both terms are bounded by `body.len()`, checked by the slices above.
            pos = to_usize(payload_at + payload_size, "fatbin entry", body.abs(pos))?;
        }
        Ok((
            Fatbin {
                offset: b.base,
                version,
                header_size,
                total_size: total as u64,
                entries,
            },
            total,
        ))
    }
}

impl Fatbin<'_> {
    /// Whether the fatbin holds code for kernels: a PTX entry declaring an `.entry`, or a
    /// cubin defining a kernel. The toolkit's own fatbins in an executable hold neither.
    pub fn defines_kernels(&self) -> Result<bool, Error> {
        for e in &self.entries {
            let found = match e.kind {
                EntryKind::Ptx => e.ptx()?.contains(".entry"),
                EntryKind::Elf => !super::Cubin::parse(&e.data()?)?.kernels.is_empty(),
                _ => false,
            };
            if found {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The fatbin's own bytes within `input`, the buffer it was parsed from (`None` for
    /// another buffer too short to hold it).
    pub fn bytes<'b>(&self, input: &'b [u8]) -> Option<&'b [u8]> {
        let start = usize::try_from(self.offset).ok()?;
        let end = start.checked_add(usize::try_from(self.total_size).ok()?)?;
        input.get(start..end)
    }

    /// The PTX of this fatbin for a device of SM `preferred_arch`: of the PTX entries for
    /// architectures not newer than it, the highest architecture, then the newest PTX ISA.
    /// `Ok(None)` when the fatbin holds no PTX and none of its cubins defines a kernel.
    pub fn ptx_module(&self, preferred_arch: u32) -> Result<Option<String>, Error> {
        let ptx: Vec<&FatbinEntry> = self
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::Ptx)
            .collect();
        if ptx.is_empty() {
            let mut archs = Vec::new();
            for e in self.entries.iter().filter(|e| e.kind == EntryKind::Elf) {
                let data = e.data()?;
                if !super::Cubin::parse(&data)?.kernels.is_empty() {
                    archs.push(e.arch_name());
                }
            }
            if archs.is_empty() {
                return Ok(None);
            }
            archs.sort();
            archs.dedup();
            return Err(Error::NoPtx {
                archs: archs.join(", "),
            });
        }
        let best = ptx
            .iter()
            .filter(|e| e.arch <= preferred_arch)
            .max_by_key(|e| (e.arch, e.code_version));
        match best {
            Some(e) => e.ptx().map(Some),
            None => {
                let mut avail: Vec<String> =
                    ptx.iter().map(|e| format!("compute_{}", e.arch)).collect();
                avail.sort();
                avail.dedup();
                Err(Error::NoCompatiblePtx {
                    available: avail.join(", "),
                    wanted: preferred_arch,
                })
            }
        }
    }
}

/// Parses fatbins stored back to back (each 8-byte aligned, zero padding between them), as
/// in a `.nv_fatbin` section. `what` names the enclosing data in errors.
pub(crate) fn parse_all<'a>(b: Bytes<'a>, what: &str) -> Result<Vec<Fatbin<'a>>, Error> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    loop {
        // Skip the zero padding that aligns the next fatbin.
        pos += b.data[pos..].iter().take_while(|&&x| x == 0).count();
        if pos >= b.len() {
            return Ok(out);
        }
        let rest = Bytes::new(&b.data[pos..], b.abs(pos));
        if !is_fatbin(rest.data) {
            let found: Vec<String> = rest
                .data
                .iter()
                .take(4)
                .map(|x| format!("{x:02x}"))
                .collect();
            return Err(Error::malformed(
                what,
                rest.base,
                format!(
                    "expected a fatbin header (magic bytes 50 ed 55 ba), found {}",
                    found.join(" ")
                ),
            ));
        }
        let (fb, len) = Fatbin::parse_at(rest)?;
        out.push(fb);
        pos += len;
    }
}
