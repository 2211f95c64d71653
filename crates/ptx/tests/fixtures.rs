//! Every `.ptx` file under the repository's `tests/fixtures/` (compiler output collected from
//! nvcc, Triton, numba, clang, rustc) and this crate's own samples parses and checks.

use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|x| x == "ptx") {
            out.push(p);
        }
    }
}

#[test]
fn every_fixture_parses_and_describes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect(&root.join("../../tests/fixtures"), &mut files);
    collect(&root.join("tests/samples"), &mut files);
    files.sort();
    assert!(files.len() >= 6, "samples missing: {files:?}");
    let mut failures = Vec::new();
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap();
        match ferrocuda_ptx::parse(&src) {
            Ok(m) => {
                assert!(!ferrocuda_ptx::describe::describe(&m).is_empty());
            }
            Err(e) => failures.push(format!("{}:\n{e}", f.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// PTX embedded in the fatbins, executables and objects under `tests/fixtures/` (real nvcc
/// output, extracted by `container`) parses and checks too.
#[test]
fn ptx_inside_fixture_containers_parses() {
    use ferrocuda_ptx::container::{EntryKind, Image};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect_all(&root.join("../../tests/fixtures"), &mut files);
    let mut failures = Vec::new();
    let (mut images, mut parsed) = (0, 0);
    for f in &files {
        let Ok(bytes) = std::fs::read(f) else {
            continue;
        };
        let Ok(image) = Image::parse(&bytes) else {
            continue;
        };
        images += 1;
        for e in image.entries().filter(|e| e.kind == EntryKind::Ptx) {
            let Ok(text) = e.ptx() else {
                continue;
            };
            parsed += 1;
            if let Err(err) = ferrocuda_ptx::parse(&text) {
                failures.push(format!("{} ({}):\n{err}", f.display(), e.arch_name()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // Every fatbin the fixtures hold carries PTX for a virtual architecture.
    assert!(
        images == 0 || parsed > 0,
        "no PTX found in {images} containers"
    );
    eprintln!("{parsed} embedded PTX modules from {images} containers");
}

fn collect_all(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_all(&p, out);
        } else if !p
            .extension()
            .is_some_and(|x| x == "ptx" || x == "txt" || x == "md")
        {
            out.push(p);
        }
    }
}

/// Kernel parameter layouts computed from the PTX equal what ptxas recorded in the cubin of the
/// same source (`EIATTR_KPARAM_INFO`, `EIATTR_CBANK_PARAM_SIZE`): the bytes the driver packs.
#[test]
fn param_layout_matches_ptxas() {
    use ferrocuda_ptx::container::Cubin;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let Ok(entries) = std::fs::read_dir(root.join("cubin")) else {
        return;
    };
    let mut kernels = 0;
    for e in entries.flatten() {
        let p = e.path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let Some(module) = name.strip_suffix(".sm_90.cubin") else {
            continue;
        };
        let Ok(src) = std::fs::read_to_string(root.join(format!("ptx/{module}.o3_sm90.ptx")))
        else {
            continue;
        };
        let bytes = std::fs::read(&p).unwrap();
        let cubin = Cubin::parse(&bytes).unwrap();
        let m = ferrocuda_ptx::parse(&src).unwrap();
        for ck in &cubin.kernels {
            let k = m
                .kernel(ck.name)
                .unwrap_or_else(|| panic!("{module}: kernel {} missing from PTX", ck.name));
            let ours: Vec<(u32, u32)> = k.params.iter().map(|p| (p.offset, p.size)).collect();
            let theirs: Vec<(u32, u32)> = ck.params.iter().map(|p| (p.offset, p.size)).collect();
            assert_eq!(ours, theirs, "{module}: {}", ck.name);
            if let Some(total) = ck.param_bytes {
                assert_eq!(k.param_bytes(), total, "{module}: {}", ck.name);
            }
            if let Some(t) = ck.max_threads {
                assert_eq!(k.bounds.maxntid, Some(t), "{module}: {}", ck.name);
            }
            if let Some(t) = ck.req_threads {
                assert_eq!(k.bounds.reqntid, Some(t), "{module}: {}", ck.name);
            }
            kernels += 1;
        }
    }
    eprintln!("{kernels} kernels cross-checked against ptxas");
}
