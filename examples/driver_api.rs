//! The classic driver-API workflow: initialise, pick a device, create a context, load a PTX
//! module, allocate, copy in, launch, copy back, clean up.
//!
//! Runs on the default device: `FERROCUDA_DEVICE` when set, else the first NVIDIA GPU, else
//! the CPU device. `cargo run --example driver_api`

use ferrocuda_driver::{self as driver, Context, ContextFlags, Device, ErrorCode, JitOptions};

/// `my_kernel(float *data, size_t n)`: doubles `data[i]` for every `i < n`.
const MY_KERNEL_PTX: &str = r#"
.version 7.0
.target sm_50
.address_size 64

.visible .entry my_kernel(
    .param .u64 data,
    .param .u64 n
)
{
    .reg .pred %p<2>;
    .reg .b32 %r<5>;
    .reg .f32 %f<3>;
    .reg .b64 %rd<6>;

    ld.param.u64 %rd1, [data];
    ld.param.u64 %rd2, [n];
    mov.u32 %r1, %ctaid.x;
    mov.u32 %r2, %ntid.x;
    mov.u32 %r3, %tid.x;
    mad.lo.s32 %r4, %r1, %r2, %r3;
    cvt.u64.u32 %rd3, %r4;
    setp.ge.u64 %p1, %rd3, %rd2;
    @%p1 bra DONE;
    cvta.to.global.u64 %rd4, %rd1;
    shl.b64 %rd5, %rd3, 2;
    add.s64 %rd4, %rd4, %rd5;
    ld.global.f32 %f1, [%rd4];
    add.f32 %f2, %f1, %f1;
    st.global.f32 [%rd4], %f2;
DONE:
    ret;
}
"#;

/// The program; `fcuda demo` runs it too.
pub fn run() -> driver::Result<()> {
    // 1. Initialise every platform (a missing libcuda just means no NVIDIA devices).
    driver::init()?;
    if let Some(why) = driver::nvidia_unavailable_reason() {
        println!("no NVIDIA device ({why}); using the CPU device");
    }

    // 2. The default device, and 3. a context on it.
    let dev = Device::default()?;
    println!("running on {dev}: {}", dev.name()?);
    let ctx = Context::new(dev, ContextFlags::SCHED_AUTO)?;

    // 4. Load the PTX module and 5. get the kernel.
    let module = ctx.load_module_data(MY_KERNEL_PTX.as_bytes(), &JitOptions::default())?;
    let kernel = module.function("my_kernel")?;

    // 6. Allocate device memory and 7. copy the input in.
    let n: usize = 1024;
    let host: Vec<f32> = (0..n).map(|i| i as f32).collect();
    let mut data = ctx.alloc::<f32>(n)?;
    data.copy_from_host(&host)?;

    // 8.–9. Launch: one thread per element, 256 threads per block.
    let block = 256u32;
    let grid = (n as u32).div_ceil(block);
    let stream = ctx.default_stream();
    kernel.launch(grid, block, 0, &stream, &[&data, &n])?;

    // 10. Copy the result back (waits for the kernel) and check it.
    let mut out = vec![0f32; n];
    data.copy_to_host(&mut out)?;
    let bad = out
        .iter()
        .zip(&host)
        .filter(|(o, h)| **o != **h * 2.0)
        .count();
    if bad == 0 {
        println!("result check passed: {n} elements doubled");
    } else {
        println!("result check FAILED: {bad} of {n} elements wrong");
    }

    // 11. Clean up: buffer, module, context (each would also go on drop).
    drop(data);
    drop(kernel);
    drop(module);
    drop(ctx);
    if bad != 0 {
        return Err(driver::Error::new(
            ErrorCode::Unknown,
            format!("{bad} of {n} elements wrong"),
        ));
    }
    Ok(())
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
