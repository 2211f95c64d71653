//! The runtime layer of ferrocuda: CUDA's runtime API (`cudaMalloc`, `cudaMemcpy`,
//! `kernel<<<…>>>`, `cudaGetLastError`) in Rust, built only on the driver layer, and so the
//! same on NVIDIA GPUs and on the CPU device.
//!
//! What the runtime adds over the driver (seed documents 000–004):
//! - **Implicit initialisation**: the first call initialises the driver and checks that the
//!   driver is not older than the runtime ([`runtime_version`], [`driver_version`]).
//! - **A current device per thread** ([`set_device`], [`get_device`]): by default the first
//!   GPU, else the CPU device, or what `FERROCUDA_DEVICE` names (`cpu`, `cuda:N`).
//! - **Primary contexts**: each device's primary context is retained on first use and shared
//!   with driver-layer users; a context made current through the driver layer is used instead
//!   (see [`device_reset`] for what that means for plugins).
//! - **Embedded kernels and `<<<>>>`**: [`embed_module!`] puts PTX/cubin/fatbin files in the
//!   program, [`kernel!`] names their kernels, and [`launch!`] launches them with CUDA's
//!   syntax, loading each module lazily per device and checking arguments against the
//!   kernel's parameters.
//! - **CUDA runtime errors**: [`Error`] carries an [`ErrorCode`] with the runtime's names
//!   (`cudaErrorIllegalAddress`), the last error is kept per thread ([`get_last_error`],
//!   [`peek_at_last_error`]), and sticky errors stay until [`device_reset`].
//!
//! ```ignore
//! use ferrocuda_runtime::*;
//! embed_module!(KERNELS = "kernels/add_one.ptx");
//! kernel!(add_one in KERNELS);
//!
//! let mut h_a = vec![1.0f32; 256];
//! let mut d_a = malloc::<f32>(256)?;
//! memcpy(&mut d_a, &h_a, 256 * 4, MemcpyKind::HostToDevice)?;
//! launch!(add_one<<<1, 256>>>(d_a, 256i32))?;
//! memcpy(&mut h_a, &d_a, 256 * 4, MemcpyKind::DeviceToHost)?;
//! assert_eq!(h_a[0], 2.0);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod argspec;
mod dim;
mod error;
mod launch;
mod memory;
mod module;
mod props;
// Pageable copies staged through page-locked buffers by several threads (used by `memcpy`);
// public for the benchmarks, documented inside.
#[doc(hidden)]
pub mod staged_copy;
mod state;
mod stream;
mod version;

pub use dim::{Dim3, DimComponent, IntoDim3};
pub use error::{Error, ErrorCode, Result};
#[doc(hidden)]
pub use launch::launch_with;
pub use launch::{launch_kernel, SharedBytes};
pub use memory::{
    free, free_host, malloc, malloc_from, malloc_host, mem_get_info, memcpy, memcpy_async,
    memcpy_from_symbol, memcpy_to_symbol, memset, pointer_get_attributes, DeviceVec, Dst, HostVec,
    MemcpyDst, MemcpyKind, MemcpySrc, Src,
};
pub use module::{
    module_load, module_load_data, EmbeddedModule, Function, Kernel, Launchable, Module,
};
pub use props::{device_get_attribute, get_device_properties, DeviceProp};
pub use state::{
    current_driver_device, device_get_limit, device_reset, device_set_limit, device_synchronize,
    driver_version, get_device, get_device_count, get_error_name, get_error_string, get_last_error,
    init_runtime, peek_at_last_error, set_device, set_device_spec, take_last_error,
};
pub use stream::{
    default_stream, event_create, event_create_with_flags, event_destroy, event_elapsed_time,
    event_query, event_record, event_synchronize, stream_create, stream_create_with_flags,
    stream_destroy, stream_synchronize, Event, Stream, StreamArg,
};
pub use version::{
    check_compatibility, runtime_version, version_string, DRIVER_VERSION_OVERRIDE_ENV,
    RUNTIME_VERSION,
};

/// Types from the driver layer that runtime users meet: kernel arguments, device pointers,
/// flags.
pub use ferrocuda_driver::{
    bytemuck, DeviceAttribute, DevicePtr, DeviceRepr, EventFlags, KernelArg, Limit, Platform,
    PointerInfo, StreamFlags,
};
