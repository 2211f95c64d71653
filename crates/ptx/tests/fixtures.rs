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
