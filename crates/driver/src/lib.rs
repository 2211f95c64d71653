//! ferrocuda-driver: the CUDA driver API over NVIDIA GPUs and the built-in CPU device.

#[doc(hidden)]
pub mod nvidia;
