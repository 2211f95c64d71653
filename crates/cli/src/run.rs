//! `fcuda run`: launch one kernel with arguments given as text, then write its buffers out.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use ferrocuda_runtime::argspec::{self, ArgSpec};
use ferrocuda_runtime::{
    self as rt, DeviceRepr, DeviceVec, Dim3, Error, ErrorCode, KernelArg, Result,
};

/// Arguments of `fcuda run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The module file (`.ptx`, `.cubin`, `.fatbin`).
    module: PathBuf,
    /// The kernel to launch.
    kernel: String,
    /// Grid dimensions: `X[,Y[,Z]]`.
    #[arg(long, value_parser = parse_dim)]
    grid: Dim3,
    /// Block dimensions: `X[,Y[,Z]]`.
    #[arg(long, value_parser = parse_dim)]
    block: Dim3,
    /// Bytes of dynamic shared memory per block.
    #[arg(long, default_value_t = 0)]
    shared: u32,
    /// The device: `cpu`, `cuda:N` or an ordinal (default: FERROCUDA_DEVICE, else the first
    /// GPU, else the CPU device).
    #[arg(long)]
    device: Option<String>,
    /// Write each buffer argument to DIR/out_K.bin (K: its position) and each --global to
    /// DIR/global_NAME.bin after the kernel finishes.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// A module-scope variable to write to DIR/global_NAME.bin (repeatable; needs --out).
    #[arg(long = "global", value_name = "NAME")]
    globals: Vec<String>,
    /// Kernel arguments, one per parameter: TYPE:VALUE, raw:HEX, buf:FILE or zeros:BYTES.
    #[arg(value_name = "ARG", value_parser = parse_arg, allow_hyphen_values = true)]
    args: Vec<ArgSpec>,
}

fn parse_dim(s: &str) -> std::result::Result<Dim3, String> {
    argspec::parse_dim(s).map_err(|e| e.detail().unwrap_or("bad dimension").to_string())
}

fn parse_arg(s: &str) -> std::result::Result<ArgSpec, String> {
    argspec::parse(s).map_err(|e| e.detail().unwrap_or("bad argument").to_string())
}

/// One argument made ready for the launch.
enum Prepared {
    Bytes(Vec<u8>),
    Buffer(DeviceVec<u8>),
}

pub fn run(a: &RunArgs) -> Result<ExitCode> {
    if !a.globals.is_empty() && a.out.is_none() {
        return Err(Error::with_detail(
            ErrorCode::InvalidValue,
            "--global needs --out DIR to write to",
        ));
    }
    if let Some(spec) = &a.device {
        rt::set_device_spec(spec)?;
    }
    let image = crate::ptx::read(&a.module)?;
    let module = rt::module_load_data(&image).map_err(|e| in_file(e, &a.module))?;
    let function = module.function(&a.kernel)?;

    let mut prepared = Vec::with_capacity(a.args.len());
    for spec in &a.args {
        prepared.push(match spec {
            ArgSpec::Scalar(s) => Prepared::Bytes(s.to_bytes()),
            ArgSpec::Raw(b) => Prepared::Bytes(b.clone()),
            ArgSpec::Buffer(path) => Prepared::Buffer(rt::malloc_from(&crate::ptx::read(path)?)?),
            ArgSpec::Zeros(n) => {
                let n = usize::try_from(*n).map_err(|_| {
                    Error::with_detail(ErrorCode::MemoryAllocation, format!("zeros:{n}"))
                })?;
                let mut b = rt::malloc::<u8>(n)?;
                rt::memset(&mut b, 0, n)?;
                Prepared::Buffer(b)
            }
        });
    }
    let kernel_args: Vec<KernelArg<'_>> = prepared
        .iter()
        .map(|p| match p {
            Prepared::Bytes(b) => KernelArg::bytes(b),
            Prepared::Buffer(b) => b.as_kernel_arg(),
        })
        .collect();
    let arg_refs: Vec<&dyn DeviceRepr> = kernel_args.iter().map(|k| k as &dyn DeviceRepr).collect();

    let start = std::time::Instant::now();
    rt::launch_kernel(&function, a.grid, a.block, a.shared, None, &arg_refs)?;
    rt::device_synchronize()?;
    let elapsed = start.elapsed();
    let (g, b) = (a.grid, a.block);
    println!(
        "{}<<<({}, {}, {}), ({}, {}, {}), {}>>> on {}: ok ({:.3} ms)",
        a.kernel,
        g.x,
        g.y,
        g.z,
        b.x,
        b.y,
        b.z,
        a.shared,
        rt::current_driver_device()?,
        elapsed.as_secs_f64() * 1e3
    );

    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        for (k, p) in prepared.iter().enumerate() {
            if let Prepared::Buffer(b) = p {
                write(&dir.join(format!("out_{k}.bin")), &b.to_vec()?)?;
            }
        }
        for name in &a.globals {
            let (ptr, size) = module.global(name)?;
            let mut bytes = vec![0u8; size as usize];
            rt::memcpy_from_symbol(&mut bytes, ptr)?;
            write(&dir.join(format!("global_{name}.bin")), &bytes)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn in_file(e: Error, path: &Path) -> Error {
    match e.detail() {
        Some(d) => Error::with_detail(e.code(), format!("{}: {d}", path.display())),
        None => Error::with_detail(e.code(), path.display().to_string()),
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::with_detail(
        ErrorCode::OperatingSystem,
        format!("{}: {e}", path.display()),
    )
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| io_error(path, e))?;
    println!("wrote {} ({} bytes)", path.display(), bytes.len());
    Ok(())
}
