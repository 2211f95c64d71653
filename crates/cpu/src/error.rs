//! The executor's error type.

use std::fmt;

/// Where a fault happened: the kernel and the PTX source position of the faulting instruction.
///
/// Errors raised by host-side calls (memory copies, module loading) carry no site.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Site {
    /// Kernel (entry) name; empty when the error did not come from a running kernel.
    pub kernel: String,
    /// 1-based PTX line of the instruction; 0 when unknown.
    pub line: u32,
    /// 1-based PTX column of the instruction; 0 when unknown.
    pub col: u32,
}

impl Site {
    /// A site in a kernel at a PTX position.
    pub fn new(kernel: &str, loc: ferrocuda_ptx::ir::SourceLoc) -> Site {
        Site {
            kernel: kernel.to_string(),
            line: loc.line,
            col: loc.col,
        }
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.kernel.is_empty() {
            write!(f, " in kernel `{}`", self.kernel)?;
        }
        if self.line != 0 {
            write!(f, " at {}:{}", self.line, self.col)?;
        }
        Ok(())
    }
}

/// Everything that can go wrong on the CPU device: bad launches, faults inside kernels, PTX the
/// executor does not implement, and bad host-side arguments.
///
/// The driver layer maps each variant onto the CUDA error code a GPU would give.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A kernel accessed memory that no allocation (or shared/local window) covers
    /// (`CUDA_ERROR_ILLEGAL_ADDRESS`).
    #[error("illegal address 0x{addr:x} ({bytes}-byte {access}){at}")]
    IllegalAddress {
        /// The address accessed.
        addr: u64,
        /// Width of the access in bytes.
        bytes: u32,
        /// `"load"`, `"store"`, `"atomic"` or the like.
        access: &'static str,
        /// Kernel and PTX position of the faulting instruction.
        at: Site,
    },
    /// A kernel access not aligned to its width (`CUDA_ERROR_MISALIGNED_ADDRESS`).
    #[error("misaligned address 0x{addr:x} ({bytes}-byte {access}){at}")]
    MisalignedAddress {
        /// The address accessed.
        addr: u64,
        /// Width (alignment requirement) of the access in bytes.
        bytes: u32,
        /// `"load"`, `"store"`, `"atomic"` or the like.
        access: &'static str,
        /// Kernel and PTX position of the faulting instruction.
        at: Site,
    },
    /// `trap` executed (`CUDA_ERROR_LAUNCH_FAILED`).
    #[error("trap executed{at}")]
    Trap {
        /// Kernel and PTX position of the `trap`.
        at: Site,
    },
    /// A thread's `assert` failed (`__assertfail`; `CUDA_ERROR_ASSERT`). Each failing thread's
    /// message went to the device's error output, as a GPU prints it.
    #[error("device-side assertion failed: {message}{at}")]
    Assert {
        /// The first failing thread's message, as the GPU prints it.
        message: String,
        /// Kernel and PTX position of the call.
        at: Site,
    },
    /// `brkpt` executed, or an instruction that cannot run in this context
    /// (`CUDA_ERROR_ILLEGAL_INSTRUCTION`).
    #[error("illegal instruction: {what}{at}")]
    IllegalInstruction {
        /// What was executed.
        what: String,
        /// Kernel and PTX position of the instruction.
        at: Site,
    },
    /// Calls nested deeper than the device's stack allows (`CUDA_ERROR_LAUNCH_FAILED`).
    #[error("call stack overflow (depth {depth}){at}")]
    StackOverflow {
        /// Call depth reached.
        depth: u32,
        /// Kernel and PTX position of the `call`.
        at: Site,
    },
    /// Every live thread of a block waits at a barrier that can never complete; a GPU would hang
    /// until the watchdog fires (`CUDA_ERROR_LAUNCH_TIMEOUT`).
    #[error("barrier deadlock: {what}{at}")]
    Deadlock {
        /// How many threads wait.
        what: String,
        /// Kernel and PTX position of a waiting barrier.
        at: Site,
    },
    /// A bad argument to a host-side call (`CUDA_ERROR_INVALID_VALUE`).
    #[error("invalid value: {0}")]
    InvalidValue(String),
    /// Device memory exhausted (`CUDA_ERROR_OUT_OF_MEMORY`).
    #[error("out of device memory")]
    OutOfMemory,
    /// A launch configuration the device cannot run (`CUDA_ERROR_INVALID_VALUE`, as CUDA 13
    /// reports bad grid/block shapes).
    #[error("invalid launch configuration: {0}")]
    InvalidConfiguration(String),
    /// Shared memory request above the device limit (`CUDA_ERROR_INVALID_VALUE`).
    #[error("too much shared memory: {requested} bytes requested, {limit} allowed")]
    SharedMemoryTooLarge {
        /// Static plus dynamic shared bytes of the launch.
        requested: u64,
        /// The device's per-block limit (opt-in maximum).
        limit: u64,
    },
    /// PTX the executor does not implement, found while loading a module
    /// (`CUDA_ERROR_NOT_SUPPORTED` / JIT failure).
    #[error("unsupported {what}{at}")]
    Unsupported {
        /// The construct, e.g. "instruction `mma`".
        what: String,
        /// Kernel and PTX position where it appears.
        at: Site,
    },
    /// A symbol, kernel or allocation that does not exist (`CUDA_ERROR_NOT_FOUND`).
    #[error("not found: {0}")]
    NotFound(String),
    /// A module the executor cannot load (bad symbol references, missing function bodies).
    #[error("invalid module: {0}")]
    InvalidModule(String),
}

