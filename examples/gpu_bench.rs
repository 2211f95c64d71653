//! ferrocuda's side of the GPU benchmarks in BENCHMARKS.md: the same measurements as
//! `benches/gpu/baseline.cu` (the C CUDA stack), through ferrocuda's driver layer, printed in
//! the same `name<TAB>value<TAB>unit<TAB>spread` lines so `benches/gpu/compare.py` can pair them.
//!
//! ```sh
//! cargo run --release --example gpu_bench -- benches/gpu/kernels.ptx benches/gpu/kernels.cubin
//! ```
//! It needs an NVIDIA GPU (set `FERROCUDA_DEVICE=cpu` to exercise it on the CPU device).

use std::time::Instant;

use ferrocuda::driver::{
    self, Device, DevicePtr, DeviceRepr, JitOptions, PinnedHostBuffer, Platform, StreamFlags,
};

use ferrocuda_runtime::{self as cuda, launch, MemcpyKind};

// The same kernels, embedded for the runtime layer's `launch!`.
cuda::embed_module!(BENCH = "../benches/gpu/kernels.ptx");
cuda::kernel!(empty_kernel in BENCH);
cuda::kernel!(args8_kernel in BENCH);

fn us_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e6
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((p * (v.len() - 1) as f64) + 0.5) as usize;
    v[i.min(v.len() - 1)]
}

fn report(name: &str, samples: &mut [f64], unit: &str) {
    let median = percentile(samples, 0.5);
    let p99 = percentile(samples, 0.99);
    println!("{name}\t{median:.3}\t{unit}\tp99={p99:.3}");
}

/// Launches per timed burst: few enough that the driver's queue never fills, so the figure is
/// the host's cost per launch rather than the GPU's kernel throughput.
const BURST: usize = 128;

/// Times `bursts` bursts of [`BURST`] launches, each followed by an untimed `sync`, after 20
/// warm-up bursts, and reports the median and p99 cost per launch (as baseline.cu does).
fn enqueue<E>(
    name: &str,
    bursts: usize,
    mut launch_one: impl FnMut() -> Result<(), E>,
    mut sync: impl FnMut() -> Result<(), E>,
) -> Result<(), E> {
    let mut per = Vec::with_capacity(bursts);
    for b in 0..bursts + 20 {
        let t = Instant::now();
        for _ in 0..BURST {
            launch_one()?;
        }
        let v = us_since(t) / BURST as f64;
        sync()?;
        if b >= 20 {
            per.push(v);
        }
    }
    report(name, &mut per, "us/launch");
    Ok(())
}

fn report_bw(name: &str, gbps: &mut [f64]) {
    let median = percentile(gbps, 0.5);
    println!(
        "{name}\t{median:.2}\tGB/s\tmin={:.2} max={:.2}",
        gbps[0],
        gbps[gbps.len() - 1]
    );
}

