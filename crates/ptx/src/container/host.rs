//! Fatbins embedded in host executables, shared objects and object files: nvcc places them in
//! the `.nv_fatbin` section (and relocatable device code in `__nv_relfatbin`), back to back.

use super::elf::Elf;
use super::fatbin::{parse_all, Fatbin};
use super::read::Bytes;
use super::Error;

/// Sections nvcc stores fatbins in.
pub const FATBIN_SECTIONS: [&str; 2] = [".nv_fatbin", "__nv_relfatbin"];

/// A host ELF file and the fatbins it embeds.
#[derive(Debug, Clone)]
pub struct HostElf<'a> {
    /// `e_machine` of the host code (62 for x86-64, 183 for AArch64).
    pub machine: u16,
    /// Every embedded fatbin, in section order then file order.
    pub fatbins: Vec<Fatbin<'a>>,
}

impl<'a> HostElf<'a> {
    /// Parses a host ELF64 LE file and the fatbins in its fatbin sections. A file without any
    /// fatbin section is an error: it holds no GPU code.
    pub fn parse(bytes: &'a [u8]) -> Result<HostElf<'a>, Error> {
        let elf = Elf::parse(Bytes::new(bytes, 0), "host executable")?;
        let mut fatbins = Vec::new();
        let mut found = false;
        for s in &elf.sections {
            let Some(name) = FATBIN_SECTIONS.iter().find(|n| s.name == n.as_bytes()) else {
                continue;
            };
            found = true;
            let what = format!("host section {name}");
            fatbins.extend(parse_all(elf.bytes_of(s, &what)?, &what)?);
        }
        if !found {
            return Err(Error::UnknownFormat(format!(
                "ELF file (e_machine {}) without a .nv_fatbin or __nv_relfatbin section holds no GPU code",
                elf.machine
            )));
        }
        Ok(HostElf {
            machine: elf.machine,
            fatbins,
        })
    }
}

/// Whether an ELF64 LE file has a fatbin section (cheap check for [`super::Image::detect`]).
pub(crate) fn has_fatbin_section(bytes: &[u8]) -> Result<bool, Error> {
    let elf = Elf::parse(Bytes::new(bytes, 0), "host executable")?;
    Ok(elf
        .sections
        .iter()
        .any(|s| FATBIN_SECTIONS.iter().any(|n| s.name == n.as_bytes())))
}
