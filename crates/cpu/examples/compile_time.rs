//! Compiles every kernel of the PTX files given, one after another, and reports how many the
//! compiler covers, how many also run four threads at a time, and the time it took:
//! `cargo run --release -p ferrocuda-cpu --example compile_time -- tests/fixtures/ptx/*.ptx`
//! (`FERROCUDA_CPU_JIT_QUADS=0` to compare without the four-thread functions).

use std::time::{Duration, Instant};

fn main() {
    let dev = ferrocuda_cpu::Device::with_workers(1);
    let (mut total, mut worst) = (Duration::ZERO, Duration::ZERO);
    let (mut compiled, mut vectorized) = (0, 0);
    for path in std::env::args().skip(1) {
        let Ok(bytes) = std::fs::read(&path) else {
            eprintln!("{path}: cannot read");
            continue;
        };
        let src = String::from_utf8_lossy(&bytes);
        let Ok(module) = ferrocuda_ptx::parse(&src) else {
            continue;
        };
        let Ok(loaded) = dev.load_module(&module) else {
            continue;
        };
        for name in loaded.kernel_names() {
            let Some(k) = loaded.kernel(name) else {
                continue;
            };
            let t = Instant::now();
            if k.interpreted_because().is_none() {
                let e = t.elapsed();
                total += e;
                worst = worst.max(e);
                compiled += 1;
                vectorized += k.is_vectorized() as u32;
            }
        }
    }
    println!("{compiled} kernels compiled ({vectorized} also four threads at a time) in {total:?}, the longest {worst:?}");
}
