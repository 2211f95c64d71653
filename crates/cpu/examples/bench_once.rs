//! Runs each benchmark kernel (saxpy 1M, shared-memory reduction 1M, tiled matmul 256², Collatz
//! walks 64K) a given number of times on one worker, for profilers that count instructions
//! (callgrind) where criterion's many iterations would take too long.
//!
//! `cargo run --release -p ferrocuda-cpu --example bench_once -- [saxpy|reduce|matmul|collatz|collatz_inlined|triton_add|histogram|histogram_global] [reps]`

use ferrocuda_cpu::{Device, LaunchConfig};

#[path = "../benches/ptx_sources.rs"]
mod ptx_sources;

/// Says on standard error how the kernel runs.
fn report(k: &ferrocuda_cpu::Kernel) {
    match k.interpreted_because() {
        None if k.is_vectorized() => eprintln!("{}: compiled, four threads at a time", k.name()),
        None => eprintln!("{}: compiled", k.name()),
        Some(r) => eprintln!("{}: interpreted ({r})", k.name()),
    }
}

/// Launches `k` `reps` times on a `grid` of `block`s, then says how it ran.
fn launch(
    dev: &Device,
    k: &ferrocuda_cpu::Kernel,
    grid: [u32; 3],
    block: [u32; 3],
    p: &[u8],
    reps: usize,
) {
    let cfg = LaunchConfig {
        grid,
        block,
        dynamic_shared: 0,
    };
    for _ in 0..reps {
        dev.launch(k, &cfg, p).unwrap();
    }
    report(k);
}