fn main() -> driver::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let ptx_path = args
        .get(1)
        .map(String::as_str)
        .unwrap_or("benches/gpu/kernels.ptx");
    let cubin_path = args
        .get(2)
        .map(String::as_str)
        .unwrap_or("benches/gpu/kernels.cubin");
    let quick = std::env::var_os("FERROCUDA_BENCH_QUICK").is_some();
    let (bursts, lat_iters, copy_reps) = if quick { (20, 50, 2) } else { (400, 2_000, 20) };
    let copy_bytes: usize = if quick { 16 << 20 } else { 256 << 20 };

    // First-call initialisation: init + the device's primary context.
    let t = Instant::now();
    driver::init()?;
    let dev = Device::default()?;
    let ctx = dev.retain_primary_context()?;
    println!("init_first_call\t{:.1}\tus\t-", us_since(t));
    // Current on this thread, as the C baseline makes it with cuCtxSetCurrent.
    driver::Context::set_current(Some(&ctx))?;
    if dev.platform() != Platform::Nvidia {
        eprintln!(
            "note: running on {} ({}); the published figures come from an NVIDIA GPU",
            dev.name()?,
            dev.platform().name()
        );
    }
    println!(
        "device\t{}\tdriver\t{}",
        dev.name()?,
        driver::driver_version()?
    );

    let ptx = std::fs::read(ptx_path).map_err(|e| {
        driver::Error::new(driver::ErrorCode::FileNotFound, format!("{ptx_path}: {e}"))
    })?;
    let opts = JitOptions::default();
    for (name, reps) in [("module_load_ptx_first", 1), ("module_load_ptx_again", 20)] {
        let mut s = Vec::new();
        for _ in 0..reps {
            let t = Instant::now();
            let m = ctx.load_module_data(&ptx, &opts)?;
            s.push(us_since(t));
            drop(m);
        }
        report(name, &mut s, "us");
    }
    if dev.platform() == Platform::Nvidia {
        let cubin = std::fs::read(cubin_path).map_err(|e| {
            driver::Error::new(
                driver::ErrorCode::FileNotFound,
                format!("{cubin_path}: {e}"),
            )
        })?;
        let mut s = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            let m = ctx.load_module_data(&cubin, &opts)?;
            s.push(us_since(t));
            drop(m);
        }
        report("module_load_cubin", &mut s, "us");
    }

    let module = ctx.load_module_data(&ptx, &opts)?;
    let empty = module.function("empty_kernel")?;
    let args8 = module.function("args8_kernel")?;
    let stream = ctx.create_stream(StreamFlags::NON_BLOCKING, 0)?;
    let buf = ctx.alloc_zeroed::<f32>(64)?;
    let p: DevicePtr = buf.device_ptr();
    let (n, s, k, m, d) = (1i32, 2.0f32, 3i64, 4u32, 5.0f64);
    let arg8: [&dyn DeviceRepr; 8] = [&p, &p, &p, &n, &s, &k, &m, &d];

    // Launch enqueue cost, measured as baseline.cu does (see `enqueue`).
    enqueue(
        "launch_enqueue_empty_ferrocuda",
        bursts,
        || empty.launch(1u32, 32u32, 0, &stream, &[]),
        || stream.synchronize(),
    )?;
    enqueue(
        "launch_enqueue_args8_ferrocuda",
        bursts,
        || args8.launch(1u32, 32u32, 0, &stream, &arg8),
        || stream.synchronize(),
    )?;
    let mut lat = Vec::new();
    for _ in 0..lat_iters {
        let t = Instant::now();
        empty.launch(1u32, 32u32, 0, &stream, &[])?;
        stream.synchronize()?;
        lat.push(us_since(t));
    }
    report("launch_sync_roundtrip_ferrocuda", &mut lat, "us");

    // Allocation cost.
    let (mut a, mut fr) = (Vec::new(), Vec::new());
    for _ in 0..200 {
        let t = Instant::now();
        let b = ctx.alloc::<u8>(1 << 20)?;
        a.push(us_since(t));
        let t = Instant::now();
        drop(b);
        fr.push(us_since(t));
    }
    report("alloc_1MiB", &mut a, "us");
    report("free_1MiB", &mut fr, "us");

    // Copies.
    let mut dsrc = ctx.alloc::<u8>(copy_bytes)?;
    let mut ddst = ctx.alloc::<u8>(copy_bytes)?;
    let mut pinned = PinnedHostBuffer::<u8>::new(&ctx, copy_bytes)?;
    pinned.as_mut_slice()?.fill(1);
    let mut pageable = vec![2u8; copy_bytes];
    let gb = |t: Instant, factor: f64| factor * copy_bytes as f64 / (us_since(t) * 1e3);
    let bw = |name: &str, op: &mut dyn FnMut() -> driver::Result<f64>| -> driver::Result<()> {
        op()?;
        let mut g = Vec::new();
        for _ in 0..copy_reps {
            g.push(op()?);
        }
        report_bw(name, &mut g);
        Ok(())
    };
    bw("memcpy_h2d_pinned_ferrocuda", &mut || {
        let t = Instant::now();
        dsrc.copy_from_host(pinned.as_slice()?)?;
        Ok(gb(t, 1.0))
    })?;
    bw("memcpy_d2h_pinned_ferrocuda", &mut || {
        let t = Instant::now();
        dsrc.copy_to_host(pinned.as_mut_slice()?)?;
        Ok(gb(t, 1.0))
    })?;
    bw("memcpy_h2d_pageable_ferrocuda_driver", &mut || {
        let t = Instant::now();
        dsrc.copy_from_host(&pageable)?;
        Ok(gb(t, 1.0))
    })?;
    bw("memcpy_d2h_pageable_ferrocuda_driver", &mut || {
        let t = Instant::now();
        dsrc.copy_to_host(&mut pageable)?;
        Ok(gb(t, 1.0))
    })?;
    bw("memcpy_d2d_ferrocuda", &mut || {
        let t = Instant::now();
        ddst.copy_from_device(&dsrc)?;
        // Device-to-device copies may return before they finish.
        ctx.synchronize()?;
        Ok(gb(t, 2.0))
    })?;
    let mut word = ctx.alloc::<u32>(1)?;
    let mut host = [7u32];
    let mut lat = Vec::new();
    for _ in 0..lat_iters {
        let t = Instant::now();
        word.copy_from_host(&host)?;
        lat.push(us_since(t));
    }
    report("memcpy_4B_h2d_ferrocuda", &mut lat, "us");
    lat.clear();
    for _ in 0..lat_iters {
        let t = Instant::now();
        word.copy_to_host(&mut host)?;
        lat.push(us_since(t));
    }
    report("memcpy_4B_d2h_ferrocuda", &mut lat, "us");
    drop((dsrc, ddst, pinned, word, buf));

    if let Err(e) = runtime_layer(bursts, lat_iters, copy_reps, copy_bytes) {
        eprintln!("runtime layer: {e}");
    }
    Ok(())
}

