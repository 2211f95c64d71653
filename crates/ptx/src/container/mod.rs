//! GPU code containers: PTX text, cubins, fatbins, and host executables that embed fatbins.
//!
//! CUDA code reaches a program in several wrappings: `cuModuleLoadData` accepts PTX, a cubin
//! or a fatbin, and a CUDA executable carries fatbins in its `.nv_fatbin` section. This module
//! recognises each ([`Image::detect`]), lists what it holds (entries, kernels with their
//! parameter layouts, globals) and extracts the PTX the CPU device runs ([`ptx_for`]).
//! Corrupt or truncated input is an [`Error`] naming the structure and offset, never a panic,
//! and no allocation exceeds what the input size can justify.

#![warn(missing_docs)]

mod compress;
mod cubin;
mod elf;
mod fatbin;
mod host;
mod ptx_text;
mod read;

pub use cubin::{Attribute, Cubin, CubinGlobal, CubinKernel, CubinParam, GlobalSpace};
pub use fatbin::{
    Compression, EntryKind, Fatbin, FatbinEntry, FATBIN_MAGIC, FLAG_64BIT, FLAG_COMPRESSED_LZ4,
    FLAG_COMPRESSED_OLD, FLAG_COMPRESSED_ZSTD, FLAG_DEBUG,
};
pub use host::{HostElf, FATBIN_SECTIONS};

/// What went wrong reading a container.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The bytes are none of the formats this module reads.
    #[error("not a GPU code image: {0}")]
    UnknownFormat(String),
    /// A structure is truncated or holds impossible values.
    #[error("{what} at offset {offset:#x}: {problem}")]
    Malformed {
        /// The structure being read ("fatbin entry 2 header", "cubin .nv.info.k").
        what: String,
        /// Absolute offset in the input where it starts or broke.
        offset: u64,
        /// What was wrong or expected.
        problem: String,
    },
    /// A compressed payload does not decode.
    #[error("{what}: {method} payload at offset {offset:#x} does not decompress: {problem}")]
    Decompress {
        /// The entry ("fatbin entry 0 (elf sm_90)").
        what: String,
        /// Absolute offset of the compressed payload.
        offset: u64,
        /// "LZ4" or "zstd".
        method: &'static str,
        /// The decoder's complaint.
        problem: String,
    },
    /// Text that must be UTF-8 is not.
    #[error("{what} is not valid UTF-8 (at byte {offset})")]
    NotUtf8 {
        /// The text ("PTX text", "fatbin entry 1 (ptx sm_90)").
        what: String,
        /// Byte offset of the first invalid sequence within that text.
        offset: u64,
    },
    /// The image holds no PTX, so the CPU device cannot run it.
    #[error("the image holds only cubin for {archs}; the CPU device needs PTX")]
    NoPtx {
        /// The cubin architectures present ("sm_80, sm_90").
        archs: String,
    },
    /// The image holds PTX, but only for architectures newer than the one asked for.
    #[error("the image holds PTX only for {available}, none of it for sm_{wanted} or older")]
    NoCompatiblePtx {
        /// The PTX architectures present ("compute_90").
        available: String,
        /// The SM number asked for.
        wanted: u32,
    },
    /// The image embeds several modules (one fatbin per translation unit).
    #[error(
        "the image embeds {count} fatbins with PTX (one per translation unit); \
         load each module (Image::ptx_modules)"
    )]
    MultipleModules {
        /// How many fatbins hold PTX.
        count: usize,
    },
    /// A valid container in a variant this module does not read.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl Error {
    pub(crate) fn malformed(
        what: impl Into<String>,
        offset: u64,
        problem: impl Into<String>,
    ) -> Self {
        Error::Malformed {
            what: what.into(),
            offset,
            problem: problem.into(),
        }
    }
}

/// Which container format a byte buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageKind {
    /// PTX source text.
    Ptx,
    /// A cubin: ELF64 with `e_machine` 190.
    Cubin,
    /// A fatbin (magic `0xBA55ED50`).
    Fatbin,
    /// A host ELF (executable, shared object or object file) with embedded fatbins.
    HostElf,
}

