//! The cubin reader: kernels, their parameter layouts and resources, and globals of an
//! NVIDIA GPU ELF (`e_machine` 190).
//!
//! Per-kernel facts live in `.nv.info.<kernel>` attribute sections; module-wide ones (register
//! counts, stack sizes keyed by symbol index) in `.nv.info`. An attribute is a 4-byte-aligned
//! record: a format byte (`EIFMT_NVAL` 1, `EIFMT_BVAL` 2, `EIFMT_HVAL` 3, `EIFMT_SVAL` 4), an
//! attribute byte, then a u16 that is the value (BVAL/HVAL), unused (NVAL), or the length of
//! the payload that follows (SVAL).

use std::collections::BTreeMap;

use super::elf::{Elf, Symbol, EM_CUDA, STT_FUNC, STT_OBJECT};
use super::read::Bytes;
use super::Error;
use crate::ir::{KernelSignature, ParamLayout};

const EIFMT_NVAL: u8 = 1;
const EIFMT_BVAL: u8 = 2;
const EIFMT_HVAL: u8 = 3;
const EIFMT_SVAL: u8 = 4;

const EIATTR_MAX_THREADS: u8 = 0x05;
const EIATTR_PARAM_CBANK: u8 = 0x0a;
const EIATTR_REQNTID: u8 = 0x10;
const EIATTR_KPARAM_INFO: u8 = 0x17;
const EIATTR_CBANK_PARAM_SIZE: u8 = 0x19;
const EIATTR_MAXREG_COUNT: u8 = 0x1b;
const EIATTR_REGCOUNT: u8 = 0x2f;
const EIATTR_FRAME_SIZE: u8 = 0x11;
const EIATTR_MIN_STACK_SIZE: u8 = 0x12;
const EIATTR_MAX_STACK_SIZE: u8 = 0x23;

/// `st_other` bit ptxas sets on `__global__` functions.
const STO_CUDA_ENTRY: u8 = 0x10;

/// ELF ABI version (EI_ABIVERSION) from which the SM number moved to bits 8-15 of `e_flags`.
const CUDA_ABI_V2: u8 = 8;

/// One `.nv.info` attribute record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// `EIFMT_*`: how the value is stored.
    pub format: u8,
    /// `EIATTR_*`: what the record describes.
    pub attr: u8,
    /// The u16 value of BVAL/HVAL records (0 for NVAL and SVAL).
    pub value: u16,
    /// The payload of SVAL records (empty otherwise).
    pub payload: &'a [u8],
    /// Absolute offset of the record in the input.
    pub offset: u64,
}

/// Splits an attribute section into records.
pub(crate) fn attributes<'a>(b: Bytes<'a>, what: &str) -> Result<Vec<Attribute<'a>>, Error> {
    let mut out = Vec::with_capacity(b.len() / 4);
    let mut pos = 0usize;
    while pos < b.len() {
        let format = b.u8(pos, what)?;
        let attr = b.u8(pos + 1, what)?;
        let v = b.u16(pos + 2, what)?;
        let offset = b.abs(pos);
        match format {
            EIFMT_NVAL | EIFMT_BVAL | EIFMT_HVAL => {
                let value = if format == EIFMT_NVAL { 0 } else { v };
                out.push(Attribute {
                    format,
                    attr,
                    value,
                    payload: &[],
                    offset,
                });
                pos += 4;
            }
            EIFMT_SVAL => {
                let payload = b.slice(pos as u64 + 4, u64::from(v), what)?;
                out.push(Attribute {
                    format,
                    attr,
                    value: 0,
                    payload: payload.data,
                    offset,
                });
                pos += 4 + usize::from(v);
            }
            other => {
                return Err(Error::malformed(
                    what,
                    offset,
                    format!("attribute {attr:#04x} has unknown format {other:#04x}"),
                ))
            }
        }
    }
    Ok(out)
}

fn u32_at(p: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(p.get(at..at + 4)?.try_into().ok()?))
}

fn u16_at(p: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(p.get(at..at + 2)?.try_into().ok()?))
}

/// One kernel parameter as the cubin records it (`EIATTR_KPARAM_INFO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CubinParam {
    /// Position in the parameter list, from 0.
    pub ordinal: u32,
    /// Byte offset in the packed parameter buffer.
    pub offset: u32,
    /// Bytes the parameter occupies.
    pub size: u32,
}

