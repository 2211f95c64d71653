//! Host cost of an 8-argument launch through `launch!` and through the driver layer's
//! `Function::launch`, for counting instructions with callgrind on the CPU device:
//!
//! ```sh
//! cargo build --release -p ferrocuda-runtime --example launch_cost
//! FERROCUDA_DEVICE=cpu valgrind --tool=callgrind target/release/examples/launch_cost 10000
//! callgrind_annotate --inclusive=yes callgrind.out.* | grep -E 'macro_launches|driver_launches'
//! ```
//! The kernel returns at once on a 1×1 grid, so what is counted on the launching thread is
//! the launch path; the stream's worker thread runs the kernel. The inclusive cost of
//! `macro_launches` and `driver_launches`, divided by the count, is the cost of one launch
//! (`--toggle-collect=launch_cost::macro_launches` counts just one of them).

use ferrocuda_runtime::{self as cuda, launch, DeviceRepr};

cuda::embed_module!(KERNELS = "kernels/args8_ret.ptx");
cuda::kernel!(args8_ret in KERNELS);

fn main() -> cuda::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let stream = cuda::stream_create_with_flags(cuda::StreamFlags::NON_BLOCKING)?;
    let d = cuda::malloc::<f32>(64)?;
    let (i, s, k, m, dd) = ARGS;

    // Warm up: the first launch loads the module.
    launch!(args8_ret<<<1, 1, 0, &stream>>>(&d, &d, &d, i, s, k, m, dd))?;
    stream.synchronize()?;

    macro_launches(n, &stream, &d)?;
    stream.synchronize()?;

    // The same launches through the driver layer, with the function and stream in hand.
    let module = cuda::module_load_data(KERNELS.image())?;
    let f = module.function("args8_ret")?;
    let p = d.as_ptr();
    let args: [&dyn DeviceRepr; 8] = [&p, &p, &p, &i, &s, &k, &m, &dd];
    driver_launches(n, f.as_driver(), stream.as_driver(), &args)?;
    stream.synchronize()?;
    println!("{n} launches each through launch! and Function::launch");
    Ok(())
}

/// The scalar arguments after the three pointers.
const ARGS: (i32, f32, i64, u32, f64) = (1, 2.0, 3, 4, 5.0);

/// `n` launches through `launch!`, with the arguments a program would pass.
#[inline(never)]
fn macro_launches(n: usize, stream: &cuda::Stream, d: &cuda::DeviceVec<f32>) -> cuda::Result<()> {
    let (i, s, k, m, dd) = ARGS;
    for _ in 0..n {
        launch!(args8_ret<<<1, 1, 0, stream>>>(d, d, d, i, s, k, m, dd))?;
    }
    Ok(())
}

/// `n` launches through the driver layer, with the function, stream and arguments in hand.
#[inline(never)]
fn driver_launches(
    n: usize,
    f: &ferrocuda_driver::Function,
    stream: &ferrocuda_driver::Stream,
    args: &[&dyn DeviceRepr],
) -> cuda::Result<()> {
    for _ in 0..n {
        f.launch(1u32, 1u32, 0, stream, args)
            .map_err(cuda::Error::from)?;
    }
    Ok(())
}
