//! Tests against real toolchain output in `tests/fixtures/` (nvcc 13.0; see the README there
//! for the commands): entry lists match `cuobjdump`, extracted PTX matches what nvcc wrote,
//! and cubin kernel layouts match the PTX declarations of the same source.

use super::*;
use crate::ir::{KernelSignature, ParamLayout};

/// A file of `tests/fixtures/samples`, or of another fixture folder when `name` has a `/`.
fn fixture(name: &str) -> Vec<u8> {
    let name = if name.contains('/') {
        name.to_string()
    } else {
        format!("samples/{name}")
    };
    let path = format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fixture_text(name: &str) -> String {
    String::from_utf8(fixture(name)).unwrap()
}

/// The lines `cuobjdump --list-elf --list-ptx` prints for an image named `stem`: per fatbin,
/// its cubins then its PTX, numbered across the whole image.
fn cuobjdump_listing(stem: &str, img: &Image) -> Vec<String> {
    let mut out = Vec::new();
    let (mut n_elf, mut n_ptx) = (0, 0);
    for fb in img.fatbins() {
        for e in fb.entries.iter().filter(|e| e.kind == EntryKind::Elf) {
            n_elf += 1;
            out.push(format!(
                "ELF file {n_elf:>4}: {stem}.{n_elf}.{}.cubin",
                e.arch_name()
            ));
        }
        for e in fb.entries.iter().filter(|e| e.kind == EntryKind::Ptx) {
            n_ptx += 1;
            out.push(format!(
                "PTX file {n_ptx:>4}: {stem}.{n_ptx}.{}.ptx",
                e.arch_name()
            ));
        }
    }
    out
}

#[test]
fn entry_lists_match_cuobjdump() {
    let expected = fixture_text("sample_fatbin_list.txt");
    let mut listed = Vec::new();
    for stem in ["sample", "sample_compressed"] {
        let bytes = fixture(&format!("{stem}.fatbin"));
        assert_eq!(Image::detect(&bytes), Ok(ImageKind::Fatbin));
        listed.extend(cuobjdump_listing(stem, &Image::parse(&bytes).unwrap()));
    }
    assert_eq!(listed, expected.lines().collect::<Vec<_>>());
}

/// PTX with comments removed and whitespace runs collapsed, line by line: fatbinary strips
/// comments and indentation from the PTX it embeds but keeps every line.
fn normalize(ptx: &str) -> Vec<String> {
    ptx.lines()
        .map(|l| {
            let code = l.split("//").next().unwrap_or("");
            code.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect()
}

#[test]
fn embedded_ptx_matches_what_nvcc_wrote() {
    let nvcc = fixture_text("sample_O3_sm90.ptx");
    for name in ["sample.fatbin", "sample_compressed.fatbin"] {
        let ptx = ptx_for(&fixture(name), 90).unwrap();
        assert_eq!(normalize(&ptx), normalize(&nvcc), "{name}");
    }
    // sample.fatbin holds PTX for compute_90 only.
    let e = ptx_for(&fixture("sample.fatbin"), 86).unwrap_err();
    assert!(
        matches!(e, Error::NoCompatiblePtx { wanted: 86, .. }),
        "{e}"
    );
}

#[test]
fn compressed_fatbin_is_zstd_and_holds_the_same_code() {
    let plain_bytes = fixture("sample.fatbin");
    let zst_bytes = fixture("sample_compressed.fatbin");
    let plain = Image::parse(&plain_bytes).unwrap();
    let zst = Image::parse(&zst_bytes).unwrap();
    let z: Vec<_> = zst.entries().collect();
    assert_eq!(z.len(), 2);
    for e in &z {
        assert_eq!(e.compression(), Compression::Zstd, "entry {}", e.index);
        assert!(u64::from(e.compressed_size) < e.uncompressed_size);
    }
    assert_eq!(z[1].code_version, (9, 0), "CUDA 13.0 emits PTX ISA 9.0");
    let cubin = fixture("sample_sm90.cubin");
    assert_eq!(&*z[0].data().unwrap(), &cubin[..]);
    let p90 = plain
        .entries()
        .find(|e| e.kind == EntryKind::Elf && e.arch == 90)
        .unwrap();
    assert_eq!(&p90.data().unwrap()[..], &cubin[..]);
    assert_eq!(zst.ptx_for(90).unwrap(), plain.ptx_for(90).unwrap());
}

/// The kernel signatures declared in PTX text (sizes, alignments, packed offsets).
fn ptx_signatures(ptx: &str) -> Vec<KernelSignature> {
    let mut out = Vec::new();
    let mut lines = ptx.lines();
    while let Some(l) = lines.next() {
        let Some(rest) = l.trim().strip_prefix(".visible .entry ") else {
            continue;
        };
        let name = rest.trim_end_matches('(').to_string();
        let mut params = Vec::new();
        let mut offset = 0u32;
        for p in lines.by_ref() {
            let p = p.trim().trim_end_matches(',');
            if p == ")" {
                break;
            }
            let toks: Vec<&str> = p.split_whitespace().collect();
            let mut align = None;
            let mut ty_size = 0;
            let mut pname = "";
            let mut i = 1;
            while i < toks.len() {
                match toks[i] {
                    ".align" => {
                        align = Some(toks[i + 1].parse::<u32>().unwrap());
                        i += 1;
                    }
                    ".u64" | ".b64" | ".s64" | ".f64" => ty_size = 8,
                    ".u32" | ".b32" | ".s32" | ".f32" => ty_size = 4,
                    ".b8" | ".u8" | ".s8" => ty_size = 1,
                    t => pname = t,
                }
                i += 1;
            }
            let (pname, count) = match pname.split_once('[') {
                Some((n, c)) => (n, c.trim_end_matches(']').parse::<u32>().unwrap()),
                None => (pname, 1),
            };
            let align = align.unwrap_or(ty_size);
            offset = offset.div_ceil(align) * align;
            let size = ty_size * count;
            params.push(ParamLayout {
                name: pname.into(),
                offset,
                size,
                align,
            });
            offset += size;
        }
        out.push(KernelSignature { name, params });
    }
    out
}

#[test]
fn cubin_kernels_match_the_ptx_of_the_same_source() {
    let bytes = fixture("sample_sm90.cubin");
    assert_eq!(Image::detect(&bytes), Ok(ImageKind::Cubin));
    let c = Cubin::parse(&bytes).unwrap();
    assert_eq!(
        (c.arch, c.abi_version, c.arch_name()),
        (90, 8, "sm_90".to_string())
    );
    let mut from_ptx = ptx_signatures(&fixture_text("sample_O3_sm90.ptx"));
    from_ptx.sort_by(|a, b| a.name.cmp(&b.name));
    let from_cubin: Vec<_> = c.kernels.iter().map(|k| k.signature()).collect();
    assert_eq!(from_ptx.len(), 3, "vector_add, reduce_sum, misc");
    assert_eq!(
        from_cubin, from_ptx,
        "the __device__ helper is not a kernel"
    );
    for k in &c.kernels {
        let total = k.params.last().map_or(0, |p| p.offset + p.size);
        assert_eq!(k.param_bytes, Some(total), "{}", k.name);
        assert!(
            k.registers.is_some_and(|r| (1..=255).contains(&r)),
            "{}",
            k.name
        );
    }
    // `struct Params { float; int; double; char; }` is 24 bytes, 8-aligned.
    assert_eq!(c.kernel("misc").unwrap().params[0].size, 24);
    let g: Vec<_> = c
        .globals
        .iter()
        .map(|g| (g.name, g.space, g.size))
        .collect();
    assert!(g.contains(&("table", GlobalSpace::Constant, 64)), "{g:?}");
    assert!(g.contains(&("counter", GlobalSpace::Global, 4)), "{g:?}");
    assert_eq!(
        ptx_for(&bytes, 90).unwrap_err().to_string(),
        "the image holds only cubin for sm_90; the CPU device needs PTX"
    );
}

#[test]
fn sm80_cubin_in_the_fatbin_has_the_same_kernels() {
    let bytes = fixture("sample.fatbin");
    let img = Image::parse(&bytes).unwrap();
    let e = img.entries().find(|e| e.arch == 80).unwrap();
    assert_eq!(e.kind, EntryKind::Elf);
    let data = e.data().unwrap();
    let c80 = Cubin::parse(&data).unwrap();
    assert_eq!(c80.arch, 80);
    let c90_bytes = fixture("sample_sm90.cubin");
    let c90 = Cubin::parse(&c90_bytes).unwrap();
    let sigs = |c: &Cubin| c.kernels.iter().map(|k| k.signature()).collect::<Vec<_>>();
    assert_eq!(sigs(&c80), sigs(&c90));
}

#[test]
fn every_truncation_of_the_real_fatbins_is_an_error_not_a_panic() {
    for name in ["sample_compressed.fatbin", "sample_sm90.cubin"] {
        let bytes = fixture(name);
        for n in (0..bytes.len()).step_by(7) {
            if let Ok(img) = Image::parse(&bytes[..n]) {
                for e in img.entries() {
                    let _ = e.data();
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// tests/fixtures/containers: executables, LZ4 and zstd fatbins, relocatable device code
// ---------------------------------------------------------------------------------------------

const CONTAINERS: [(&str, &str, ImageKind); 5] = [
    ("exe_plain", "exe_plain", ImageKind::HostElf),
    ("exe_lz4", "exe_lz4", ImageKind::HostElf),
    (
        "sample_mode_speed.fatbin",
        "sample_mode_speed",
        ImageKind::Fatbin,
    ),
    (
        "sample_mode_size.fatbin",
        "sample_mode_size",
        ImageKind::Fatbin,
    ),
    ("sample_rdc.o", "sample_rdc", ImageKind::HostElf),
];

#[test]
fn container_fixture_listings_match_cuobjdump() {
    for (file, stem, kind) in CONTAINERS {
        let bytes = fixture(&format!("containers/{file}"));
        assert_eq!(Image::detect(&bytes), Ok(kind), "{file}");
        let img = Image::parse(&bytes).unwrap();
        let expected = fixture_text(&format!("containers/{stem}_list.txt"));
        assert_eq!(
            cuobjdump_listing(stem, &img),
            expected.lines().collect::<Vec<_>>(),
            "{file}"
        );
        for e in img.entries() {
            let data = e.data().unwrap_or_else(|err| panic!("{file}: {err}"));
            if e.is_compressed() {
                assert_eq!(data.len() as u64, e.uncompressed_size);
            }
        }
    }
}

#[test]
fn lz4_and_zstd_modes_decode_to_the_same_code() {
    let cubin = fixture("sample_sm90.cubin");
    let nvcc = normalize(&fixture_text("sample_O3_sm90.ptx"));
    for (file, method) in [("speed", Compression::Lz4), ("size", Compression::Zstd)] {
        let bytes = fixture(&format!("containers/sample_mode_{file}.fatbin"));
        let fb = Fatbin::parse(&bytes).unwrap();
        assert!(
            fb.entries.iter().all(|e| e.compression() == method),
            "{file}"
        );
        assert_eq!(&*fb.entries[0].data().unwrap(), &cubin[..], "{file}");
        assert_eq!(normalize(&fb.entries[1].ptx().unwrap()), nvcc, "{file}");
    }
}

#[test]
fn executables_hold_one_module_per_translation_unit() {
    let plain_bytes = fixture("containers/exe_plain");
    let lz4_bytes = fixture("containers/exe_lz4");
    let plain = Image::parse(&plain_bytes).unwrap();
    let lz4 = Image::parse(&lz4_bytes).unwrap();
    assert_eq!(plain.fatbins().len(), 3);
    // Same code, compressed or not.
    for (p, z) in plain.entries().zip(lz4.entries()) {
        assert_eq!((p.kind, p.arch), (z.kind, z.arch));
        assert!(!p.is_compressed());
        assert_eq!(z.compression(), Compression::Lz4);
        let (pd, zd) = (p.data().unwrap(), z.data().unwrap());
        assert_eq!(&pd[..zd.len()], &zd[..]);
        assert!(
            pd[zd.len()..].iter().all(|&b| b == 0),
            "only padding follows"
        );
    }
    let modules = plain.ptx_modules(90).unwrap();
    assert_eq!(modules, lz4.ptx_modules(90).unwrap());
    assert_eq!(
        modules.len(),
        2,
        "the kernel-less support fatbin is skipped"
    );
    assert_eq!(
        normalize(&modules[0]),
        normalize(&fixture_text("sample_O3_sm90.ptx"))
    );
    assert!(
        modules[1].contains(".entry _Z5scalePffi("),
        "{}",
        modules[1]
    );
    let e = plain.ptx_for(90).unwrap_err();
    assert_eq!(e, Error::MultipleModules { count: 2 });
    // The second translation unit's kernel, from its sm_80 cubin.
    let tu2 = &plain.fatbins()[2];
    let c80 = tu2
        .entries
        .iter()
        .find(|e| e.arch == 80)
        .unwrap()
        .data()
        .unwrap();
    let c80 = Cubin::parse(&c80).unwrap();
    let k = c80.kernel("_Z5scalePffi").unwrap();
    let sizes: Vec<_> = k.params.iter().map(|p| (p.offset, p.size)).collect();
    assert_eq!(
        sizes,
        [(0, 8), (8, 4), (12, 4)],
        "scale(float*, float, int)"
    );
}

#[test]
fn relocatable_object_lists_kernels_not_device_functions() {
    let bytes = fixture("containers/sample_rdc.o");
    let img = Image::parse(&bytes).unwrap();
    let Image::HostElf(h) = &img else {
        panic!("not a host ELF")
    };
    assert_eq!(h.machine, 62);
    let e = img.entries().find(|e| e.kind == EntryKind::Elf).unwrap();
    let data = e.data().unwrap();
    let c = Cubin::parse(&data).unwrap();
    assert_eq!(c.elf_type, 1, "ET_REL");
    let names: Vec<_> = c.kernels.iter().map(|k| k.name).collect();
    assert_eq!(names, ["misc", "reduce_sum", "vector_add"]);
    let ptx = img.ptx_for(90).unwrap();
    assert_eq!(ptx.matches(".entry").count(), 3);
    let p = img.entries().find(|e| e.kind == EntryKind::Ptx).unwrap();
    assert_eq!(
        (p.header_size, p.options),
        (96, Some("--compile-only")),
        "ptxas options"
    );
}

#[test]
fn extracted_ptx_parses_and_agrees_with_the_cubins() {
    // What the CPU device does with an image: take its PTX and parse it. The parser's kernel
    // signatures must equal those the cubins of the same module record.
    let cases = [
        ("sample_compressed.fatbin", 90),
        ("containers/sample_mode_speed.fatbin", 90),
        ("containers/exe_lz4", 90),
        ("containers/sample_rdc.o", 90),
    ];
    for (file, arch) in cases {
        let bytes = fixture(file);
        let img = Image::parse(&bytes).unwrap();
        let modules = img.ptx_modules(arch).unwrap();
        let with_ptx = img
            .fatbins()
            .iter()
            .filter(|f| f.entries.iter().any(|e| e.kind == EntryKind::Ptx));
        assert_eq!(with_ptx.clone().count(), modules.len(), "{file}");
        for (fb, ptx) in with_ptx.zip(&modules) {
            let m = crate::parse(ptx).unwrap_or_else(|e| panic!("{file}: {e}"));
            let cubin = fb
                .entries
                .iter()
                .find(|e| e.kind == EntryKind::Elf && e.arch == arch);
            let data = cubin.unwrap().data().unwrap();
            let c = Cubin::parse(&data).unwrap();
            assert!(!c.kernels.is_empty(), "{file}");
            for k in &c.kernels {
                let f = m
                    .kernel(k.name)
                    .unwrap_or_else(|| panic!("{file}: no PTX kernel {}", k.name));
                assert_eq!(f.signature(), k.signature(), "{file}: {}", k.name);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// tests/fixtures/{cubin,fatbin,cuobjdump}: the GPU fixture pipeline's containers
// ---------------------------------------------------------------------------------------------

/// The cubin fixtures, as (module name, bytes).
fn cubin_fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = format!("{}/../../tests/fixtures/cubin", env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cubin"))
        .map(|p| {
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    assert!(out.len() >= 20, "{} cubins", out.len());
    out
}

/// `cuobjdump --dump-resource-usage` as `name → [REG, STACK, SHARED, CONSTANT[0]]`.
fn resource_usage(text: &str) -> BTreeMap<String, [u64; 4]> {
    let mut out = BTreeMap::new();
    let mut name = None;
    for line in text.lines() {
        if let Some(n) = line.trim().strip_prefix("Function ") {
            name = Some(n.trim_end_matches(':').to_string());
        } else if let (Some(n), true) = (&name, line.contains("REG:")) {
            let field = |key: &str| -> u64 {
                let v = line
                    .split_whitespace()
                    .find_map(|t| t.strip_prefix(key))
                    .unwrap();
                v.parse().unwrap()
            };
            out.insert(
                n.clone(),
                [
                    field("REG:"),
                    field("STACK:"),
                    field("SHARED:"),
                    field("CONSTANT[0]:"),
                ],
            );
        }
    }
    out
}

use std::collections::BTreeMap;

#[test]
fn cubin_resources_match_cuobjdump() {
    for (file, bytes) in cubin_fixtures() {
        let c = Cubin::parse(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(c.arch, 90, "{file}");
        let ours: BTreeMap<String, [u64; 4]> = c
            .kernels
            .iter()
            .map(|k| {
                let v = [
                    u64::from(k.registers.unwrap_or(0)),
                    u64::from(k.stack_bytes.unwrap_or(0)),
                    k.shared_bytes,
                    k.const_bank0_bytes,
                ];
                (k.name.to_string(), v)
            })
            .collect();
        let text = fixture_text(&format!("cuobjdump/{file}.resource-usage.txt"));
        assert_eq!(ours, resource_usage(&text), "{file}");
        for k in &c.kernels {
            let (off, size) = k.param_cbank.unwrap();
            assert_eq!(
                u64::from(off) + u64::from(size),
                k.const_bank0_bytes,
                "{file} {}",
                k.name
            );
        }
    }
}

#[test]
fn cubin_symbols_match_cuobjdump() {
    for (file, bytes) in cubin_fixtures() {
        let c = Cubin::parse(&bytes).unwrap();
        let text = fixture_text(&format!("cuobjdump/{file}.symbols.txt"));
        let mut kernels = Vec::new();
        let mut objects = Vec::new();
        for line in text.lines() {
            let t: Vec<&str> = line.split_whitespace().collect();
            match t.as_slice() {
                ["STT_FUNC", _, "STO_ENTRY", name] => kernels.push(*name),
                ["STT_OBJECT", _, _, name] => objects.push(*name),
                _ => {}
            }
        }
        kernels.sort();
        objects.sort();
        let mut ours_k: Vec<&str> = c.kernels.iter().map(|k| k.name).collect();
        let mut ours_g: Vec<&str> = c.globals.iter().map(|g| g.name).collect();
        ours_k.sort();
        ours_g.sort();
        assert_eq!(ours_k, kernels, "{file}");
        assert_eq!(ours_g, objects, "{file}");
    }
}

/// The PTX extracted from each fatbin fixture, parsed, against the cubin signatures.
fn check_ptx_against_cubins(file: &str, img: &Image) {
    for fb in img.fatbins() {
        let Some(ptx) = fb.ptx_module(90).unwrap() else {
            continue;
        };
        let m = crate::parse(&ptx).unwrap_or_else(|e| panic!("{file}: {e}"));
        for e in fb.entries.iter().filter(|e| e.kind == EntryKind::Elf) {
            let data = e.data().unwrap();
            let c = Cubin::parse(&data).unwrap();
            assert_eq!(
                c.arch, e.arch,
                "{file}: entry and ELF agree on the architecture"
            );
            for k in &c.kernels {
                let f = m
                    .kernel(k.name)
                    .unwrap_or_else(|| panic!("{file}: {}", k.name));
                assert_eq!(
                    f.signature(),
                    k.signature(),
                    "{file}: {} on {}",
                    k.name,
                    e.arch
                );
            }
        }
    }
}

/// What `cuobjdump -ptx` prints for an image: a header per cubin and PTX entry, and the PTX.
fn cuobjdump_ptx(img: &Image) -> String {
    let mut s = String::new();
    for e in img.entries() {
        let kind = match e.kind {
            EntryKind::Elf => "elf",
            EntryKind::Ptx => "ptx",
            _ => continue,
        };
        let (major, minor) = e.code_version;
        s += &format!(
            "\nFatbin {kind} code:\n================\narch = {}\n",
            e.arch_name()
        );
        s += &format!("code version = [{major},{minor}]\nhost = linux\ncompile_size = 64bit\n");
        if e.is_compressed() {
            s += "compressed\n";
        }
        if e.kind == EntryKind::Ptx {
            s += &format!(
                "ptxasOptions = {}\n{}\n",
                e.options.unwrap_or(""),
                e.ptx().unwrap()
            );
        }
    }
    s
}

#[test]
fn pipeline_fatbins_match_cuobjdump_listing_and_ptx_dump() {
    for stem in [
        "reduce",
        "reduce.compressed",
        "seed",
        "seed.compressed",
        "app",
    ] {
        let name = if stem == "app" {
            stem.to_string()
        } else {
            format!("{stem}.fatbin")
        };
        let file = format!("fatbin/{name}");
        let bytes = fixture(&file);
        let img = Image::parse(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        let listing = fixture_text(&format!("cuobjdump/{name}.list.txt"));
        assert_eq!(
            cuobjdump_listing(stem, &img),
            listing.lines().collect::<Vec<_>>(),
            "{file}"
        );
        let dump = fixture_text(&format!("cuobjdump/{name}.ptx.txt"));
        assert_eq!(cuobjdump_ptx(&img), dump, "{file}");
        check_ptx_against_cubins(&file, &img);
    }
}

#[test]
fn app_executable_yields_its_module() {
    let bytes = fixture("fatbin/app");
    let img = Image::parse(&bytes).unwrap();
    assert_eq!(img.kind(), ImageKind::HostElf);
    // The toolkit's kernel-less fatbin is skipped: one module, app.cu's.
    let ptx = img.ptx_for(90).unwrap();
    let m = crate::parse(&ptx).unwrap();
    assert!(m.kernel("app_scale").is_some());
    let cubins: Vec<_> = img
        .entries()
        .filter(|e| e.kind == EntryKind::Elf)
        .map(|e| {
            Cubin::parse(&e.data().unwrap()).map(|c| (c.arch, c.kernels.len(), c.globals.len()))
        })
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        cubins.contains(&(90, 1, 1)),
        "app_scale and app_counter: {cubins:?}"
    );
}

#[test]
fn native_image_picks_the_executables_kernel_fatbin() {
    use crate::container::native_image;
    // A single translation unit: its fatbin, which parses on its own and holds app_scale.
    let bytes = fixture("fatbin/app");
    let fb = native_image(&bytes).unwrap();
    assert!(fb.len() < bytes.len());
    let img = Image::parse(fb).unwrap();
    assert_eq!(img.kind(), ImageKind::Fatbin);
    let m = crate::parse(&img.ptx_for(90).unwrap()).unwrap();
    assert!(m.kernel("app_scale").is_some());
    // PTX, cubins and fatbins are loaded as they are.
    let fatbin = fixture("fatbin/reduce.fatbin");
    assert_eq!(native_image(&fatbin).unwrap(), &fatbin[..]);
    // Two translation units: two modules.
    let two = fixture("containers/exe_plain");
    assert!(matches!(
        native_image(&two),
        Err(crate::container::Error::MultipleModules { count: 2 })
    ));
}
