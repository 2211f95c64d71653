//! Seeds 002 and 004: the primary context the runtime shares, user contexts made current
//! with push/pop, and two "plugins" in one process, where one plugin's `device_reset`
//! destroys the memory of the other, and the safe pattern that avoids it: a plugin creates
//! its own context through the driver layer, makes it current, and uses runtime calls on it.
//!
//! `cargo run --example contexts`

use ferrocuda_driver as driver;
use ferrocuda_runtime::{self as cuda, launch, DeviceVec, MemcpyKind};

cuda::embed_module!(KERNELS = "kernels/add_one.ptx");

fn where_is(mem: &DeviceVec<f32>) -> &'static str {
    if mem.as_driver().context().is_primary() {
        "the primary context"
    } else {
        "a user context"
    }
}

/// One round of work: copy inputs in, `add_one`, copy the result out.
fn add_one(data: &mut DeviceVec<f32>) -> cuda::Result<f32> {
    let input = vec![1.0f32; data.len()];
    let bytes = data.len() * 4;
    cuda::memcpy(data, &input, bytes, MemcpyKind::HostToDevice)?;
    launch!(KERNELS::add_one<<<1, 64>>>(data, data.len() as i32))?;
    cuda::device_synchronize()?;
    let mut out = vec![0.0f32; data.len()];
    cuda::memcpy(&mut out, data, bytes, MemcpyKind::DeviceToHost)?;
    Ok(out[0])
}

/// A plugin using the runtime API as most CUDA code does: on the shared primary context.
struct PrimaryPlugin {
    data: DeviceVec<f32>,
}

impl PrimaryPlugin {
    fn start() -> cuda::Result<PrimaryPlugin> {
        Ok(PrimaryPlugin {
            data: cuda::malloc::<f32>(64)?,
        })
    }
    fn work(&mut self) -> cuda::Result<f32> {
        add_one(&mut self.data)
    }
    /// "Done with CUDA": cleans up with `cudaDeviceReset`, for the whole process.
    fn finish(self) -> cuda::Result<()> {
        drop(self.data);
        cuda::device_reset()
    }
}

/// A plugin that owns its context (created through the driver layer) and makes it current
/// around its runtime calls.
struct OwnContextPlugin {
    ctx: driver::Context,
    data: DeviceVec<f32>,
}

impl OwnContextPlugin {
    fn start() -> cuda::Result<OwnContextPlugin> {
        let ctx = driver::Context::new(
            cuda::current_driver_device()?,
            driver::ContextFlags::SCHED_AUTO,
        )?;
        ctx.push_current()?;
        let data = cuda::malloc::<f32>(64);
        driver::Context::pop_current()?;
        Ok(OwnContextPlugin { ctx, data: data? })
    }
    fn work(&mut self) -> cuda::Result<f32> {
        self.ctx.push_current()?;
        let r = add_one(&mut self.data);
        driver::Context::pop_current()?;
        r
    }
}

/// The program; `fcuda demo` runs it too.
pub fn run() -> cuda::Result<()> {
    let device = cuda::current_driver_device()?;
    println!("device {device}: {}", device.name()?);

    // 1. The primary context: created by the runtime on first use, shared with the driver.
    let mem = cuda::malloc::<f32>(1)?;
    let primary = device.retain_primary_context()?;
    println!(
        "runtime allocation lives in {}; same context as the driver's primary retain: {}",
        where_is(&mem),
        *mem.as_driver().context() == primary
    );
    drop((mem, primary));

    // 2. User contexts: what is current on the thread is what the runtime uses.
    let ctx1 = driver::Context::new(device, driver::ContextFlags::SCHED_AUTO)?;
    let ctx2 = driver::Context::new(device, driver::ContextFlags::SCHED_AUTO)?;
    ctx1.push_current()?;
    let in1 = cuda::malloc::<f32>(1)?;
    driver::Context::pop_current()?;
    ctx2.push_current()?;
    let in2 = cuda::malloc::<f32>(1)?;
    driver::Context::pop_current()?;
    let after = cuda::malloc::<f32>(1)?;
    println!(
        "pushed ctx1: allocation in ctx1: {}; pushed ctx2: in ctx2: {}; popped: back in {}",
        *in1.as_driver().context() == ctx1,
        *in2.as_driver().context() == ctx2,
        where_is(&after)
    );
    drop((in1, in2, after, ctx1, ctx2));

    // 3. Two plugins on the primary context, and one with its own context.
    let mut a = PrimaryPlugin::start()?;
    let mut b = PrimaryPlugin::start()?;
    let mut c = OwnContextPlugin::start()?;
    println!(
        "plugin A: {}, plugin B: {}, plugin C (own context): {}",
        a.work()?,
        b.work()?,
        c.work()?
    );
    a.finish()?;
    println!("plugin A finished with device_reset()");
    let b_after = b.work();
    match &b_after {
        Ok(v) => println!("plugin B after the reset: {v} (unexpected)"),
        Err(e) => println!(
            "plugin B after the reset: {} (its memory was destroyed with the primary context)",
            e.name()
        ),
    }
    let c_after = c.work()?;
    println!("plugin C after the reset: {c_after} (its own context was untouched)");

    if b_after.is_err() && c_after == 2.0 {
        Ok(())
    } else {
        Err(cuda::Error::with_detail(
            cuda::ErrorCode::Unknown,
            "the plugins did not behave as the primary-context rules say",
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
