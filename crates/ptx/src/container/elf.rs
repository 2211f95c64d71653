//! A minimal ELF64 little-endian reader: the header, section headers and symbol tables.
//!
//! Cubins and the host executables that embed fatbins are both ELF64 LE; this reader gives
//! both parsers checked access to what they need and nothing more. Names are borrowed from the
//! input, so no allocation grows faster than the input itself.

use super::read::{cstr, to_usize, Bytes};
use super::Error;

/// `EM_CUDA`: the machine number of NVIDIA GPU code.
pub const EM_CUDA: u16 = 190;
pub const SHT_SYMTAB: u32 = 2;
pub const SHT_NOBITS: u32 = 8;
pub const STT_OBJECT: u8 = 1;
pub const STT_FUNC: u8 = 2;

const EHDR_LEN: usize = 64;
const SHDR_LEN: usize = 64;
const SYM_LEN: usize = 24;

/// Whether `bytes` start with the ELF magic.
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF")
}

/// One section header.
#[derive(Debug, Clone)]
pub struct Section<'a> {
    pub name: &'a [u8],
    pub sh_type: u32,
    pub offset: u64,
    pub size: u64,
    pub link: u32,
    pub info: u32,
}

/// One symbol table entry.
#[derive(Debug, Clone)]
pub struct Symbol<'a> {
    pub name: &'a [u8],
    pub info: u8,
    pub other: u8,
    pub shndx: u16,
    pub value: u64,
    pub size: u64,
}

impl Symbol<'_> {
    pub fn kind(&self) -> u8 {
        self.info & 0xf
    }
}

/// A parsed ELF64 LE file.
pub struct Elf<'a> {
    pub bytes: Bytes<'a>,
    pub e_type: u16,
    pub machine: u16,
    pub flags: u32,
    pub abi_version: u8,
    pub sections: Vec<Section<'a>>,
}

impl<'a> Elf<'a> {
    /// Parses the ELF header and the section header table. `what` names the file in errors
    /// ("cubin", "host executable").
    pub fn parse(bytes: Bytes<'a>, what: &str) -> Result<Elf<'a>, Error> {
        let hdr = format!("{what} ELF header");
        if bytes.len() < EHDR_LEN || !is_elf(bytes.data) {
            return Err(Error::malformed(
                &hdr,
                bytes.base,
                format!("needs {EHDR_LEN} bytes starting with \\x7fELF"),
            ));
        }
        let class = bytes.u8(4, &hdr)?;
        let data = bytes.u8(5, &hdr)?;
        if class != 2 || data != 1 {
            return Err(Error::Unsupported(format!(
                "{what}: only 64-bit little-endian ELF is supported (EI_CLASS {class}, EI_DATA {data})"
            )));
        }
        let abi_version = bytes.u8(8, &hdr)?;
        let e_type = bytes.u16(16, &hdr)?;
        let machine = bytes.u16(18, &hdr)?;
        let shoff = bytes.u64(40, &hdr)?;
        let flags = bytes.u32(48, &hdr)?;
        let shentsize = bytes.u16(58, &hdr)?;
        let mut shnum = u64::from(bytes.u16(60, &hdr)?);
        let mut shstrndx = u32::from(bytes.u16(62, &hdr)?);

        let mut elf = Elf {
            bytes,
            e_type,
            machine,
            flags,
            abi_version,
            sections: Vec::new(),
        };
        if shoff == 0 {
            return Ok(elf);
        }
        if usize::from(shentsize) != SHDR_LEN {
            return Err(Error::malformed(
                &hdr,
                bytes.abs(58),
                format!("section header size is {shentsize}, expected {SHDR_LEN}"),
            ));
        }
        let table_what = format!("{what} section header table");
        // Extended numbering: the real count and string table index live in section 0.
        let first = bytes.slice(shoff, SHDR_LEN as u64, &table_what)?;
        if shnum == 0 {
            shnum = first.u64(32, &table_what)?;
        }
        if shstrndx == 0xffff {
            shstrndx = first.u32(40, &table_what)?;
        }
        let table_len = shnum.checked_mul(SHDR_LEN as u64).ok_or_else(|| {
            Error::malformed(
                &table_what,
                bytes.abs(0),
                format!("{shnum} sections overflow"),
            )
        })?;
        let table = bytes.slice(shoff, table_len, &table_what)?;
        let shnum = to_usize(shnum, &table_what, table.base)?;

        let mut raw = Vec::with_capacity(shnum);
        for i in 0..shnum {
            let at = i * SHDR_LEN;
            let w = format!("{what} section header {i}");
            raw.push((
                table.u32(at, &w)?,
                Section {
                    name: &[],
                    sh_type: table.u32(at + 4, &w)?,
                    offset: table.u64(at + 24, &w)?,
                    size: table.u64(at + 32, &w)?,
                    link: table.u32(at + 40, &w)?,
                    info: table.u32(at + 44, &w)?,
                },
            ));
        }
        let strtab: &[u8] = match raw.get(shstrndx as usize) {
            Some((_, s)) if shstrndx != 0 => elf.data_of(s, &format!("{what} section names"))?,
            _ => &[],
        };
        for (name_off, mut s) in raw {
            s.name = cstr(strtab, name_off as usize).unwrap_or(&[]);
            elf.sections.push(s);
        }
        Ok(elf)
    }

    /// The file bytes of a section (empty for `SHT_NOBITS`).
    pub fn data_of(&self, s: &Section<'a>, what: &str) -> Result<&'a [u8], Error> {
        if s.sh_type == SHT_NOBITS {
            return Ok(&[]);
        }
        Ok(self.bytes.slice(s.offset, s.size, what)?.data)
    }

    /// [`Elf::data_of`] with the absolute offset of the section data.
    pub fn bytes_of(&self, s: &Section<'a>, what: &str) -> Result<Bytes<'a>, Error> {
        if s.sh_type == SHT_NOBITS {
            return Ok(Bytes::new(&[], self.bytes.abs(0)));
        }
        self.bytes.slice(s.offset, s.size, what)
    }

    /// The first section with this exact name.
    pub fn section(&self, name: &[u8]) -> Option<&Section<'a>> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// All symbols of the first `SHT_SYMTAB` section, names resolved through its string table.
    pub fn symbols(&self, what: &str) -> Result<Vec<Symbol<'a>>, Error> {
        let Some(symtab) = self.sections.iter().find(|s| s.sh_type == SHT_SYMTAB) else {
            return Ok(Vec::new());
        };
        let w = format!("{what} symbol table");
        let data = self.bytes_of(symtab, &w)?;
        let strtab: &[u8] = match self.sections.get(symtab.link as usize) {
            Some(s) => self.data_of(s, &format!("{what} symbol names"))?,
            None => &[],
        };
        let count = data.len() / SYM_LEN;
        let mut out = Vec::with_capacity(count);
        for i in 0..count {
            let at = i * SYM_LEN;
            out.push(Symbol {
                name: cstr(strtab, data.u32(at, &w)? as usize).unwrap_or(&[]),
                info: data.u8(at + 4, &w)?,
                other: data.u8(at + 5, &w)?,
                shndx: data.u16(at + 6, &w)?,
                value: data.u64(at + 8, &w)?,
                size: data.u64(at + 16, &w)?,
            });
        }
        Ok(out)
    }
}