/// A kernel (`__global__` function) of a cubin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CubinKernel<'a> {
    /// The symbol name (mangled unless declared `extern "C"`), as launches look it up.
    pub name: &'a str,
    /// Parameters in ordinal order.
    pub params: Vec<CubinParam>,
    /// Total parameter bytes (`EIATTR_CBANK_PARAM_SIZE`), when recorded.
    pub param_bytes: Option<u32>,
    /// `(offset, size)` of the parameters in constant bank 0 (`EIATTR_PARAM_CBANK`).
    pub param_cbank: Option<(u16, u16)>,
    /// Registers per thread (`EIATTR_REGCOUNT`, else the `.text` section's `sh_info`).
    pub registers: Option<u32>,
    /// `__launch_bounds__` register cap (`EIATTR_MAXREG_COUNT`).
    pub max_registers: Option<u32>,
    /// Static shared memory bytes (size of `.nv.shared.<kernel>`; on sm_90 and later it
    /// includes the 1 KiB the system reserves once the kernel uses shared memory).
    pub shared_bytes: u64,
    /// Per-thread stack bytes the kernel needs, calls included (`EIATTR_MIN_STACK_SIZE`, else
    /// `EIATTR_MAX_STACK_SIZE`); what `cuobjdump --dump-resource-usage` reports as STACK.
    pub stack_bytes: Option<u32>,
    /// Per-thread frame bytes of the kernel itself (`EIATTR_FRAME_SIZE`).
    pub frame_bytes: Option<u32>,
    /// Bytes of constant bank 0 (`.nv.constant0.<kernel>`): driver data then parameters.
    pub const_bank0_bytes: u64,
    /// `.maxntid` (`EIATTR_MAX_THREADS`).
    pub max_threads: Option<[u32; 3]>,
    /// `.reqntid` (`EIATTR_REQNTID`).
    pub req_threads: Option<[u32; 3]>,
}

impl CubinKernel<'_> {
    /// The parameter layout as launches check it. Names follow nvcc's PTX convention
    /// (`<kernel>_param_<n>`); alignment is not recorded in cubins, so it is inferred as the
    /// largest power of two (at most 16) dividing both the size and the offset.
    pub fn signature(&self) -> KernelSignature {
        KernelSignature {
            name: self.name.to_owned(),
            params: self
                .params
                .iter()
                .map(|p| {
                    let mut align = 16u32;
                    while align > 1 && (p.size % align != 0 || p.offset % align != 0) {
                        align /= 2;
                    }
                    ParamLayout {
                        name: format!("{}_param_{}", self.name, p.ordinal),
                        offset: p.offset,
                        size: p.size,
                        align,
                    }
                })
                .collect(),
        }
    }
}

/// The state space of a cubin global.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobalSpace {
    /// `__device__` variables (`.nv.global`, `.nv.global.init`).
    Global,
    /// `__constant__` variables (`.nv.constant<N>`).
    Constant,
}

/// A module-scope variable of a cubin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CubinGlobal<'a> {
    /// The symbol name, as `cuModuleGetGlobal` looks it up.
    pub name: &'a str,
    /// Global or constant memory.
    pub space: GlobalSpace,
    /// The section holding it (`.nv.global.init`, `.nv.constant3`, …).
    pub section: &'a str,
    /// Offset within that section.
    pub offset: u64,
    /// Bytes of the variable.
    pub size: u64,
}

/// A parsed cubin.
#[derive(Debug, Clone)]
pub struct Cubin<'a> {
    /// Real SM number (90 for `sm_90`).
    pub arch: u32,
    /// Virtual architecture the code was compiled from, where the ELF records it.
    pub virtual_arch: Option<u32>,
    /// Raw `e_flags`.
    pub flags: u32,
    /// `EI_ABIVERSION`: 7 for the classic layout, 8 from CUDA 12.8 on.
    pub abi_version: u8,
    /// `ET_EXEC` (2) for a linked cubin, `ET_REL` (1) for relocatable device code.
    pub elf_type: u16,
    /// `__global__` functions, sorted by name.
    pub kernels: Vec<CubinKernel<'a>>,
    /// `__device__` and `__constant__` variables, in symbol table order.
    pub globals: Vec<CubinGlobal<'a>>,
}

/// Whether `bytes` look like a cubin: ELF64 LE with `e_machine` 190.
pub fn is_cubin(bytes: &[u8]) -> bool {
    bytes.len() >= 20
        && bytes.starts_with(b"\x7fELF")
        && bytes[4] == 2
        && bytes[5] == 1
        && u16::from_le_bytes([bytes[18], bytes[19]]) == EM_CUDA
}

