//! Seed 002's `vector_add`, twice: through the runtime layer (implicit context, embedded
//! kernel, `<<<>>>`) and through the driver layer (explicit init, context, module loading,
//! launch), with the same result.
//!
//! `cargo run --example vector_add`

use ferrocuda_driver as driver;
use ferrocuda_runtime::{self as cuda, launch, Dim3, MemcpyKind};

cuda::embed_module!(KERNELS = "kernels/vector_add.ptx");

const N: usize = 1024;

/// `vector_add<<<grid, block>>>` with the runtime API, as in `runtime_api_example()`.
fn with_runtime(h_a: &[f32], h_b: &[f32]) -> cuda::Result<Vec<f32>> {
    let bytes = N * std::mem::size_of::<f32>();
    let mut d_a = cuda::malloc::<f32>(N)?;
    let mut d_b = cuda::malloc::<f32>(N)?;
    let d_c = cuda::malloc::<f32>(N)?;

    cuda::memcpy(&mut d_a, h_a, bytes, MemcpyKind::HostToDevice)?;
    cuda::memcpy(&mut d_b, h_b, bytes, MemcpyKind::HostToDevice)?;

    let grid = Dim3::from(N.div_ceil(256) as u32);
    let block = Dim3::from(256);
    launch!(KERNELS::vector_add<<<grid, block>>>(d_a, d_b, d_c, N as i32))?;

    cuda::device_synchronize()?;
    let error = cuda::get_last_error();
    if error != cuda::ErrorCode::Success {
        return Err(error.into());
    }

    let mut h_c = vec![0.0f32; N];
    cuda::memcpy(&mut h_c, &d_c, bytes, MemcpyKind::DeviceToHost)?;
    cuda::free(d_a)?;
    cuda::free(d_b)?;
    cuda::free(d_c)?;
    Ok(h_c)
}

/// The same kernel with the driver API, as in `driver_api_example()`.
fn with_driver(h_a: &[f32], h_b: &[f32]) -> driver::Result<Vec<f32>> {
    // 1. Explicit initialisation
    driver::init()?;
    let device = driver::Device::default()?;
    // 2. Explicit context creation
    let context = driver::Context::new(device, driver::ContextFlags::SCHED_AUTO)?;
    // 3. Module loading at run time
    let module = context.load_module_data(KERNELS.image(), &driver::JitOptions::default())?;
    // 4. The kernel function
    let kernel = module.function("vector_add")?;
    // 5. Explicit memory management
    let d_a = context.upload(h_a)?;
    let d_b = context.upload(h_b)?;
    let d_c = context.alloc::<f32>(N)?;
    // 6. Parameters and launch
    let stream = context.default_stream();
    let n = N as i32;
    kernel.launch(
        N.div_ceil(256) as u32,
        256u32,
        0,
        &stream,
        &[&d_a, &d_b, &d_c, &n],
    )?;
    stream.synchronize()?;
    // 7. Results; everything is released when dropped (cuMemFree, cuModuleUnload, cuCtxDestroy)
    d_c.to_vec()
}

/// The program; `fcuda demo` runs it too.
pub fn run() -> cuda::Result<()> {
    let h_a: Vec<f32> = (0..N).map(|i| i as f32).collect();
    let h_b: Vec<f32> = (0..N).map(|i| 2.0 * i as f32).collect();

    let by_runtime = with_runtime(&h_a, &h_b)?;
    let by_driver = with_driver(&h_a, &h_b)?;

    let expected: Vec<f32> = h_a.iter().zip(&h_b).map(|(a, b)| a + b).collect();
    println!(
        "runtime API: c[1] = {}, c[{}] = {}",
        by_runtime[1],
        N - 1,
        by_runtime[N - 1]
    );
    println!(
        "driver API:  c[1] = {}, c[{}] = {}",
        by_driver[1],
        N - 1,
        by_driver[N - 1]
    );
    let same = by_runtime == by_driver && by_runtime == expected;
    println!("same result from both APIs, c = a + b: {same}");
    if same {
        Ok(())
    } else {
        Err(cuda::Error::with_detail(
            cuda::ErrorCode::Unknown,
            "vector_add results differ",
        ))
    }
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
