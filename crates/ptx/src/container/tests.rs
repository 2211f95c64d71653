//! Tests over synthetic containers built by the small writers below (the library itself only
//! reads), plus reference-encoder payloads made by the `lz4` and `zstd` command-line tools.

use super::*;
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Writers
// ---------------------------------------------------------------------------------------------

/// One fatbin entry to write.
#[derive(Clone)]
struct E {
    kind: u16,
    arch: u32,
    version: (u16, u16),
    flags: u64,
    /// Stored payload (already compressed when a compression flag is set).
    stored: Vec<u8>,
    compressed_size: u32,
    uncompressed_size: u64,
    ident: Option<&'static str>,
}

impl E {
    fn plain(kind: u16, arch: u32, data: &[u8]) -> E {
        E {
            kind,
            arch,
            version: if kind == 1 { (8, 5) } else { (1, 8) },
            flags: FLAG_64BIT | 0x10,
            stored: data.to_vec(),
            compressed_size: 0,
            uncompressed_size: 0,
            ident: None,
        }
    }

    fn ptx(arch: u32, text: &str) -> E {
        let mut d = text.as_bytes().to_vec();
        d.push(0);
        E::plain(1, arch, &d)
    }

    fn lz4(kind: u16, arch: u32, data: &[u8]) -> E {
        let c = lz4_flex::block::compress(data);
        E {
            flags: FLAG_64BIT | 0x10 | FLAG_COMPRESSED_LZ4,
            compressed_size: c.len() as u32,
            uncompressed_size: data.len() as u64,
            stored: c,
            ..E::plain(kind, arch, &[])
        }
    }

    fn zstd(kind: u16, arch: u32, data: &[u8]) -> E {
        let c =
            ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest);
        E {
            flags: FLAG_64BIT | 0x10 | FLAG_COMPRESSED_ZSTD,
            compressed_size: c.len() as u32,
            uncompressed_size: data.len() as u64,
            stored: c,
            ..E::plain(kind, arch, &[])
        }
    }
}

fn pad8(v: &mut Vec<u8>) {
    while v.len() % 8 != 0 {
        v.push(0);
    }
}

