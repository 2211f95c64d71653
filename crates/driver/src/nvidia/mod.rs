//! The NVIDIA platform: libcuda loaded at run time.

pub mod result;
pub mod sys;
