//! Kernel launches: `cudaLaunchKernel` and the `launch!` macro (`kernel<<<grid, block>>>(…)`).

use driver::{DeviceRepr, LaunchLimits};
use ferrocuda_driver as driver;

use crate::dim::{Dim3, IntoDim3};
use crate::error::{Error, ErrorCode, Result};
use crate::module::{LaunchScope, Launchable};
use crate::state::scope;
use crate::stream::{Stream, StreamArg};

/// `cudaErrorInvalidConfiguration` for a grid or block the device cannot run (one
/// [`LaunchLimits::fits`] refused), naming the limit broken, as the CUDA runtime reports it
/// (the driver says `CUDA_ERROR_INVALID_VALUE`).
#[cold]
#[inline(never)]
fn config_error(kernel: &str, grid: Dim3, block: Dim3, lim: &LaunchLimits) -> Error {
    let why = lim
        .broken(grid, block)
        .unwrap_or_else(|| "no limit is broken".into());
    Error::with_detail(
        ErrorCode::InvalidConfiguration,
        format!("launch of `{kernel}` with grid {grid:?}, block {block:?}: {why}"),
    )
}

/// Bytes of dynamic shared memory: any integer, range-checked into `u32`.
pub trait SharedBytes: Copy + std::fmt::Debug {
    /// The value as `u32`, or `None` when negative or too large.
    fn shared_bytes(self) -> Option<u32>;
}

macro_rules! shared_bytes {
    ($($t:ty),*) => {$(
        impl SharedBytes for $t {
            fn shared_bytes(self) -> Option<u32> {
                u32::try_from(self).ok()
            }
        }
    )*};
}
shared_bytes!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

/// Launches `kernel` on `grid` × `block` threads with `shared` bytes of dynamic shared memory
/// on `stream` (`None`: the default stream) in the runtime's current context
/// (`cudaLaunchKernel`).
///
/// The arguments are checked against the kernel's parameters: a wrong count or a wrong size is
/// `cudaErrorInvalidValue` naming the parameter. A configuration the device cannot run is
/// `cudaErrorInvalidConfiguration`. The launch is asynchronous: errors the kernel hits while
/// running come back from the next synchronising call. Failures are also recorded for
/// [`get_last_error`](crate::get_last_error).
pub fn launch_kernel<K: Launchable + ?Sized>(
    kernel: &K,
    grid: impl IntoDim3,
    block: impl IntoDim3,
    shared: u32,
    stream: Option<&Stream>,
    args: &[&dyn DeviceRepr],
) -> Result<()> {
    launch_with(kernel, grid, block, shared, &stream, args)
}

/// What `launch!` expands to.
#[doc(hidden)]
pub fn launch_with<K, S>(
    kernel: &K,
    grid: impl IntoDim3,
    block: impl IntoDim3,
    shared: impl SharedBytes,
    stream: &S,
    args: &[&dyn DeviceRepr],
) -> Result<()>
where
    K: Launchable + ?Sized,
    S: StreamArg + ?Sized,
{
    let s = scope()?;
    s.run_rt(|_| {
        let grid = grid.into_dim3()?;
        let block = block.into_dim3()?;
        let shared = shared.shared_bytes().ok_or_else(|| {
            Error::with_detail(
                ErrorCode::InvalidValue,
                format!(
                    "launch of `{}`: {shared:?} bytes of shared memory",
                    kernel.kernel_name()
                ),
            )
        })?;
        let limits = s.launch_limits()?;
        if !limits.fits(grid, block) {
            return Err(config_error(kernel.kernel_name(), grid, block, limits));
        }
        let f = kernel.function(&LaunchScope { scope: &s })?;
        let st = match stream.stream_arg()? {
            Some(st) => st.as_driver(),
            None => s.default_stream(),
        };
        f.launch(grid, block, shared, st, args).map_err(Error::from)
    })
}