/// Writes a fatbin the way nvcc lays it out: 64-byte entry headers (plus the identifier when
/// given), payloads padded to 8 bytes.
fn fatbin(entries: &[E]) -> Vec<u8> {
    let mut body = Vec::new();
    for e in entries {
        let ident = e.ident.map(|s| s.as_bytes().to_vec()).unwrap_or_default();
        let mut ident_padded = ident.clone();
        if !ident.is_empty() {
            ident_padded.push(0);
            pad8(&mut ident_padded);
        }
        let hsize = 64 + ident_padded.len() as u32;
        let mut payload = e.stored.clone();
        pad8(&mut payload);
        let mut h = Vec::new();
        h.extend(e.kind.to_le_bytes());
        h.extend(0x0101u16.to_le_bytes());
        h.extend(hsize.to_le_bytes());
        h.extend((payload.len() as u64).to_le_bytes());
        h.extend(e.compressed_size.to_le_bytes());
        h.extend(0u32.to_le_bytes());
        h.extend(e.version.1.to_le_bytes());
        h.extend(e.version.0.to_le_bytes());
        h.extend(e.arch.to_le_bytes());
        let (ioff, ilen) = if ident.is_empty() {
            (0u32, 0u32)
        } else {
            (64, ident.len() as u32)
        };
        h.extend(ioff.to_le_bytes());
        h.extend(ilen.to_le_bytes());
        h.extend(e.flags.to_le_bytes());
        h.extend(0u64.to_le_bytes());
        h.extend(e.uncompressed_size.to_le_bytes());
        assert_eq!(h.len(), 64);
        h.extend(ident_padded);
        body.extend(h);
        body.extend(payload);
    }
    let mut out = Vec::new();
    out.extend(FATBIN_MAGIC.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend(16u16.to_le_bytes());
    out.extend((body.len() as u64).to_le_bytes());
    out.extend(body);
    out
}

/// A section to write: name, type, data, link, info.
struct S {
    name: String,
    ty: u32,
    data: Vec<u8>,
    info: u32,
}

fn sec(name: &str, ty: u32, data: Vec<u8>) -> S {
    S {
        name: name.into(),
        ty,
        data,
        info: 0,
    }
}

/// A symbol to write: name, st_info, st_other, section (index in the user list, from 1).
struct Sym {
    name: String,
    info: u8,
    other: u8,
    shndx: u16,
    value: u64,
    size: u64,
}

/// Writes an ELF64 LE file: user sections (indices 1..), then `.shstrtab`, `.strtab` and
/// `.symtab`, then the section header table.
fn elf(machine: u16, abi: u8, flags: u32, sections: Vec<S>, symbols: Vec<Sym>) -> Vec<u8> {
    let mut out = vec![0u8; 64];
    let mut shdrs: Vec<[u8; 64]> = vec![[0; 64]];
    let mut shstr = vec![0u8];
    let add = |out: &mut Vec<u8>,
               shstr: &mut Vec<u8>,
               name: &str,
               ty: u32,
               data: &[u8],
               link: u32,
               info: u32,
               entsize: u64| {
        pad8(out);
        let mut h = [0u8; 64];
        h[0..4].copy_from_slice(&(shstr.len() as u32).to_le_bytes());
        shstr.extend(name.as_bytes());
        shstr.push(0);
        h[4..8].copy_from_slice(&ty.to_le_bytes());
        h[24..32].copy_from_slice(&(out.len() as u64).to_le_bytes());
        h[32..40].copy_from_slice(&(data.len() as u64).to_le_bytes());
        h[40..44].copy_from_slice(&link.to_le_bytes());
        h[44..48].copy_from_slice(&info.to_le_bytes());
        h[56..64].copy_from_slice(&entsize.to_le_bytes());
        if ty != 8 {
            out.extend(data);
        }
        h
    };
    let n_user = sections.len() as u32;
    for s in &sections {
        let h = add(&mut out, &mut shstr, &s.name, s.ty, &s.data, 0, s.info, 0);
        shdrs.push(h);
    }
    let mut strtab = vec![0u8];
    let mut symtab = vec![0u8; 24];
    for s in &symbols {
        let mut e = [0u8; 24];
        e[0..4].copy_from_slice(&(strtab.len() as u32).to_le_bytes());
        strtab.extend(s.name.as_bytes());
        strtab.push(0);
        e[4] = s.info;
        e[5] = s.other;
        e[6..8].copy_from_slice(&s.shndx.to_le_bytes());
        e[8..16].copy_from_slice(&s.value.to_le_bytes());
        e[16..24].copy_from_slice(&s.size.to_le_bytes());
        symtab.extend(e);
    }
    let strtab_idx = n_user + 1;
    let h = add(&mut out, &mut shstr, ".strtab", 3, &strtab.clone(), 0, 0, 0);
    shdrs.push(h);
    let h = add(
        &mut out,
        &mut shstr,
        ".symtab",
        2,
        &symtab.clone(),
        strtab_idx,
        0,
        24,
    );
    shdrs.push(h);
    let shstr_idx = shdrs.len() as u16;
    let name_off = shstr.len() as u32;
    shstr.extend(b".shstrtab\0");
    let shstr_data = shstr.clone();
    let h = add(&mut out, &mut Vec::new(), "", 3, &shstr_data, 0, 0, 0);
    let mut h = h;
    h[0..4].copy_from_slice(&name_off.to_le_bytes());
    shdrs.push(h);
    pad8(&mut out);
    let shoff = out.len() as u64;
    for h in &shdrs {
        out.extend(h);
    }
    out[0..4].copy_from_slice(b"\x7fELF");
    out[4] = 2;
    out[5] = 1;
    out[6] = 1;
    out[8] = abi;
    out[16..18].copy_from_slice(&2u16.to_le_bytes());
    out[18..20].copy_from_slice(&machine.to_le_bytes());
    out[20..24].copy_from_slice(&1u32.to_le_bytes());
    out[40..48].copy_from_slice(&shoff.to_le_bytes());
    out[48..52].copy_from_slice(&flags.to_le_bytes());
    out[52..54].copy_from_slice(&64u16.to_le_bytes());
    out[58..60].copy_from_slice(&64u16.to_le_bytes());
    out[60..62].copy_from_slice(&(shdrs.len() as u16).to_le_bytes());
    out[62..64].copy_from_slice(&shstr_idx.to_le_bytes());
    out
}

/// `.nv.info` records.
fn sval(attr: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![4, attr];
    v.extend((payload.len() as u16).to_le_bytes());
    v.extend(payload);
    v
}

fn hval(attr: u8, value: u16) -> Vec<u8> {
    let mut v = vec![3, attr];
    v.extend(value.to_le_bytes());
    v
}

fn kparam(ordinal: u16, offset: u16, size: u32) -> Vec<u8> {
    let mut p = 0u32.to_le_bytes().to_vec();
    p.extend(ordinal.to_le_bytes());
    p.extend(offset.to_le_bytes());
    p.extend(((size << 18) | 0x1f000).to_le_bytes());
    sval(0x17, &p)
}

const KERNEL: &str = "_Z6vecaddPKfS0_Pfi";

/// A cubin with one kernel `vecadd(const float*, const float*, float*, int)` plus a
/// `__device__` and a `__constant__` global, for `sm_<arch>`.
fn cubin(abi: u8, flags: u32) -> Vec<u8> {
    let mut info = Vec::new();
    info.extend(sval(0x0a, &[7, 0, 0, 0, 0x10, 0x02, 28, 0])); // PARAM_CBANK: sym 7, 0x210, 28
    info.extend(hval(0x19, 28)); // CBANK_PARAM_SIZE
                                 // KPARAM_INFO in the reverse order ptxas writes them.
    info.extend(kparam(3, 24, 4));
    info.extend(kparam(2, 16, 8));
    info.extend(kparam(1, 8, 8));
    info.extend(kparam(0, 0, 8));
    info.extend(hval(0x1b, 255)); // MAXREG_COUNT
    info.extend(vec![1, 0x2b, 0, 0]); // an NVAL record
    let mut global_info = Vec::new();
    // REGCOUNT for symbol 3 (the kernel): 16 registers.
    global_info.extend(sval(0x2f, &[3, 0, 0, 0, 16, 0, 0, 0]));
    let mut text = S {
        info: (20 << 24) | 3,
        ..sec(&format!(".text.{KERNEL}"), 1, vec![0; 32])
    };
    text.ty = 1;
    let sections = vec![
        sec(".nv.info", 0x7000_0000, global_info),             // 1
        sec(&format!(".nv.info.{KERNEL}"), 0x7000_0000, info), // 2
        sec(&format!(".nv.constant0.{KERNEL}"), 1, vec![0; 0x22c]), // 3
        sec(&format!(".nv.shared.{KERNEL}"), 8, vec![0; 1024]), // 4
        text,                                                  // 5
        sec(".nv.global", 8, vec![0; 64]),                     // 6
        sec(".nv.constant3", 1, vec![0; 16]),                  // 7
    ];
    let symbols = vec![
        Sym {
            name: "table".into(),
            info: 0x11,
            other: 0,
            shndx: 6,
            value: 0,
            size: 64,
        },
        Sym {
            name: "coeffs".into(),
            info: 0x11,
            other: 0,
            shndx: 7,
            value: 0,
            size: 16,
        },
        Sym {
            name: KERNEL.into(),
            info: 0x12,
            other: 0x10,
            shndx: 5,
            value: 0,
            size: 32,
        },
        Sym {
            name: "helper".into(),
            info: 0x12,
            other: 0,
            shndx: 5,
            value: 16,
            size: 16,
        },
    ];
    elf(190, abi, flags, sections, symbols)
}

fn cubin_sm80() -> Vec<u8> {
    // Classic layout: EF_CUDA_SM80 | 64-bit | virtual sm_80.
    cubin(7, 0x0050_0550)
}

fn host(fatbins: &[Vec<u8>]) -> Vec<u8> {
    let mut sect = Vec::new();
    for f in fatbins {
        sect.extend(f);
        pad8(&mut sect);
    }
    elf(
        62,
        0,
        0,
        vec![sec(".text", 1, vec![0xc3; 16]), sec(".nv_fatbin", 1, sect)],
        vec![],
    )
}

const PTX: &str = "//\n// Generated by NVIDIA NVVM Compiler\n//\n\n.version 8.5\n.target sm_80\n\
.address_size 64\n\n.visible .entry k(.param .u64 k_param_0)\n{\n\tret;\n}\n";

/// `zstd -19` of /tmp/z.ptx (the text in `ZSTD_PTX_TEXT`), made with the reference encoder.
const ZSTD_PTX: [u8; 118] = [
    0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x7c, 0x4d, 0x03, 0x00, 0x32, 0x87, 0x17, 0x18, 0x70, 0x6f, 0x03,
    0x90, 0x86, 0x0a, 0x8d, 0x01, 0xba, 0x6d, 0xb0, 0x7d, 0xf5, 0xd7, 0xff, 0xa0, 0x81, 0xa8, 0x1b,
    0xf6, 0x7f, 0xb2, 0x70, 0x04, 0x79, 0x65, 0xf2, 0xdc, 0x40, 0x5a, 0x29, 0x0c, 0xad, 0x35, 0x4a,
    0x18, 0xd2, 0xea, 0xe3, 0xda, 0x45, 0x1b, 0x34, 0x4a, 0xf5, 0x47, 0x5e, 0x65, 0x67, 0x81, 0x0e,
    0x09, 0x43, 0xb9, 0x82, 0xde, 0xdc, 0xb9, 0xdf, 0x73, 0x9b, 0x03, 0xd2, 0x1e, 0xd7, 0x67, 0xa6,
    0xdd, 0x6f, 0x16, 0x7b, 0x68, 0x84, 0xa0, 0x37, 0x4f, 0x9b, 0xc9, 0x58, 0xbe, 0xf3, 0x2b, 0xb5,
    0xe8, 0xe3, 0x77, 0xcd, 0x91, 0x15, 0x65, 0x2c, 0x19, 0x0b, 0x02, 0x00, 0xc2, 0x14, 0x3f, 0x60,
    0xa0, 0xcc, 0x23, 0xdd, 0x4a, 0x71,
];
const ZSTD_PTX_TEXT: &str = "//\n// Generated by test\n//\n\n.version 8.5\n.target sm_90\n\
.address_size 64\n\n.visible .entry k(.param .u64 k_param_0)\n{\n\tret;\n}\n";

/// The LZ4 block of six copies of `ZSTD_PTX_TEXT`, made by the reference `lz4 -9` encoder
/// (taken out of its frame).
const LZ4_PTX: [u8; 135] = [
    0xf0, 0x38, 0x2f, 0x2f, 0x0a, 0x2f, 0x2f, 0x20, 0x47, 0x65, 0x6e, 0x65, 0x72, 0x61, 0x74, 0x65,
    0x64, 0x20, 0x62, 0x79, 0x20, 0x74, 0x65, 0x73, 0x74, 0x0a, 0x2f, 0x2f, 0x0a, 0x0a, 0x2e, 0x76,
    0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x20, 0x38, 0x2e, 0x35, 0x0a, 0x2e, 0x74, 0x61, 0x72, 0x67,
    0x65, 0x74, 0x20, 0x73, 0x6d, 0x5f, 0x39, 0x30, 0x0a, 0x2e, 0x61, 0x64, 0x64, 0x72, 0x65, 0x73,
    0x73, 0x5f, 0x73, 0x69, 0x7a, 0x65, 0x20, 0x36, 0x34, 0x2d, 0x00, 0xf1, 0x0f, 0x69, 0x73, 0x69,
    0x62, 0x6c, 0x65, 0x20, 0x2e, 0x65, 0x6e, 0x74, 0x72, 0x79, 0x20, 0x6b, 0x28, 0x2e, 0x70, 0x61,
    0x72, 0x61, 0x6d, 0x20, 0x2e, 0x75, 0x36, 0x34, 0x20, 0x6b, 0x5f, 0x0d, 0x00, 0xef, 0x5f, 0x30,
    0x29, 0x0a, 0x7b, 0x0a, 0x09, 0x72, 0x65, 0x74, 0x3b, 0x0a, 0x7d, 0x0a, 0x7c, 0x00, 0xff, 0xff,
    0x56, 0x50, 0x74, 0x3b, 0x0a, 0x7d, 0x0a,
];

fn malformed_what(e: &Error) -> String {
    match e {
        Error::Malformed { what, .. } => what.clone(),
        other => panic!("expected a Malformed error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------------

#[test]
fn detects_every_format() {
    assert_eq!(Image::detect(PTX.as_bytes()), Ok(ImageKind::Ptx));
    assert_eq!(
        Image::detect(b"\n\t .version 7.0\n.target sm_50\n"),
        Ok(ImageKind::Ptx)
    );
    assert_eq!(
        Image::detect(b"/* c */ .version 7.0\0\0"),
        Ok(ImageKind::Ptx)
    );
    assert_eq!(
        Image::detect(&fatbin(&[E::ptx(80, PTX)])),
        Ok(ImageKind::Fatbin)
    );
    assert_eq!(Image::detect(&cubin_sm80()), Ok(ImageKind::Cubin));
    assert_eq!(
        Image::detect(&host(&[fatbin(&[E::ptx(80, PTX)])])),
        Ok(ImageKind::HostElf)
    );
}

#[test]
fn rejects_what_is_not_gpu_code() {
    let e = Image::detect(b"MZ\x90\0binary").unwrap_err();
    assert!(
        e.to_string().contains("starts with bytes 4d 5a 90 00"),
        "{e}"
    );
    assert!(matches!(Image::detect(b""), Err(Error::UnknownFormat(_))));
    // A host ELF without a fatbin section.
    let plain = elf(62, 0, 0, vec![sec(".text", 1, vec![0xc3])], vec![]);
    let e = Image::detect(&plain).unwrap_err();
    assert!(e.to_string().contains("without a .nv_fatbin"), "{e}");
    // 32-bit ELF.
    let mut e32 = plain.clone();
    e32[4] = 1;
    assert!(matches!(Image::detect(&e32), Err(Error::Unsupported(_))));
    // Comments that never reach `.version`.
    assert!(matches!(
        Image::parse(b"// just a comment\n.target sm_80"),
        Err(Error::UnknownFormat(_))
    ));
}

#[test]
fn ptx_image_is_cut_at_nul_and_must_be_utf8() {
    let mut b = PTX.as_bytes().to_vec();
    b.extend(b"\0garbage");
    let Image::Ptx(text) = Image::parse(&b).unwrap() else {
        panic!("not PTX")
    };
    assert_eq!(text, PTX);
    let e = Image::parse(b"// \xff\xfe\n.version 8.0").unwrap_err();
    assert_eq!(
        e,
        Error::NotUtf8 {
            what: "PTX text".into(),
            offset: 3
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Fatbin
// ---------------------------------------------------------------------------------------------

#[test]
fn lists_plain_fatbin_entries() {
    let elf_payload = cubin_sm80();
    let mut ptx_entry = E::ptx(80, PTX);
    ptx_entry.ident = Some("vecadd.cu");
    let bytes = fatbin(&[E::plain(2, 80, &elf_payload), ptx_entry]);
    let fb = Fatbin::parse(&bytes).unwrap();
    assert_eq!(
        (fb.version, fb.header_size, fb.total_size),
        (1, 16, bytes.len() as u64)
    );
    assert_eq!(fb.entries.len(), 2);
    let (c, p) = (&fb.entries[0], &fb.entries[1]);
    assert_eq!(
        (c.kind, c.arch_name(), c.is_compressed()),
        (EntryKind::Elf, "sm_80".into(), false)
    );
    assert_eq!(c.offset, 16);
    assert!(c.is_64bit() && !c.has_debug_info());
    assert_eq!(&c.data().unwrap()[..elf_payload.len()], &elf_payload[..]);
    assert_eq!(
        (p.kind, p.code_version, p.identifier),
        (EntryKind::Ptx, (8, 5), Some("vecadd.cu"))
    );
    assert_eq!(p.ptx().unwrap(), PTX);
    assert!(c.ptx().is_err(), "an ELF entry has no PTX");
}

#[test]
fn decompresses_lz4_entries() {
    let text = PTX.repeat(20);
    let mut d = text.as_bytes().to_vec();
    d.push(0);
    let bytes = fatbin(&[E::lz4(1, 80, &d), E::lz4(2, 80, &cubin_sm80())]);
    let fb = Fatbin::parse(&bytes).unwrap();
    let p = &fb.entries[0];
    assert_eq!(p.compression(), Compression::Lz4);
    assert!(
        p.compressed_size < d.len() as u32 / 4,
        "{} bytes",
        p.compressed_size
    );
    assert_eq!(p.ptx().unwrap(), text);
    assert_eq!(&*fb.entries[1].data().unwrap(), &cubin_sm80()[..]);
    // The decompressed cubin parses.
    let c = Cubin::parse(&fb.entries[1].data().unwrap())
        .unwrap()
        .kernels[0]
        .signature();
    assert_eq!(c.params.len(), 4);
}

#[test]
fn decompresses_reference_encoder_payloads() {
    let six = ZSTD_PTX_TEXT.repeat(6);
    let lz = E {
        compressed_size: LZ4_PTX.len() as u32,
        uncompressed_size: six.len() as u64,
        stored: LZ4_PTX.to_vec(),
        flags: FLAG_64BIT | FLAG_COMPRESSED_LZ4,
        ..E::plain(1, 90, &[])
    };
    let zs = E {
        compressed_size: ZSTD_PTX.len() as u32,
        uncompressed_size: ZSTD_PTX_TEXT.len() as u64,
        stored: ZSTD_PTX.to_vec(),
        flags: FLAG_64BIT | FLAG_COMPRESSED_ZSTD,
        ..E::plain(1, 90, &[])
    };
    let bytes = fatbin(&[lz, zs]);
    let fb = Fatbin::parse(&bytes).unwrap();
    assert_eq!(fb.entries[0].ptx().unwrap(), six);
    assert_eq!(fb.entries[1].compression(), Compression::Zstd);
    assert_eq!(fb.entries[1].ptx().unwrap(), ZSTD_PTX_TEXT);
}

#[test]
fn decompresses_zstd_entries() {
    let text = PTX.repeat(50);
    let bytes = fatbin(&[E::zstd(1, 90, text.as_bytes())]);
    let e = &Fatbin::parse(&bytes).unwrap().entries[0];
    assert_eq!(e.ptx().unwrap(), text);
}

#[test]
fn corrupt_compressed_payloads_are_errors() {
    let text = PTX.repeat(10);
    // Wrong declared size.
    let mut e = E::lz4(1, 80, text.as_bytes());
    e.uncompressed_size += 1;
    let err = Fatbin::parse(&fatbin(&[e])).unwrap().entries[0]
        .ptx()
        .unwrap_err();
    assert!(
        matches!(err, Error::Decompress { method: "LZ4", .. }),
        "{err}"
    );
    // A size no LZ4 block of this length could produce (must not be allocated).
    let mut e = E::lz4(1, 80, text.as_bytes());
    e.uncompressed_size = u64::MAX / 2;
    let err = Fatbin::parse(&fatbin(&[e])).unwrap().entries[0]
        .data()
        .unwrap_err();
    assert!(err.to_string().contains("impossible"), "{err}");
    // Garbage stream.
    let mut e = E::lz4(1, 80, text.as_bytes());
    e.stored = vec![0xff; e.stored.len()];
    assert!(Fatbin::parse(&fatbin(&[e])).unwrap().entries[0]
        .data()
        .is_err());
    // Compressed size beyond the payload.
    let mut e = E::zstd(1, 80, text.as_bytes());
    e.compressed_size += 64;
    let err = Fatbin::parse(&fatbin(&[e])).unwrap().entries[0]
        .data()
        .unwrap_err();
    assert!(err.to_string().contains("exceeds the payload"), "{err}");
    // zstd garbage, and zstd with a wrong declared size.
    let mut e = E::zstd(1, 80, text.as_bytes());
    e.stored[5..].fill(0x5a);
    let err = Fatbin::parse(&fatbin(&[e])).unwrap().entries[0]
        .data()
        .unwrap_err();
    assert!(
        matches!(err, Error::Decompress { method: "zstd", .. }),
        "{err}"
    );
    let mut e = E::zstd(1, 80, text.as_bytes());
    e.uncompressed_size -= 1;
    assert!(Fatbin::parse(&fatbin(&[e])).unwrap().entries[0]
        .data()
        .is_err());
}

#[test]
fn truncated_fatbins_name_the_broken_structure() {
    let bytes = fatbin(&[E::ptx(80, PTX), E::ptx(90, PTX)]);
    // Inside the container header.
    let e = Fatbin::parse(&bytes[..10]).unwrap_err();
    assert_eq!(malformed_what(&e), "fatbin header");
    // Entries cut short: the header's size now runs past the end.
    let e = Fatbin::parse(&bytes[..bytes.len() - 8]).unwrap_err();
    assert_eq!(malformed_what(&e), "fatbin entries");
    assert!(e.to_string().contains("run past the end"), "{e}");
    // A payload size pointing past the fatbin.
    let mut b = bytes.clone();
    b[16 + 8..16 + 16].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let e = Fatbin::parse(&b).unwrap_err();
    assert_eq!(malformed_what(&e), "fatbin entry 0 payload");
    // An entry header size below 64 is rejected, not looped on.
    let mut b = bytes.clone();
    b[16 + 4..16 + 8].copy_from_slice(&0u32.to_le_bytes());
    let e = Fatbin::parse(&b).unwrap_err();
    assert!(
        e.to_string()
            .contains("fatbin entry 0 header at offset 0x10"),
        "{e}"
    );
    // Wrong magic.
    let mut b = bytes;
    b[0] ^= 1;
    assert!(matches!(Fatbin::parse(&b), Err(Error::Malformed { .. })));
}

#[test]
fn fatbin_file_with_two_fatbins_is_rejected_by_fatbin_parse_but_listed_by_image() {
    let mut b = fatbin(&[E::ptx(80, PTX)]);
    b.extend(fatbin(&[E::ptx(90, PTX)]));
    assert!(Fatbin::parse(&b).is_err());
    let img = Image::parse(&b).unwrap();
    assert_eq!(img.entries().map(|e| e.arch).collect::<Vec<_>>(), [80, 90]);
}

// ---------------------------------------------------------------------------------------------
// Host executables
// ---------------------------------------------------------------------------------------------

#[test]
fn lists_fatbins_embedded_back_to_back() {
    let a = fatbin(&[E::plain(2, 80, &cubin_sm80()), E::ptx(80, PTX)]);
    let b = fatbin(&[E::lz4(1, 90, PTX.replace("sm_80", "sm_90").as_bytes())]);
    let exe = host(&[a, b]);
    let img = Image::parse(&exe).unwrap();
    assert_eq!(img.kind(), ImageKind::HostElf);
    let Image::HostElf(h) = &img else { panic!() };
    assert_eq!((h.machine, h.fatbins.len()), (62, 2));
    assert!(h.fatbins[1].offset % 8 == 0);
    let listed: Vec<_> = img
        .entries()
        .map(|e| (e.kind, e.arch_name(), e.is_compressed()))
        .collect();
    assert_eq!(
        listed,
        [
            (EntryKind::Elf, "sm_80".to_string(), false),
            (EntryKind::Ptx, "sm_80".to_string(), false),
            (EntryKind::Ptx, "sm_90".to_string(), true),
        ]
    );
    let m90 = img.ptx_modules(90).unwrap();
    assert_eq!(m90.len(), 2);
    assert!(m90[0].contains(".target sm_80") && m90[1].contains(".target sm_90"));
    assert_eq!(img.ptx_for(90), Err(Error::MultipleModules { count: 2 }));
    // The second module has no PTX for sm_86 or older.
    let e = img.ptx_modules(86).unwrap_err();
    assert_eq!(
        e,
        Error::NoCompatiblePtx {
            available: "compute_90".into(),
            wanted: 86
        }
    );
}

#[test]
fn garbage_in_the_fatbin_section_is_an_error_with_its_offset() {
    let mut sect = fatbin(&[E::ptx(80, PTX)]);
    pad8(&mut sect);
    let at = sect.len();
    sect.extend(b"JUNKJUNK");
    let exe = elf(62, 0, 0, vec![sec(".nv_fatbin", 1, sect)], vec![]);
    let e = Image::parse(&exe).unwrap_err();
    let Error::Malformed {
        what,
        offset,
        problem,
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(what, "host section .nv_fatbin");
    assert_eq!(
        *offset,
        64 + at as u64,
        "section data starts right after the ELF header"
    );
    assert!(problem.contains("found 4a 55 4e 4b"), "{problem}");
}

#[test]
fn section_table_past_the_end_is_an_error() {
    let mut exe = host(&[fatbin(&[E::ptx(80, PTX)])]);
    exe[40..48].copy_from_slice(&(u64::MAX - 8).to_le_bytes());
    let e = Image::detect(&exe).unwrap_err();
    assert!(e.to_string().contains("section header table"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Cubin
// ---------------------------------------------------------------------------------------------

#[test]
fn reads_cubin_kernels_params_and_globals() {
    let bytes = cubin_sm80();
    let c = Cubin::parse(&bytes).unwrap();
    assert_eq!(
        (c.arch, c.virtual_arch, c.arch_name()),
        (80, Some(80), "sm_80".into())
    );
    assert_eq!(c.kernels.len(), 1, "helper is not an entry");
    let k = c.kernel(KERNEL).unwrap();
    assert_eq!(
        k.params,
        [(0, 0, 8), (1, 8, 8), (2, 16, 8), (3, 24, 4)].map(|(ordinal, offset, size)| CubinParam {
            ordinal,
            offset,
            size
        })
    );
    assert_eq!(k.param_bytes, Some(28));
    assert_eq!(k.param_cbank, Some((0x210, 28)));
    assert_eq!(k.registers, Some(16), "EIATTR_REGCOUNT wins over sh_info");
    assert_eq!(k.max_registers, Some(255));
    assert_eq!(k.shared_bytes, 1024);
    assert_eq!(k.const_bank0_bytes, 0x22c);
    assert_eq!((k.stack_bytes, k.frame_bytes), (None, None));
    let sig = k.signature();
    assert_eq!(sig.name, KERNEL);
    let layout: Vec<_> = sig
        .params
        .iter()
        .map(|p| (p.name.as_str(), p.offset, p.size, p.align))
        .collect();
    assert_eq!(
        layout,
        [
            ("_Z6vecaddPKfS0_Pfi_param_0", 0, 8, 8),
            ("_Z6vecaddPKfS0_Pfi_param_1", 8, 8, 8),
            ("_Z6vecaddPKfS0_Pfi_param_2", 16, 8, 8),
            ("_Z6vecaddPKfS0_Pfi_param_3", 24, 4, 4),
        ]
    );
    let g: Vec<_> = c
        .globals
        .iter()
        .map(|g| (g.name, g.space, g.section, g.size))
        .collect();
    assert_eq!(
        g,
        [
            ("table", GlobalSpace::Global, ".nv.global", 64),
            ("coeffs", GlobalSpace::Constant, ".nv.constant3", 16)
        ]
    );
}

#[test]
fn reads_the_cuda_12_8_e_flags_layout() {
    let b = cubin(8, 0x0600_5a04);
    let c = Cubin::parse(&b).unwrap();
    assert_eq!((c.arch, c.virtual_arch, c.abi_version), (90, None, 8));
}

#[test]
fn kernels_without_the_entry_mark_are_found_through_nv_info() {
    let mut b = cubin_sm80();
    // Clear STO_CUDA_ENTRY on the kernel symbol (the third symbol after the null one).
    let name_at = b
        .windows(KERNEL.len())
        .position(|w| w == KERNEL.as_bytes())
        .unwrap();
    assert!(name_at > 0);
    let c = Cubin::parse(&b).unwrap();
    assert_eq!(c.kernels.len(), 1);
    let sym = b.windows(4).rposition(|w| w == [0x12, 0x10, 5, 0]).unwrap();
    b[sym + 1] = 0;
    let c = Cubin::parse(&b).unwrap();
    let names: Vec<_> = c.kernels.iter().map(|k| k.name).collect();
    assert_eq!(
        names,
        [KERNEL],
        "from .nv.info.<name>; helper has no .nv.info section"
    );
    assert_eq!(c.kernels[0].params.len(), 4);
}

#[test]
fn register_count_falls_back_to_sh_info() {
    let mut b = cubin_sm80();
    // Point the REGCOUNT record at another symbol.
    let at = b.windows(4).position(|w| w == [4, 0x2f, 8, 0]).unwrap();
    b[at + 4] = 9;
    let c = Cubin::parse(&b).unwrap();
    assert_eq!(c.kernels[0].registers, Some(20));
}

#[test]
fn bad_attribute_records_are_errors() {
    let mut b = cubin_sm80();
    let at = b.windows(2).position(|w| w == [3, 0x19]).unwrap();
    b[at] = 9; // unknown format byte
    let e = Cubin::parse(&b).unwrap_err();
    assert!(e.to_string().contains("unknown format 0x09"), "{e}");
    let mut b = cubin_sm80();
    let at = b.windows(4).position(|w| w == [4, 0x17, 12, 0]).unwrap();
    b[at + 2] = 200; // SVAL length past the section
    let e = Cubin::parse(&b).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("cubin .nv.info.{KERNEL} at offset")),
        "{e}"
    );
}

#[test]
fn cubin_machine_must_be_cuda() {
    let b = cubin_sm80();
    let mut x = b.clone();
    x[18] = 62;
    let e = Cubin::parse(&x).unwrap_err();
    assert!(e.to_string().contains("expected 190"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// ptx_for
// ---------------------------------------------------------------------------------------------

#[test]
fn ptx_for_picks_the_newest_usable_ptx() {
    let p = |arch: u32, minor: u16| {
        let mut e = E::ptx(arch, &PTX.replace("sm_80", &format!("sm_{arch}")));
        e.version = (8, minor);
        e
    };
    let b = fatbin(&[p(52, 0), p(80, 1), p(80, 4), p(90, 0)]);
    assert!(ptx_for(&b, 90).unwrap().contains("sm_90"));
    let on_86 = Image::parse(&b).unwrap();
    let chosen = on_86
        .entries()
        .filter(|e| e.arch <= 86)
        .max_by_key(|e| (e.arch, e.code_version));
    assert_eq!(chosen.unwrap().code_version, (8, 4));
    assert!(ptx_for(&b, 86).unwrap().contains("sm_80"));
    assert!(ptx_for(&b, 60).unwrap().contains("sm_52"));
    let e = ptx_for(&b, 50).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the image holds PTX only for compute_52, compute_80, compute_90, none of it for sm_50 or older"
    );
    assert_eq!(ptx_for(PTX.as_bytes(), 0).unwrap(), PTX);
}

#[test]
fn ptx_for_reports_cubin_only_images() {
    let b = fatbin(&[
        E::plain(2, 80, &cubin_sm80()),
        E::plain(2, 90, &cubin(8, 0x0600_5a04)),
    ]);
    assert_eq!(
        ptx_for(&b, 90).unwrap_err().to_string(),
        "the image holds only cubin for sm_80, sm_90; the CPU device needs PTX"
    );
    assert_eq!(
        ptx_for(&cubin_sm80(), 90).unwrap_err().to_string(),
        "the image holds only cubin for sm_80; the CPU device needs PTX"
    );
    let e = ptx_for(&fatbin(&[]), 90).unwrap_err();
    assert!(matches!(e, Error::UnknownFormat(_)), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Robustness: truncations and bit flips never panic
// ---------------------------------------------------------------------------------------------

/// Walks everything an image exposes, as a consumer would.
fn exercise(bytes: &[u8]) {
    let _ = Image::detect(bytes);
    if let Ok(img) = Image::parse(bytes) {
        for e in img.entries() {
            if let Ok(d) = e.data() {
                if e.kind == EntryKind::Elf {
                    if let Ok(c) = Cubin::parse(&d) {
                        c.kernels.iter().for_each(|k| drop(k.signature()));
                    }
                }
            }
            let _ = e.ptx();
        }
        if let Image::Cubin(c) = &img {
            c.kernels.iter().for_each(|k| drop(k.signature()));
        }
        let _ = img.ptx_for(90);
    }
}

fn samples() -> Vec<Vec<u8>> {
    let text = PTX.repeat(4);
    vec![
        fatbin(&[E::plain(2, 80, &cubin_sm80()), E::ptx(80, PTX)]),
        fatbin(&[E::lz4(1, 80, text.as_bytes()), E::lz4(2, 80, &cubin_sm80())]),
        fatbin(&[
            E::zstd(1, 90, text.as_bytes()),
            E::zstd(2, 90, &cubin(8, 0x0600_5a04)),
        ]),
        cubin_sm80(),
        host(&[
            fatbin(&[E::ptx(80, PTX)]),
            fatbin(&[E::lz4(1, 90, text.as_bytes())]),
        ]),
    ]
}

#[test]
fn every_truncation_is_handled() {
    for s in samples() {
        for n in 0..s.len() {
            exercise(&s[..n]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn bit_flips_never_panic(which in 0usize..5, flips in prop::collection::vec((any::<usize>(), 0u8..8), 1..8)) {
        let mut s = samples().swap_remove(which);
        for (at, bit) in flips {
            let i = at % s.len();
            s[i] ^= 1 << bit;
        }
        exercise(&s);
    }

    #[test]
    fn byte_overwrites_never_panic(which in 0usize..5, at in any::<usize>(), v in any::<u64>()) {
        let mut s = samples().swap_remove(which);
        let i = at % s.len();
        let bytes = v.to_le_bytes();
        let n = (s.len() - i).min(8);
        s[i..i + n].copy_from_slice(&bytes[..n]);
        exercise(&s);
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..512)) {
        exercise(&b);
        let mut f = FATBIN_MAGIC.to_le_bytes().to_vec();
        f.extend(&b);
        exercise(&f);
    }
}
