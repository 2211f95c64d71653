//! The CPU device against native Rust on a divergence-heavy kernel: each thread runs a Collatz
//! walk whose trip count depends on its own input, so the lanes of a warp leave the loop at
//! different times. The PTX is clang's (`tests/fixtures/clang/`).

use criterion::{criterion_group, criterion_main, Criterion};
use ferrocuda_cpu::{Device, LaunchConfig};
use rayon::prelude::*;
use std::hint::black_box;

const PTX: &str = include_str!("../../../tests/fixtures/clang/clang_kernels.o3_sm_80.ptx");

fn collatz_steps(mut v: i64) -> i64 {
    let mut steps = 0;
    while v > 1 && steps < 1000 {
        v = if v & 1 != 0 { 3 * v + 1 } else { v / 2 };
        steps += 1;
    }
    steps
}

fn bench(c: &mut Criterion) {
    let dev = Device::new();
    let threads = dev.properties().multiprocessor_count as usize;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let n = 1usize << 16;
    let vals: Vec<i64> = (0..n as i64).map(|i| i * 7 + 1).collect();
    let mut out = vec![0i64; n];
    let m = dev
        .load_module(&ferrocuda_ptx::parse(PTX).unwrap())
        .unwrap();
    let k = m.kernel("clang_collatz").unwrap();
    let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
    let din = dev.memory().alloc(bytes.len() as u64).unwrap();
    dev.memory().write(din, &bytes).unwrap();
    let dout = dev.memory().alloc(bytes.len() as u64).unwrap();
    let mut p = Vec::new();
    p.extend_from_slice(&din.to_le_bytes());
    p.extend_from_slice(&dout.to_le_bytes());
    p.extend_from_slice(&(n as u32).to_le_bytes());
    let cfg = LaunchConfig {
        grid: [(n / 256) as u32, 1, 1],
        block: [256, 1, 1],
        dynamic_shared: 0,
    };
    let mut g = c.benchmark_group("collatz_64K");
    g.sample_size(10);
    g.bench_function("ptx", |b| b.iter(|| dev.launch(&k, &cfg, &p).unwrap()));
    g.bench_function("native", |b| {
        b.iter(|| {
            pool.install(|| {
                out.par_chunks_mut(1024)
                    .zip(vals.par_chunks(1024))
                    .for_each(|(o, v)| {
                        for (o, v) in o.iter_mut().zip(v) {
                            *o = collatz_steps(*v);
                        }
                    })
            });
            black_box(&out);
        })
    });
    g.finish();
    // The two agree.
    dev.launch(&k, &cfg, &p).unwrap();
    let mut got = vec![0u8; bytes.len()];
    dev.memory().read(dout, &mut got).unwrap();
    for (i, w) in got.chunks(8).enumerate() {
        assert_eq!(i64::from_le_bytes(w.try_into().unwrap()), out[i]);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