impl Error {
    /// The site this error was raised at, if it came from an instruction.
    pub fn site(&self) -> Option<&Site> {
        match self {
            Error::IllegalAddress { at, .. }
            | Error::MisalignedAddress { at, .. }
            | Error::Trap { at }
            | Error::Assert { at, .. }
            | Error::IllegalInstruction { at, .. }
            | Error::StackOverflow { at, .. }
            | Error::Deadlock { at, .. }
            | Error::Unsupported { at, .. } => Some(at),
            _ => None,
        }
    }

    /// Fills in the site of an instruction-level error that has none yet.
    pub(crate) fn with_site(mut self, site: impl FnOnce() -> Site) -> Error {
        match &mut self {
            Error::IllegalAddress { at, .. }
            | Error::MisalignedAddress { at, .. }
            | Error::Trap { at }
            | Error::Assert { at, .. }
            | Error::IllegalInstruction { at, .. }
            | Error::StackOverflow { at, .. }
            | Error::Deadlock { at, .. }
            | Error::Unsupported { at, .. }
                if at.kernel.is_empty() && at.line == 0 =>
            {
                *at = site();
            }
            _ => {}
        }
        self
    }
}

impl From<crate::arith::ArithError> for Error {
    fn from(e: crate::arith::ArithError) -> Self {
        match e {
            crate::arith::ArithError::Unsupported { what, line, col } => Error::Unsupported {
                what: format!("instruction form: {what}"),
                at: Site {
                    kernel: String::new(),
                    line,
                    col,
                },
            },
            crate::arith::ArithError::Malformed(m) => Error::InvalidModule(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_includes_kernel_location_and_address() {
        let e = Error::IllegalAddress {
            addr: 0x7e00_0000_1000,
            bytes: 4,
            access: "load",
            at: Site {
                kernel: "k".into(),
                line: 12,
                col: 5,
            },
        };
        assert_eq!(
            e.to_string(),
            "illegal address 0x7e0000001000 (4-byte load) in kernel `k` at 12:5"
        );
        assert_eq!(e.site().unwrap().line, 12);
    }

    #[test]
    fn with_site_only_fills_missing_sites() {
        let e = Error::Trap {
            at: Site::default(),
        }
        .with_site(|| Site {
            kernel: "a".into(),
            line: 1,
            col: 2,
        });
        assert_eq!(e.to_string(), "trap executed in kernel `a` at 1:2");
        let e = e.with_site(|| Site {
            kernel: "b".into(),
            line: 3,
            col: 4,
        });
        assert_eq!(e.site().unwrap().kernel, "a");
    }
}