/// Launches a kernel with CUDA's syntax: `launch!(kernel<<<grid, block>>>(args…))`, or
/// `<<<grid, block, shared_bytes>>>`, or `<<<grid, block, shared_bytes, stream>>>`.
///
/// `kernel` is `MODULE::name` for a kernel of a module declared with
/// [`embed_module!`](crate::embed_module), a kernel declared with [`kernel!`](crate::kernel),
/// or a variable holding a [`Kernel`](crate::Kernel) or a run-time
/// [`Function`](crate::Function). Grid and block are integers, tuples of up to
/// three integers, arrays or [`Dim3`](crate::Dim3); the stream is a
/// [`Stream`](crate::Stream), `&Stream`, `Option<&Stream>` or `0`. Each argument is any
/// [`DeviceRepr`](crate::DeviceRepr): integers, floats, device memory (passed as its address).
///
/// Evaluates to `Result<(), Error>`; a failure is also recorded for
/// [`get_last_error`](crate::get_last_error), so CUDA-style checking after the launch works.
///
/// ```ignore
/// ferrocuda_runtime::embed_module!(KERNELS = "kernels/vector_add.ptx");
/// let n = 1024i32;
/// launch!(KERNELS::vector_add<<<(n + 255) / 256, 256>>>(&d_a, &d_b, &d_c, n))?;
/// ```
#[macro_export]
macro_rules! launch {
    // `<<<-x` lexes as `<<` `<-` `x`.
    ($($path:ident)::+ << <- $($rest:tt)*) => {
        $crate::__launch_split!([$($path)+] [-] $($rest)*)
    };
    ($($path:ident)::+ <<< $($rest:tt)*) => {
        $crate::__launch_split!([$($path)+] [] $($rest)*)
    };
}

/// Splits `grid, block… >>> (args…)` at the `>>>`.
#[doc(hidden)]
#[macro_export]
macro_rules! __launch_split {
    ([$($path:ident)+] [$($cfg:tt)*] >>> ($($args:expr),* $(,)?)) => {
        $crate::__launch_path!({$($cfg)*} {$($args),*} [] $($path)+)
    };
    ([$($path:ident)+] [$($cfg:tt)*] $t:tt $($rest:tt)*) => {
        $crate::__launch_split!([$($path)+] [$($cfg)* $t] $($rest)*)
    };
}

/// Turns the kernel path into an expression: `m::name` → `m.kernel("name")`, `k` → `k`.
#[doc(hidden)]
#[macro_export]
macro_rules! __launch_path {
    ({$($cfg:tt)*} {$($args:expr),*} [] $only:ident) => {
        $crate::__launch_cfg!((&$only) {$($cfg)*} {$($args),*})
    };
    ({$($cfg:tt)*} {$($args:expr),*} [$($pre:ident)+] $last:ident) => {
        $crate::__launch_cfg!(
            (&$($pre)::+.kernel(stringify!($last)))
            {$($cfg)*}
            {$($args),*}
        )
    };
    ({$($cfg:tt)*} {$($args:expr),*} [$($pre:ident)*] $seg:ident $($more:ident)+) => {
        $crate::__launch_path!({$($cfg)*} {$($args),*} [$($pre)* $seg] $($more)+)
    };
}

/// Expands the configuration into a call of [`launch_with`].
#[doc(hidden)]
#[macro_export]
macro_rules! __launch_cfg {
    (($k:expr) {$grid:expr, $block:expr $(,)?} {$($args:expr),*}) => {
        $crate::launch_with($k, $grid, $block, 0u32, &0i32,
            &[$(&$args as &dyn $crate::DeviceRepr),*])
    };
    (($k:expr) {$grid:expr, $block:expr, $shared:expr $(,)?} {$($args:expr),*}) => {
        $crate::launch_with($k, $grid, $block, $shared, &0i32,
            &[$(&$args as &dyn $crate::DeviceRepr),*])
    };
    (($k:expr) {$grid:expr, $block:expr, $shared:expr, $stream:expr $(,)?} {$($args:expr),*}) => {
        $crate::launch_with($k, $grid, $block, $shared, &$stream,
            &[$(&$args as &dyn $crate::DeviceRepr),*])
    };
}