/// A parsed GPU code image.
#[derive(Debug, Clone)]
pub enum Image<'a> {
    /// PTX text, cut at its terminating NUL.
    Ptx(&'a str),
    /// A single cubin.
    Cubin(Cubin<'a>),
    /// One or more fatbins (a `.fatbin` file holds one).
    Fatbin(Vec<Fatbin<'a>>),
    /// A host ELF and the fatbins it embeds.
    HostElf(HostElf<'a>),
}

impl<'a> Image<'a> {
    /// Recognises the container format from the bytes alone.
    pub fn detect(bytes: &[u8]) -> Result<ImageKind, Error> {
        if elf::is_elf(bytes) {
            if cubin::is_cubin(bytes) {
                return Ok(ImageKind::Cubin);
            }
            return if host::has_fatbin_section(bytes)? {
                Ok(ImageKind::HostElf)
            } else {
                Err(Error::UnknownFormat(
                    "ELF file without a .nv_fatbin or __nv_relfatbin section holds no GPU code"
                        .into(),
                ))
            };
        }
        if fatbin::is_fatbin(bytes) {
            return Ok(ImageKind::Fatbin);
        }
        if ptx_text::is_ptx(bytes) {
            return Ok(ImageKind::Ptx);
        }
        let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Err(Error::UnknownFormat(if bytes.is_empty() {
            "the image is empty".into()
        } else {
            format!(
                "starts with bytes {} (expected PTX text, an ELF cubin, a fatbin or a host ELF)",
                head.join(" ")
            )
        }))
    }

    /// Detects the format and parses the whole image.
    pub fn parse(bytes: &'a [u8]) -> Result<Image<'a>, Error> {
        Ok(match Self::detect(bytes)? {
            ImageKind::Ptx => Image::Ptx(ptx_text::ptx_text(bytes)?),
            ImageKind::Cubin => Image::Cubin(Cubin::parse(bytes)?),
            ImageKind::Fatbin => Image::Fatbin(fatbin::parse_all(
                read::Bytes::new(bytes, 0),
                "fatbin file",
            )?),
            ImageKind::HostElf => Image::HostElf(HostElf::parse(bytes)?),
        })
    }

    /// The format of this image.
    pub fn kind(&self) -> ImageKind {
        match self {
            Image::Ptx(_) => ImageKind::Ptx,
            Image::Cubin(_) => ImageKind::Cubin,
            Image::Fatbin(_) => ImageKind::Fatbin,
            Image::HostElf(_) => ImageKind::HostElf,
        }
    }

    /// The fatbins of a fatbin or host image (none for PTX and cubin).
    pub fn fatbins(&self) -> &[Fatbin<'a>] {
        match self {
            Image::Fatbin(f) => f,
            Image::HostElf(h) => &h.fatbins,
            Image::Ptx(_) | Image::Cubin(_) => &[],
        }
    }

    /// Every fatbin entry of the image, in order.
    pub fn entries(&self) -> impl Iterator<Item = &FatbinEntry<'a>> {
        self.fatbins().iter().flat_map(|f| f.entries.iter())
    }

    /// The PTX to run on a device of SM `preferred_arch` (90 for sm_90): the image itself
    /// when it is PTX, else the PTX entry with the highest architecture not newer than
    /// `preferred_arch` (the newest PTX ISA version among those) of the one fatbin that holds
    /// PTX. An executable built from several `.cu` files embeds one fatbin per translation
    /// unit, each a separate module: for those this is an error, and
    /// [`Image::ptx_modules`] gives them all.
    pub fn ptx_for(&self, preferred_arch: u32) -> Result<String, Error> {
        match self {
            Image::Ptx(text) => Ok((*text).to_owned()),
            Image::Cubin(c) => Err(Error::NoPtx {
                archs: c.arch_name(),
            }),
            Image::Fatbin(_) | Image::HostElf(_) => {
                let mut modules = self.ptx_modules(preferred_arch)?;
                if modules.len() > 1 {
                    return Err(Error::MultipleModules {
                        count: modules.len(),
                    });
                }
                Ok(modules.remove(0))
            }
        }
    }

    /// The PTX of every module in the image, in order, for a device of SM `preferred_arch`:
    /// one per fatbin that holds PTX (chosen as in [`Image::ptx_for`]). Fatbins whose cubins
    /// define no kernel (toolkit support code) are skipped; one whose kernels exist only as
    /// cubin is an error, since the CPU device could not run them.
    pub fn ptx_modules(&self, preferred_arch: u32) -> Result<Vec<String>, Error> {
        match self {
            Image::Ptx(text) => Ok(vec![(*text).to_owned()]),
            Image::Cubin(c) => Err(Error::NoPtx {
                archs: c.arch_name(),
            }),
            Image::Fatbin(_) | Image::HostElf(_) => {
                let mut out = Vec::new();
                for fb in self.fatbins() {
                    if let Some(ptx) = fb.ptx_module(preferred_arch)? {
                        out.push(ptx);
                    }
                }
                if out.is_empty() {
                    let mut archs: Vec<String> = self
                        .entries()
                        .filter(|e| e.kind == EntryKind::Elf)
                        .map(|e| e.arch_name())
                        .collect();
                    archs.sort();
                    archs.dedup();
                    if archs.is_empty() {
                        return Err(Error::UnknownFormat(
                            "the image holds neither PTX nor cubin entries".into(),
                        ));
                    }
                    return Err(Error::NoPtx {
                        archs: archs.join(", "),
                    });
                }
                Ok(out)
            }
        }
    }
}

/// The PTX text of an image in any container format, for a device of SM `preferred_arch`;
/// see [`Image::ptx_for`]. This is what the CPU device, which runs only PTX, loads.
pub fn ptx_for(image: &[u8], preferred_arch: u32) -> Result<String, Error> {
    Image::parse(image)?.ptx_for(preferred_arch)
}

/// The bytes of `image` a GPU driver loads as one module (`cuModuleLoadData` takes PTX, cubins
/// and fatbins, not executables): the image itself, or for a host ELF the one embedded fatbin
/// that defines kernels (the toolkit's kernel-less fatbins are skipped). An executable built
/// from several translation units embeds a fatbin for each: `MultipleModules`.
pub fn native_image(image: &[u8]) -> Result<&[u8], Error> {
    let img = Image::parse(image)?;
    if !matches!(img, Image::HostElf(_)) {
        return Ok(image);
    }
    let mut found = Vec::new();
    for fb in img.fatbins() {
        if fb.defines_kernels()? {
            found.push(fb);
        }
    }
    match found.as_slice() {
        [one] => one
            .bytes(image)
            .ok_or_else(|| Error::Unsupported("a fatbin outside its executable".into())),
        [] => Err(Error::Unsupported(
            "the executable embeds no fatbin that defines a kernel".into(),
        )),
        many => Err(Error::MultipleModules { count: many.len() }),
    }
}

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod tests;
