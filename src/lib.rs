//! ferrocuda: CUDA's driver and runtime APIs in Rust, over NVIDIA GPUs (through the installed
//! driver, loaded at run time) and a built-in CPU device that executes PTX with the GPU's results.
//!
//! This umbrella crate re-exports the layers; depend on a layer directly if you need only one.
//! - [`ptx`]: PTX text and GPU code containers → a checked IR.
//! - [`cpu`]: the executor behind the CPU device.
//! - [`driver`]: the driver layer (explicit init, contexts, modules, memory, streams, events).
//! - [`runtime`]: the runtime layer (primary contexts, embedded kernels, `launch!`).

#![forbid(unsafe_code)]

pub use ferrocuda_cpu as cpu;
pub use ferrocuda_driver as driver;
pub use ferrocuda_ptx as ptx;
pub use ferrocuda_runtime as runtime;
