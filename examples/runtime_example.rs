//! Seed 000's `runtime_example.cu` through ferrocuda's runtime layer: allocate an array on
//! the device, launch `add_one` on it with `<<<1, 256>>>`, copy it back.
//!
//! No initialisation, context or module loading in sight: the runtime initialises itself,
//! uses the default device's primary context, and loads the embedded PTX (the counterpart of
//! the fatbin nvcc embeds) on the first launch. Runs on the default device
//! (`FERROCUDA_DEVICE`, else the first NVIDIA GPU, else the CPU device).
//!
//! `cargo run --example runtime_example` prints `Result[0] = 2`.

use ferrocuda_runtime::{self as cuda, launch, MemcpyKind};

// __global__ void add_one(float* a, int n), compiled to PTX and embedded at build time.
cuda::embed_module!(KERNELS = "kernels/add_one.ptx");
cuda::kernel!(add_one in KERNELS);

/// The program; `fcuda demo` runs it too.
pub fn run() -> cuda::Result<()> {
    const N: usize = 256;
    let size = N * std::mem::size_of::<f32>();

    // Host data
    let mut h_a = vec![1.0f32; N];

    // Device memory
    let mut d_a = cuda::malloc::<f32>(N)?;
    cuda::memcpy(&mut d_a, &h_a, size, MemcpyKind::HostToDevice)?;

    // Launch kernel
    launch!(add_one<<<1, 256>>>(d_a, N as i32))?;

    // Copy back
    cuda::memcpy(&mut h_a, &d_a, size, MemcpyKind::DeviceToHost)?;
    cuda::free(d_a)?;

    // Check result
    println!("Result[0] = {}", h_a[0]); // should be 2
    if h_a.iter().all(|&x| x == 2.0) {
        Ok(())
    } else {
        Err(cuda::Error::with_detail(
            cuda::ErrorCode::Unknown,
            "add_one gave a wrong result",
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