fn upload(dev: &Device, b: &[u8]) -> u64 {
    let a = dev.memory().alloc(b.len() as u64).unwrap();
    dev.memory().write(a, b).unwrap();
    a
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map(String::as_str).unwrap_or("all");
    let reps: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let dev = Device::with_workers(1);
    let n = 1usize << 20;
    let f32s = |f: &dyn Fn(usize) -> f32, len: usize| -> Vec<u8> {
        (0..len).flat_map(|i| f(i).to_le_bytes()).collect()
    };
    if which == "all" || which == "saxpy" {
        let m = dev
            .load_module(&ferrocuda_ptx::parse(ptx_sources::SAXPY).unwrap())
            .unwrap();
        let k = m.kernel("saxpy").unwrap();
        let dx = upload(&dev, &f32s(&|i| (i % 1000) as f32, n));
        let dy = upload(&dev, &f32s(&|i| (i % 7) as f32, n));
        let mut p = Vec::new();
        p.extend_from_slice(&(n as u32).to_le_bytes());
        p.extend_from_slice(&2.0f32.to_le_bytes());
        p.extend_from_slice(&dx.to_le_bytes());
        p.extend_from_slice(&dy.to_le_bytes());
        launch(&dev, &k, [(n / 256) as u32, 1, 1], [256, 1, 1], &p, reps);
    }
    if which == "all" || which == "reduce" {
        let m = dev
            .load_module(&ferrocuda_ptx::parse(ptx_sources::REDUCE).unwrap())
            .unwrap();
        let k = m.kernel("reduce").unwrap();
        let bytes: Vec<u8> = (0..n as u32)
            .flat_map(|i| (i % 977).to_le_bytes())
            .collect();
        let din = upload(&dev, &bytes);
        let dout = upload(&dev, &[0; 4]);
        let mut p = Vec::new();
        p.extend_from_slice(&din.to_le_bytes());
        p.extend_from_slice(&dout.to_le_bytes());
        p.extend_from_slice(&(n as u32).to_le_bytes());
        launch(&dev, &k, [(n / 256) as u32, 1, 1], [256, 1, 1], &p, reps);
        let mut out = [0u8; 4];
        dev.memory().read(dout, &mut out).unwrap();
        let want = (0..n as u32).fold(0u32, |s, i| s.wrapping_add(i % 977));
        assert_eq!(u32::from_le_bytes(out), want.wrapping_mul(reps as u32));
    }
    if which == "all" || which == "matmul" {
        let nn = 256usize;
        let m = dev
            .load_module(&ferrocuda_ptx::parse(&ptx_sources::matmul_ptx()).unwrap())
            .unwrap();
        let k = m.kernel("matmul").unwrap();
        let da = upload(&dev, &f32s(&|i| (i % 17) as f32 * 0.25, nn * nn));
        let db = upload(&dev, &f32s(&|i| (i % 13) as f32 * 0.5, nn * nn));
        let dc = dev.memory().alloc((nn * nn * 4) as u64).unwrap();
        let mut p = Vec::new();
        for a in [da, db, dc] {
            p.extend_from_slice(&a.to_le_bytes());
        }
        p.extend_from_slice(&(nn as u32).to_le_bytes());
        let t = (nn / 16) as u32;
        launch(&dev, &k, [t, t, 1], [16, 16, 1], &p, reps);
        let mut c = vec![0u8; nn * nn * 4];
        dev.memory().read(dc, &mut c).unwrap();
        for (i, j) in [(0, 0), (17, 200), (255, 255)] {
            let want = (0..nn).fold(0f32, |acc, k| {
                let a = ((i * nn + k) % 17) as f32 * 0.25;
                let b = ((k * nn + j) % 13) as f32 * 0.5;
                a.mul_add(b, acc)
            });
            let got = f32::from_le_bytes(c[4 * (i * nn + j)..][..4].try_into().unwrap());
            assert_eq!(got.to_bits(), want.to_bits());
        }
    }
    if which == "all" || which == "histogram" || which == "histogram_global" {
        // The conformance suite's histograms: shared-memory atomics between barriers, and one
        // global atomic a thread.
        let src = include_str!("../../../tests/fixtures/ptx/histogram.o3_sm90.ptx");
        let m = dev
            .load_module(&ferrocuda_ptx::parse(src).unwrap())
            .unwrap();
        let data: Vec<u8> = (0..n as u32)
            .flat_map(|i| (i.wrapping_mul(2_654_435_761) >> 7).to_le_bytes())
            .collect();
        let dd = upload(&dev, &data);
        let bins = upload(&dev, &[0; 4 * 256]);
        let mut p = Vec::new();
        p.extend_from_slice(&dd.to_le_bytes());
        p.extend_from_slice(&(n as u32).to_le_bytes());
        p.extend_from_slice(&[0; 4]);
        p.extend_from_slice(&bins.to_le_bytes());
        let (name, grid, items) = if which == "histogram_global" {
            ("histogram_global", (n / 256) as u32, n as u64)
        } else {
            ("histogram256", 64, 4 * n as u64)
        };
        p[8..12].copy_from_slice(&(items as u32).to_le_bytes());
        let k = m.kernel(name).unwrap();
        launch(&dev, &k, [grid, 1, 1], [256, 1, 1], &p, reps);
        let mut out = vec![0u8; 4 * 256];
        dev.memory().read(bins, &mut out).unwrap();
        let total: u64 = out
            .chunks(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()) as u64)
            .sum();
        assert_eq!(total, items * reps as u64);
    }
    if which == "all" || which == "triton_add" {
        // Triton's vector add (two elements a thread, loads under predicates).
        let src = include_str!("../../../tests/fixtures/ptx/triton_vector_add.triton.ptx");
        let m = dev
            .load_module(&ferrocuda_ptx::parse(src).unwrap())
            .unwrap();
        let k = m.kernel("vector_add").unwrap();
        let dx = upload(&dev, &f32s(&|i| (i % 1000) as f32, n));
        let dy = upload(&dev, &f32s(&|i| (i % 7) as f32, n));
        let dz = upload(&dev, &vec![0; 4 * n]);
        let mut p = Vec::new();
        for a in [dx, dy, dz] {
            p.extend_from_slice(&a.to_le_bytes());
        }
        p.extend_from_slice(&(n as u32).to_le_bytes());
        p.extend_from_slice(&[0; 4]);
        p.extend_from_slice(&[0; 16]);
        launch(&dev, &k, [(n / 256) as u32, 1, 1], [128, 1, 1], &p, reps);
        let mut out = vec![0u8; 4 * n];
        dev.memory().read(dz, &mut out).unwrap();
        for i in [0, 1, 777, n - 1] {
            let got = f32::from_le_bytes(out[4 * i..4 * i + 4].try_into().unwrap());
            assert_eq!(got, (i % 1000) as f32 + (i % 7) as f32);
        }
    }
    if which == "all" || which == "collatz" || which == "collatz_inlined" {
        let n = 1usize << 16;
        let src = if which == "collatz_inlined" {
            ptx_sources::COLLATZ_INLINED
        } else {
            include_str!("../../../tests/fixtures/clang/clang_kernels.o3_sm_80.ptx")
        };
        let m = dev
            .load_module(&ferrocuda_ptx::parse(src).unwrap())
            .unwrap();
        let k = m.kernel("clang_collatz").unwrap();
        let bytes: Vec<u8> = (0..n as i64)
            .flat_map(|i| (i * 7 + 1).to_le_bytes())
            .collect();
        let (din, dout) = (upload(&dev, &bytes), upload(&dev, &bytes));
        let mut p = Vec::new();
        p.extend_from_slice(&din.to_le_bytes());
        p.extend_from_slice(&dout.to_le_bytes());
        p.extend_from_slice(&(n as u32).to_le_bytes());
        launch(&dev, &k, [(n / 256) as u32, 1, 1], [256, 1, 1], &p, reps);
    }
}