fn utf8<'a>(name: &'a [u8], what: &str, at: u64) -> Result<&'a str, Error> {
    std::str::from_utf8(name).map_err(|e| Error::NotUtf8 {
        what: what.to_owned(),
        offset: at.saturating_add(e.valid_up_to() as u64),
    })
}

fn dims(p: &[u8]) -> Option<[u32; 3]> {
    Some([u32_at(p, 0)?, u32_at(p, 4)?, u32_at(p, 8)?])
}

impl<'a> Cubin<'a> {
    /// Parses a cubin.
    pub fn parse(bytes: &'a [u8]) -> Result<Cubin<'a>, Error> {
        Self::parse_bytes(Bytes::new(bytes, 0))
    }

    pub(crate) fn parse_bytes(bytes: Bytes<'a>) -> Result<Cubin<'a>, Error> {
        let elf = Elf::parse(bytes, "cubin")?;
        if elf.machine != EM_CUDA {
            return Err(Error::malformed(
                "cubin ELF header",
                bytes.abs(18),
                format!("e_machine is {}, expected {EM_CUDA} (EM_CUDA)", elf.machine),
            ));
        }
        let (arch, virtual_arch) = if elf.abi_version >= CUDA_ABI_V2 {
            ((elf.flags >> 8) & 0xff, None)
        } else {
            let v = (elf.flags >> 16) & 0xff;
            (elf.flags & 0xff, (v != 0).then_some(v))
        };
        let symbols = elf.symbols("cubin")?;

        // Module-wide attributes keyed by symbol index.
        let mut regcount: BTreeMap<u32, u32> = BTreeMap::new();
        let mut min_stack: BTreeMap<u32, u32> = BTreeMap::new();
        let mut max_stack: BTreeMap<u32, u32> = BTreeMap::new();
        let mut frame: BTreeMap<u32, u32> = BTreeMap::new();
        if let Some(s) = elf.section(b".nv.info") {
            let b = elf.bytes_of(s, "cubin .nv.info")?;
            for a in attributes(b, "cubin .nv.info")? {
                let map = match a.attr {
                    EIATTR_REGCOUNT => &mut regcount,
                    EIATTR_MIN_STACK_SIZE => &mut min_stack,
                    EIATTR_MAX_STACK_SIZE => &mut max_stack,
                    EIATTR_FRAME_SIZE => &mut frame,
                    _ => continue,
                };
                if let (EIFMT_SVAL, Some(sym), Some(n)) =
                    (a.format, u32_at(a.payload, 0), u32_at(a.payload, 4))
                {
                    map.insert(sym, n);
                }
            }
        }

        // Sections by the kernel name they belong to.
        let mut text = BTreeMap::new();
        let mut info = BTreeMap::new();
        let mut shared = BTreeMap::new();
        let mut const0 = BTreeMap::new();
        for s in &elf.sections {
            for (prefix, map) in [
                (&b".text."[..], &mut text),
                (&b".nv.info."[..], &mut info),
                (&b".nv.shared."[..], &mut shared),
                (&b".nv.constant0."[..], &mut const0),
            ] {
                if let Some(name) = s.name.strip_prefix(prefix) {
                    map.entry(name).or_insert(s);
                }
            }
        }
        let mut func_index: BTreeMap<&'a [u8], usize> = BTreeMap::new();
        for (i, sym) in symbols.iter().enumerate() {
            if sym.kind() == STT_FUNC {
                func_index.entry(sym.name).or_insert(i);
            }
        }

        // Kernels: functions ptxas marked as entries. Toolchains that do not set the mark are
        // read through the `.nv.info.<name>` sections instead (in relocatable cubins those
        // also exist for `__device__` functions, which carry no mark).
        let is_entry = |y: &Symbol| y.kind() == STT_FUNC && y.other & STO_CUDA_ENTRY != 0;
        let mut names: BTreeMap<&'a [u8], Option<usize>> = BTreeMap::new();
        if symbols.iter().any(is_entry) {
            for (i, sym) in symbols.iter().enumerate() {
                if is_entry(sym) && !sym.name.is_empty() {
                    names.insert(sym.name, Some(i));
                }
            }
        } else {
            for &name in info.keys() {
                if !name.is_empty() {
                    names.insert(name, func_index.get(name).copied());
                }
            }
        }

        let mut kernels = Vec::with_capacity(names.len());
        for (&raw_name, &sym) in &names {
            let name = utf8(raw_name, "cubin kernel name", bytes.base)?;
            let mut k = CubinKernel {
                name,
                params: Vec::new(),
                param_bytes: None,
                param_cbank: None,
                registers: sym.and_then(|i| regcount.get(&(i as u32)).copied()),
                max_registers: None,
                shared_bytes: shared.get(raw_name).map_or(0, |s| s.size),
                stack_bytes: sym.and_then(|i| {
                    let i = i as u32;
                    min_stack.get(&i).or_else(|| max_stack.get(&i)).copied()
                }),
                frame_bytes: sym.and_then(|i| frame.get(&(i as u32)).copied()),
                const_bank0_bytes: const0.get(raw_name).map_or(0, |s| s.size),
                max_threads: None,
                req_threads: None,
            };
            if k.registers.is_none() {
                // ptxas also stores the register count in the top byte of `.text.<k>`'s sh_info.
                k.registers = text.get(raw_name).map(|s| s.info >> 24).filter(|&n| n != 0);
            }
            if let Some(s) = info.get(raw_name) {
                let what = format!("cubin .nv.info.{name}");
                for a in attributes(elf.bytes_of(s, &what)?, &what)? {
                    match (a.attr, a.format) {
                        (EIATTR_KPARAM_INFO, EIFMT_SVAL) => {
                            // u32 index, u16 ordinal, u16 offset, u32 with the size in bits 18-31.
                            let (Some(ordinal), Some(offset), Some(bits)) = (
                                u16_at(a.payload, 4),
                                u16_at(a.payload, 6),
                                u32_at(a.payload, 8),
                            ) else {
                                return Err(Error::malformed(
                                    what,
                                    a.offset,
                                    format!(
                                        "EIATTR_KPARAM_INFO holds {} bytes, expected 12",
                                        a.payload.len()
                                    ),
                                ));
                            };
                            k.params.push(CubinParam {
                                ordinal: u32::from(ordinal),
                                offset: u32::from(offset),
                                size: bits >> 18,
                            });
                        }
                        (EIATTR_CBANK_PARAM_SIZE, EIFMT_HVAL) => {
                            k.param_bytes = Some(u32::from(a.value))
                        }
                        (EIATTR_PARAM_CBANK, EIFMT_SVAL) => {
                            if let (Some(off), Some(size)) =
                                (u16_at(a.payload, 4), u16_at(a.payload, 6))
                            {
                                k.param_cbank = Some((off, size));
                            }
                        }
                        (EIATTR_MAXREG_COUNT, EIFMT_HVAL) => {
                            k.max_registers = Some(u32::from(a.value))
                        }
                        (EIATTR_MAX_THREADS, EIFMT_SVAL) => k.max_threads = dims(a.payload),
                        (EIATTR_REQNTID, EIFMT_SVAL) => k.req_threads = dims(a.payload),
                        _ => {}
                    }
                }
            }
            k.params.sort_by_key(|p| p.ordinal);
            if let Some(w) = k.params.windows(2).find(|w| w[0].ordinal == w[1].ordinal) {
                return Err(Error::malformed(
                    format!("cubin .nv.info.{name}"),
                    bytes.base,
                    format!("parameter {} is described twice", w[0].ordinal),
                ));
            }
            if k.param_bytes.is_none() {
                k.param_bytes = k.param_cbank.map(|(_, size)| u32::from(size));
            }
            kernels.push(k);
        }

        let mut globals = Vec::new();
        for sym in &symbols {
            if sym.kind() != STT_OBJECT || sym.name.is_empty() {
                continue;
            }
            let Some(s) = elf.sections.get(usize::from(sym.shndx)) else {
                continue;
            };
            let space = if s.name.starts_with(b".nv.global") {
                GlobalSpace::Global
            } else if s.name.starts_with(b".nv.constant") {
                GlobalSpace::Constant
            } else {
                continue;
            };
            globals.push(CubinGlobal {
                name: utf8(sym.name, "cubin global name", bytes.base)?,
                space,
                section: utf8(s.name, "cubin section name", bytes.base)?,
                offset: sym.value,
                size: sym.size,
            });
        }

        Ok(Cubin {
            arch,
            virtual_arch,
            flags: elf.flags,
            abi_version: elf.abi_version,
            elf_type: elf.e_type,
            kernels,
            globals,
        })
    }

    /// `sm_90`-style name of the real architecture.
    pub fn arch_name(&self) -> String {
        format!("sm_{}", self.arch)
    }

    /// The kernel with this (mangled) name.
    pub fn kernel(&self, name: &str) -> Option<&CubinKernel<'a>> {
        self.kernels.iter().find(|k| k.name == name)
    }
}
