//! Parse + check throughput over every fixture and sample, plus a large synthetic module
//! built from nvcc-style kernels (what a big JIT-loaded module looks like).

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

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

/// The text from the first `.visible .entry` on: a kernel without the module header.
fn kernels_of(src: &str) -> &str {
    src.find(".visible .entry").map_or("", |i| &src[i..])
}

/// Many renamed copies of the sample kernels in one module (about 4 MB).
fn synthetic(root: &Path) -> String {
    let read = |n: &str| std::fs::read_to_string(root.join("tests/samples").join(n)).unwrap();
    let vecadd = read("nvcc_vecadd_o3.ptx");
    let reduce = read("nvcc_reduce_o3.ptx");
    let debug = read("nvcc_debug_g.ptx");
    let mut out = String::from(
        ".version 8.4\n.target sm_80\n.address_size 64\n\
         .global .align 4 .u32 counter;\n\
         .const .align 4 .b8 coeffs[16] = {0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64};\n\
         .global .align 8 .u64 counter_ptr = counter;\n",
    );
    let debug_kernel = kernels_of(&debug);
    let debug_kernel = &debug_kernel[..debug_kernel.find("\t.file").unwrap_or(debug_kernel.len())];
    let mut i = 0;
    while out.len() < 4 << 20 {
        out.push_str(&kernels_of(&vecadd).replace("_Z6vecAddPKfS0_Pfi", &format!("vecadd_{i}")));
        out.push_str(&kernels_of(&reduce).replace("_Z9reduceSumPKfPfj", &format!("reduce_{i}")));
        out.push_str(&debug_kernel.replace("_Z5scalePfif", &format!("scale_{i}")));
        i += 1;
    }
    out
}

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect(&root.join("../../tests/fixtures"), &mut files);
    collect(&root.join("tests/samples"), &mut files);
    files.sort();
    let inputs: Vec<(String, String)> = files
        .iter()
        .filter_map(|f| {
            let name = f.file_name()?.to_string_lossy().into_owned();
            let src = std::fs::read_to_string(f).ok()?;
            ferrocuda_ptx::parse(&src).is_ok().then_some((name, src))
        })
        .collect();
    let mut g = c.benchmark_group("parse");
    // Every fixture and sample back to back: total bytes over total time.
    let total: u64 = inputs.iter().map(|(_, s)| s.len() as u64).sum();
    g.throughput(Throughput::Bytes(total));
    g.bench_function(format!("all_{}_files", inputs.len()), |b| {
        b.iter(|| {
            for (_, s) in &inputs {
                let _ = ferrocuda_ptx::parse(std::hint::black_box(s));
            }
        })
    });
    // The three largest single files (nvcc -G output dominates).
    let mut largest: Vec<&(String, String)> = inputs.iter().collect();
    largest.sort_by_key(|(_, s)| std::cmp::Reverse(s.len()));
    for (name, src) in largest.into_iter().take(3) {
        g.throughput(Throughput::Bytes(src.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), src, |b, s| {
            b.iter(|| ferrocuda_ptx::parse(std::hint::black_box(s)).unwrap())
        });
    }
    let big = synthetic(root);
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.sample_size(20);
    g.bench_with_input(
        BenchmarkId::from_parameter("synthetic_4mb"),
        &big,
        |b, s| b.iter(|| ferrocuda_ptx::parse(std::hint::black_box(s)).unwrap()),
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
