//! ferrocuda-cpu: the built-in CPU device that executes PTX with the GPU's exact results.

pub mod arith;

/// Errors of the CPU device (minimal form; the executor defines the full enum).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An instruction form the device does not implement.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl From<arith::ArithError> for Error {
    fn from(e: arith::ArithError) -> Self {
        Error::Unsupported(e.to_string())
    }
}