/// The runtime layer's figures: `launch!` and `memcpy` of pageable memory (staged through
/// page-locked buffers by several threads on NVIDIA devices).
fn runtime_layer(
    bursts: usize,
    lat_iters: usize,
    copy_reps: usize,
    copy_bytes: usize,
) -> cuda::Result<()> {
    let stream = cuda::stream_create_with_flags(cuda::StreamFlags::NON_BLOCKING)?;
    let d = cuda::malloc::<f32>(64)?;
    let (n, s, k, m, dd) = (1i32, 2.0f32, 3i64, 4u32, 5.0f64);
    launch!(empty_kernel<<<1, 32, 0, &stream>>>())?;
    stream.synchronize()?;
    enqueue(
        "launch_enqueue_empty_launch_macro",
        bursts,
        || launch!(empty_kernel<<<1, 32, 0, &stream>>>()),
        || stream.synchronize(),
    )?;
    enqueue(
        "launch_enqueue_args8_launch_macro",
        bursts,
        || launch!(args8_kernel<<<1, 32, 0, &stream>>>(&d, &d, &d, n, s, k, m, dd)),
        || stream.synchronize(),
    )?;
    let mut lat = Vec::new();
    for _ in 0..lat_iters {
        let t = Instant::now();
        launch!(empty_kernel<<<1, 32, 0, &stream>>>())?;
        stream.synchronize()?;
        lat.push(us_since(t));
    }
    report("launch_sync_roundtrip_launch_macro", &mut lat, "us");

    let mut dev = cuda::malloc::<u8>(copy_bytes)?;
    let mut host = vec![3u8; copy_bytes];
    let gb = |t: Instant| copy_bytes as f64 / (us_since(t) * 1e3);
    for (name, h2d) in [
        ("memcpy_h2d_pageable_ferrocuda_runtime", true),
        ("memcpy_d2h_pageable_ferrocuda_runtime", false),
    ] {
        let mut g = Vec::new();
        for rep in 0..=copy_reps {
            let t = Instant::now();
            if h2d {
                cuda::memcpy(&mut dev, &host, copy_bytes, MemcpyKind::HostToDevice)?;
            } else {
                cuda::memcpy(&mut host, &dev, copy_bytes, MemcpyKind::DeviceToHost)?;
            }
            if rep > 0 {
                g.push(gb(t));
            }
        }
        report_bw(name, &mut g);
    }
    // The bytes survive the round trip.
    host.fill(0);
    cuda::memcpy(&mut host, &dev, copy_bytes, MemcpyKind::DeviceToHost)?;
    if host.iter().any(|&b| b != 3) {
        return Err(cuda::Error::with_detail(
            cuda::ErrorCode::Unknown,
            "staged copy round trip changed the data",
        ));
    }
    Ok(())
}
