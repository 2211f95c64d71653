//! The CPU device against straightforward native Rust (rayon over the same cores) on four
//! kernels: saxpy (memory bound), a shared-memory reduction (barriers), a tiled matmul
//! (shared memory and FMA throughput), and Collatz walks (divergence: each thread's trip count
//! depends on its input, so the lanes of a warp leave the loop at different times; the PTX is
//! clang's, from `tests/fixtures/clang/`). Also the cost of a small launch from a module of
//! many kernels against the same kernel alone.

use criterion::{criterion_group, criterion_main, Criterion};
use ferrocuda_cpu::{Compilation, Device, LaunchConfig};
use rayon::prelude::*;
use std::hint::black_box;

mod ptx_sources;

fn bytes_f32(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn upload(dev: &Device, b: &[u8]) -> u64 {
    let a = dev.memory().alloc(b.len() as u64).unwrap();
    dev.memory().write(a, b).unwrap();
    a
}

fn params(parts: &[&[u8]]) -> Vec<u8> {
    let mut p = Vec::new();
    for x in parts {
        while p.len() % x.len() != 0 {
            p.push(0);
        }
        p.extend_from_slice(x);
    }
    p
}

fn bench(c: &mut Criterion) {
    // Compiled from the first launch (tiered compilation would interpret the first ones).
    let mut dev = Device::new();
    dev.set_compilation(Compilation::Eager);
    let threads = dev.properties().multiprocessor_count as usize;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();

    // saxpy
    let n = 1usize << 20;
    let x: Vec<f32> = (0..n).map(|i| (i % 1000) as f32).collect();
    let mut y: Vec<f32> = (0..n).map(|i| (i % 7) as f32).collect();
    let m = dev
        .load_module(&ferrocuda_ptx::parse(ptx_sources::SAXPY).unwrap())
        .unwrap();
    let k = m.kernel("saxpy").unwrap();
    let (dx, dy) = (upload(&dev, &bytes_f32(&x)), upload(&dev, &bytes_f32(&y)));
    let p = params(&[
        &(n as u32).to_le_bytes(),
        &2.0f32.to_le_bytes(),
        &dx.to_le_bytes(),
        &dy.to_le_bytes(),
    ]);
    let cfg = LaunchConfig {
        grid: [(n / 256) as u32, 1, 1],
        block: [256, 1, 1],
        dynamic_shared: 0,
    };
    // The same kernel on a device that never compiles kernels.
    let mut idev = Device::new();
    idev.set_compilation(Compilation::Off);
    let im = idev
        .load_module(&ferrocuda_ptx::parse(ptx_sources::SAXPY).unwrap())
        .unwrap();
    let ik = im.kernel("saxpy").unwrap();
    let ip = params(&[
        &(n as u32).to_le_bytes(),
        &2.0f32.to_le_bytes(),
        &upload(&idev, &bytes_f32(&x)).to_le_bytes(),
        &upload(&idev, &bytes_f32(&y)).to_le_bytes(),
    ]);
    let mut g = c.benchmark_group("saxpy_1M");
    g.sample_size(10);
    g.bench_function("ptx", |b| b.iter(|| dev.launch(&k, &cfg, &p).unwrap()));
    g.bench_function("ptx_interpreted", |b| {
        b.iter(|| idev.launch(&ik, &cfg, &ip).unwrap())
    });
    g.bench_function("native", |b| {
        b.iter(|| {
            pool.install(|| {
                y.par_chunks_mut(4096)
                    .zip(x.par_chunks(4096))
                    .for_each(|(y, x)| {
                        for (y, x) in y.iter_mut().zip(x) {
                            *y += 2.0 * x;
                        }
                    })
            });
            black_box(&y);
        })
    });
    g.finish();

    // reduction
    let v: Vec<u32> = (0..n as u32).map(|i| i % 977).collect();
    let m = dev
        .load_module(&ferrocuda_ptx::parse(ptx_sources::REDUCE).unwrap())
        .unwrap();
    let k = m.kernel("reduce").unwrap();
    let din = upload(
        &dev,
        &v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<_>>(),
    );
    let dout = dev.memory().alloc(4).unwrap();
    let p = params(&[
        &din.to_le_bytes(),
        &dout.to_le_bytes(),
        &(n as u32).to_le_bytes(),
    ]);
    let mut g = c.benchmark_group("reduce_1M");
    g.sample_size(10);
    g.bench_function("ptx", |b| b.iter(|| dev.launch(&k, &cfg, &p).unwrap()));
    g.bench_function("native", |b| {
        b.iter(|| {
            black_box(pool.install(|| {
                v.par_iter()
                    .copied()
                    .fold(|| 0u32, u32::wrapping_add)
                    .reduce(|| 0, u32::wrapping_add)
            }))
        })
    });
    // The kernel's own algorithm in native Rust (a 256-entry shared array per block, eight
    // halving steps, one atomic add per block): how much of the gap is the tree, not the
    // interpreter.
    let total = std::sync::atomic::AtomicU32::new(0);
    g.bench_function("native_tree", |b| {
        b.iter(|| {
            total.store(0, std::sync::atomic::Ordering::Relaxed);
            pool.install(|| {
                v.par_chunks(256).for_each(|blk| {
                    let mut sdata = [0u32; 256];
                    sdata[..blk.len()].copy_from_slice(blk);
                    let mut s = 128;
                    while s > 0 {
                        for t in 0..s {
                            sdata[t] = sdata[t].wrapping_add(sdata[t + s]);
                        }
                        s /= 2;
                    }
                    total.fetch_add(sdata[0], std::sync::atomic::Ordering::Relaxed);
                })
            });
            black_box(total.load(std::sync::atomic::Ordering::Relaxed))
        })
    });
    g.finish();

    // tiled matmul
    let nn = 256usize;
    let a: Vec<f32> = (0..nn * nn).map(|i| (i % 17) as f32 * 0.25).collect();
    let bm: Vec<f32> = (0..nn * nn).map(|i| (i % 13) as f32 * 0.5).collect();
    let mut cm = vec![0f32; nn * nn];
    let m = dev
        .load_module(&ferrocuda_ptx::parse(&ptx_sources::matmul_ptx()).unwrap())
        .unwrap();
    let k = m.kernel("matmul").unwrap();
    let (da, db) = (upload(&dev, &bytes_f32(&a)), upload(&dev, &bytes_f32(&bm)));
    let dc = dev.memory().alloc((nn * nn * 4) as u64).unwrap();
    let p = params(&[
        &da.to_le_bytes(),
        &db.to_le_bytes(),
        &dc.to_le_bytes(),
        &(nn as u32).to_le_bytes(),
    ]);
    let t = (nn / 16) as u32;
    let mcfg = LaunchConfig {
        grid: [t, t, 1],
        block: [16, 16, 1],
        dynamic_shared: 0,
    };
    let mut g = c.benchmark_group("matmul_256");
    g.sample_size(10);
    g.bench_function("ptx", |b| b.iter(|| dev.launch(&k, &mcfg, &p).unwrap()));
    g.bench_function("native", |b| {
        b.iter(|| {
            pool.install(|| {
                cm.par_chunks_mut(nn).enumerate().for_each(|(i, row)| {
                    row.iter_mut().for_each(|c| *c = 0.0);
                    for kk in 0..nn {
                        let aik = a[i * nn + kk];
                        let brow = &bm[kk * nn..(kk + 1) * nn];
                        for (c, b) in row.iter_mut().zip(brow) {
                            *c += aik * b;
                        }
                    }
                })
            });
            black_box(&cm);
        })
    });
    g.finish();

    // divergence-heavy: Collatz walks
    let n = 1usize << 16;
    let vals: Vec<i64> = (0..n as i64).map(|i| i * 7 + 1).collect();
    let mut steps = vec![0i64; n];
    let m = dev
        .load_module(&ferrocuda_ptx::parse(COLLATZ_PTX).unwrap())
        .unwrap();
    let k = m.kernel("clang_collatz").unwrap();
    let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
    let (din, dout) = (upload(&dev, &bytes), upload(&dev, &bytes));
    let p = params(&[
        &din.to_le_bytes(),
        &dout.to_le_bytes(),
        &(n as u32).to_le_bytes(),
    ]);
    let cfg = LaunchConfig {
        grid: [(n / 256) as u32, 1, 1],
        block: [256, 1, 1],
        dynamic_shared: 0,
    };
    // The same walk with the device function inlined (no call: compiled), on both executors.
    let inl = dev
        .load_module(&ferrocuda_ptx::parse(ptx_sources::COLLATZ_INLINED).unwrap())
        .unwrap();
    let ki = inl.kernel("clang_collatz").unwrap();
    let iinl = idev
        .load_module(&ferrocuda_ptx::parse(ptx_sources::COLLATZ_INLINED).unwrap())
        .unwrap();
    let kii = iinl.kernel("clang_collatz").unwrap();
    let idout = upload(&idev, &bytes);
    let ipc = params(&[
        &upload(&idev, &bytes).to_le_bytes(),
        &idout.to_le_bytes(),
        &(n as u32).to_le_bytes(),
    ]);
    let mut g = c.benchmark_group("collatz_64K");
    g.sample_size(10);
    g.bench_function("ptx", |b| b.iter(|| dev.launch(&k, &cfg, &p).unwrap()));
    g.bench_function("ptx_inlined", |b| {
        b.iter(|| dev.launch(&ki, &cfg, &p).unwrap())
    });
    g.bench_function("ptx_inlined_interpreted", |b| {
        b.iter(|| idev.launch(&kii, &cfg, &ipc).unwrap())
    });
    g.bench_function("native", |b| {
        b.iter(|| {
            pool.install(|| {
                steps
                    .par_chunks_mut(1024)
                    .zip(vals.par_chunks(1024))
                    .for_each(|(o, v)| {
                        for (o, v) in o.iter_mut().zip(v) {
                            *o = collatz_steps(*v);
                        }
                    })
            });
            black_box(&steps);
        })
    });
    g.finish();
    // They all agree (with the native walk, computed here too in case a filter skipped it).
    let steps: Vec<i64> = vals.iter().map(|&v| collatz_steps(v)).collect();
    let check = |d: &Device, k: &ferrocuda_cpu::Kernel, p: &[u8], out: u64| {
        d.memory().write(out, &vec![0u8; bytes.len()]).unwrap();
        d.launch(k, &cfg, p).unwrap();
        let mut got = vec![0u8; bytes.len()];
        d.memory().read(out, &mut got).unwrap();
        for (i, w) in got.chunks(8).enumerate() {
            assert_eq!(i64::from_le_bytes(w.try_into().unwrap()), steps[i]);
        }
    };
    check(&dev, &k, &p, dout);
    check(&dev, &ki, &p, dout);
    check(&idev, &kii, &ipc, idout);
}

const COLLATZ_PTX: &str = include_str!("../../../tests/fixtures/clang/clang_kernels.o3_sm_80.ptx");

fn collatz_steps(mut v: i64) -> i64 {
    let mut steps = 0;
    while v > 1 && steps < 1000 {
        v = if v & 1 != 0 { 3 * v + 1 } else { v / 2 };
        steps += 1;
    }
    steps
}

/// A small launch (saxpy, 8 blocks) of a kernel alone in its module, and of the same kernel in
/// a module of 100 other kernels with 500 registers each (a library's worth): a warp's
/// register file is its own kernel's, so the two should cost the same.
fn launch_in_a_large_module(c: &mut Criterion) {
    let dev = Device::new();
    let mut big = ptx_sources::SAXPY.to_string();
    for i in 0..100 {
        big += &format!(
            ".visible .entry other{i}(.param .u64 p)\n{{\n .reg .b32 %r<400>;\n .reg .b64 %rd<100>;\n \
             mov.u32 %r1, {i};\n ret;\n}}\n"
        );
    }
    let n = 256 * 8;
    let buf = dev.memory().alloc(4 * n as u64).unwrap();
    let p = params(&[
        &(n as u32).to_le_bytes(),
        &2.0f32.to_le_bytes(),
        &buf.to_le_bytes(),
        &buf.to_le_bytes(),
    ]);
    let cfg = LaunchConfig {
        grid: [8, 1, 1],
        block: [256, 1, 1],
        dynamic_shared: 0,
    };
    let mut g = c.benchmark_group("launch_saxpy_8_blocks");
    for (name, src) in [
        ("alone", ptx_sources::SAXPY.to_string()),
        ("among_100_kernels", big),
    ] {
        let m = dev
            .load_module(&ferrocuda_ptx::parse(&src).unwrap())
            .unwrap();
        let k = m.kernel("saxpy").unwrap();
        g.bench_function(name, |b| b.iter(|| dev.launch(&k, &cfg, &p).unwrap()));
    }
    g.finish();
}

/// Tiered compilation against each path alone, on a kernel each path wins: uniform arithmetic
/// loops (the interpreter's lockstep warps) and a divergent one (compiled threads). A tiering
/// device measures both and keeps the faster, so it should match the better of the two.
fn tiering(c: &mut Criterion) {
    let n = 64 * 256;
    let cfg = LaunchConfig {
        grid: [64, 1, 1],
        block: [256, 1, 1],
        dynamic_shared: 0,
    };
    let mut g = c.benchmark_group("lcg_16K_threads");
    g.sample_size(10);
    for (kernel, src, steps) in [
        ("uniform", ptx_sources::LCG.to_string(), 1000u32),
        ("divergent", ptx_sources::lcg_divergent(), 100),
    ] {
        for (path, policy) in [
            ("interpreted", Compilation::Off),
            ("compiled", Compilation::Eager),
            ("tiered", Compilation::Tiered),
        ] {
            let mut dev = Device::new();
            dev.set_compilation(policy);
            let m = dev
                .load_module(&ferrocuda_ptx::parse(&src).unwrap())
                .unwrap();
            let k = m.kernel("lcg").unwrap();
            let out = dev.memory().alloc(4 * n).unwrap();
            let p = params(&[&out.to_le_bytes(), &steps.to_le_bytes()]);
            g.bench_function(format!("{kernel}/{path}"), |b| {
                b.iter(|| dev.launch(&k, &cfg, &p).unwrap())
            });
            if policy == Compilation::Tiered {
                eprintln!(
                    "lcg {kernel}: tiered chose {}",
                    match k.compiled_is_faster() {
                        Some(true) => "compiled code",
                        Some(false) => "the interpreter",
                        None => "nothing yet",
                    }
                );
            }
        }
    }
    g.finish();
}

criterion_group!(benches, bench, launch_in_a_large_module, tiering);
criterion_main!(benches);
