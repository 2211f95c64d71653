//! Errors as the CUDA runtime reports them.
//!
//! The driver layer speaks `CUresult` (`CUDA_ERROR_ILLEGAL_ADDRESS`); the runtime speaks
//! `cudaError_t` (`cudaErrorIllegalAddress`). Programs ported from CUDA C++ match on the
//! runtime names and numbers, so [`ErrorCode`] keeps both exactly as `driver_types.h` has them,
//! and [`ErrorCode::from_driver`] maps every driver code the way `libcudart` does.

use std::fmt;

macro_rules! error_codes {
    ($( $variant:ident = $value:literal, $name:literal, $desc:literal; )*) => {
        /// A CUDA runtime error code (`cudaError_t`), numbered as in CUDA 13.0.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(i32)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $(
                #[doc = $desc]
                $variant = $value,
            )*
        }

        impl ErrorCode {
            /// Every code, in numeric order (for tables and tests).
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The runtime's name for the code, e.g. `"cudaErrorIllegalAddress"`
            /// (what `cudaGetErrorName` returns).
            pub fn name(self) -> &'static str {
                match self { $(ErrorCode::$variant => $name,)* }
            }

            /// The runtime's description, e.g. `"an illegal memory access was encountered"`
            /// (what `cudaGetErrorString` returns).
            pub fn description(self) -> &'static str {
                match self { $(ErrorCode::$variant => $desc,)* }
            }

            /// The code with this `cudaError_t` number, if it is one the runtime defines.
            pub fn from_raw(value: i32) -> Option<ErrorCode> {
                match value { $($value => Some(ErrorCode::$variant),)* _ => None }
            }
        }
    };
}

error_codes! {
    Success = 0, "cudaSuccess", "no error";
    InvalidValue = 1, "cudaErrorInvalidValue", "invalid argument";
    MemoryAllocation = 2, "cudaErrorMemoryAllocation", "out of memory";
    InitializationError = 3, "cudaErrorInitializationError", "initialization error";
    CudartUnloading = 4, "cudaErrorCudartUnloading", "driver shutting down";
    ProfilerDisabled = 5, "cudaErrorProfilerDisabled", "profiler disabled while using external profiling tool";
    ProfilerNotInitialized = 6, "cudaErrorProfilerNotInitialized", "profiler not initialized: call cudaProfilerInitialize()";
    ProfilerAlreadyStarted = 7, "cudaErrorProfilerAlreadyStarted", "profiler already started";
    ProfilerAlreadyStopped = 8, "cudaErrorProfilerAlreadyStopped", "profiler already stopped";
    InvalidConfiguration = 9, "cudaErrorInvalidConfiguration", "invalid configuration argument";
    InvalidPitchValue = 12, "cudaErrorInvalidPitchValue", "invalid pitch argument";
    InvalidSymbol = 13, "cudaErrorInvalidSymbol", "invalid device symbol";
    InvalidHostPointer = 16, "cudaErrorInvalidHostPointer", "invalid host pointer";
    InvalidDevicePointer = 17, "cudaErrorInvalidDevicePointer", "invalid device pointer";
    InvalidTexture = 18, "cudaErrorInvalidTexture", "invalid texture reference";
    InvalidMemcpyDirection = 21, "cudaErrorInvalidMemcpyDirection", "invalid copy direction for memcpy";
    StubLibrary = 34, "cudaErrorStubLibrary", "CUDA driver is a stub library";
    InsufficientDriver = 35, "cudaErrorInsufficientDriver", "CUDA driver version is insufficient for CUDA runtime version";
    CallRequiresNewerDriver = 36, "cudaErrorCallRequiresNewerDriver", "API call is not supported in the installed CUDA driver";
    DevicesUnavailable = 46, "cudaErrorDevicesUnavailable", "CUDA-capable device(s) is/are busy or unavailable";
    MissingConfiguration = 52, "cudaErrorMissingConfiguration", "__global__ function call is not configured";
    PriorLaunchFailure = 53, "cudaErrorPriorLaunchFailure", "unspecified launch failure in prior launch";
    InvalidDeviceFunction = 98, "cudaErrorInvalidDeviceFunction", "invalid device function";
    NoDevice = 100, "cudaErrorNoDevice", "no CUDA-capable device is detected";
    InvalidDevice = 101, "cudaErrorInvalidDevice", "invalid device ordinal";
    DeviceNotLicensed = 102, "cudaErrorDeviceNotLicensed", "device doesn't have valid Grid license";
    StartupFailure = 127, "cudaErrorStartupFailure", "startup failure in cuda runtime";
    InvalidKernelImage = 200, "cudaErrorInvalidKernelImage", "device kernel image is invalid";
    DeviceUninitialized = 201, "cudaErrorDeviceUninitialized", "invalid device context";
    MapBufferObjectFailed = 205, "cudaErrorMapBufferObjectFailed", "mapping of buffer object failed";
    UnmapBufferObjectFailed = 206, "cudaErrorUnmapBufferObjectFailed", "unmapping of buffer object failed";
    ArrayIsMapped = 207, "cudaErrorArrayIsMapped", "array is mapped";
    AlreadyMapped = 208, "cudaErrorAlreadyMapped", "resource already mapped";
    NoKernelImageForDevice = 209, "cudaErrorNoKernelImageForDevice", "no kernel image is available for execution on the device";
    AlreadyAcquired = 210, "cudaErrorAlreadyAcquired", "resource already acquired";
    NotMapped = 211, "cudaErrorNotMapped", "resource not mapped";
    NotMappedAsArray = 212, "cudaErrorNotMappedAsArray", "resource not mapped as array";
    NotMappedAsPointer = 213, "cudaErrorNotMappedAsPointer", "resource not mapped as pointer";
    EccUncorrectable = 214, "cudaErrorECCUncorrectable", "uncorrectable ECC error encountered";
    UnsupportedLimit = 215, "cudaErrorUnsupportedLimit", "limit is not supported on this architecture";
    DeviceAlreadyInUse = 216, "cudaErrorDeviceAlreadyInUse", "exclusive-thread device already in use by a different thread";
    PeerAccessUnsupported = 217, "cudaErrorPeerAccessUnsupported", "peer access is not supported between these two devices";
    InvalidPtx = 218, "cudaErrorInvalidPtx", "a PTX JIT compilation failed";
    InvalidGraphicsContext = 219, "cudaErrorInvalidGraphicsContext", "invalid OpenGL or DirectX context";
    NvlinkUncorrectable = 220, "cudaErrorNvlinkUncorrectable", "uncorrectable NVLink error detected during the execution";
    JitCompilerNotFound = 221, "cudaErrorJitCompilerNotFound", "PTX JIT compiler library not found";
    UnsupportedPtxVersion = 222, "cudaErrorUnsupportedPtxVersion", "the provided PTX was compiled with an unsupported toolchain.";
    JitCompilationDisabled = 223, "cudaErrorJitCompilationDisabled", "PTX JIT compilation was disabled";
    UnsupportedExecAffinity = 224, "cudaErrorUnsupportedExecAffinity", "the provided execution affinity is not supported";
    UnsupportedDevSideSync = 225, "cudaErrorUnsupportedDevSideSync", "cudaDeviceSynchronize is not supported in device code";
    Contained = 226, "cudaErrorContained", "an exception occurred on the device that is now contained by the GPU's error containment capability";
    InvalidSource = 300, "cudaErrorInvalidSource", "device kernel image is invalid";
    FileNotFound = 301, "cudaErrorFileNotFound", "file not found";
    SharedObjectSymbolNotFound = 302, "cudaErrorSharedObjectSymbolNotFound", "shared object symbol not found";
    SharedObjectInitFailed = 303, "cudaErrorSharedObjectInitFailed", "shared object initialization failed";
    OperatingSystem = 304, "cudaErrorOperatingSystem", "OS call failed or operation not supported on this OS";
    InvalidResourceHandle = 400, "cudaErrorInvalidResourceHandle", "invalid resource handle";
    IllegalState = 401, "cudaErrorIllegalState", "the operation cannot be performed in the present state";
    LossyQuery = 402, "cudaErrorLossyQuery", "attempted introspection would be semantically lossy";
    SymbolNotFound = 500, "cudaErrorSymbolNotFound", "named symbol not found";
    NotReady = 600, "cudaErrorNotReady", "device not ready";
    IllegalAddress = 700, "cudaErrorIllegalAddress", "an illegal memory access was encountered";
    LaunchOutOfResources = 701, "cudaErrorLaunchOutOfResources", "too many resources requested for launch";
    LaunchTimeout = 702, "cudaErrorLaunchTimeout", "the launch timed out and was terminated";
    LaunchIncompatibleTexturing = 703, "cudaErrorLaunchIncompatibleTexturing", "launch uses incompatible texturing mode";
    PeerAccessAlreadyEnabled = 704, "cudaErrorPeerAccessAlreadyEnabled", "peer access is already enabled";
    PeerAccessNotEnabled = 705, "cudaErrorPeerAccessNotEnabled", "peer access has not been enabled";
    SetOnActiveProcess = 708, "cudaErrorSetOnActiveProcess", "cannot set while device is active in this process";
    ContextIsDestroyed = 709, "cudaErrorContextIsDestroyed", "context is destroyed";
    Assert = 710, "cudaErrorAssert", "device-side assert triggered";
    TooManyPeers = 711, "cudaErrorTooManyPeers", "peer mapping resources exhausted";
    HostMemoryAlreadyRegistered = 712, "cudaErrorHostMemoryAlreadyRegistered", "part or all of the requested memory range is already mapped";
    HostMemoryNotRegistered = 713, "cudaErrorHostMemoryNotRegistered", "pointer does not correspond to a registered memory region";
    HardwareStackError = 714, "cudaErrorHardwareStackError", "hardware stack error";
    IllegalInstruction = 715, "cudaErrorIllegalInstruction", "an illegal instruction was encountered";
    MisalignedAddress = 716, "cudaErrorMisalignedAddress", "misaligned address";
    InvalidAddressSpace = 717, "cudaErrorInvalidAddressSpace", "operation not supported on global/shared address space";
    InvalidPc = 718, "cudaErrorInvalidPc", "invalid program counter";
    LaunchFailure = 719, "cudaErrorLaunchFailure", "unspecified launch failure";
    CooperativeLaunchTooLarge = 720, "cudaErrorCooperativeLaunchTooLarge", "too many blocks in cooperative launch";
    TensorMemoryLeak = 721, "cudaErrorTensorMemoryLeak", "tensor memory not completely freed";
    NotPermitted = 800, "cudaErrorNotPermitted", "operation not permitted";
    NotSupported = 801, "cudaErrorNotSupported", "operation not supported";
    SystemNotReady = 802, "cudaErrorSystemNotReady", "system not yet initialized";
    SystemDriverMismatch = 803, "cudaErrorSystemDriverMismatch", "system has unsupported display driver / cuda driver combination";
    CompatNotSupportedOnDevice = 804, "cudaErrorCompatNotSupportedOnDevice", "forward compatibility was attempted on non supported HW";
    MpsConnectionFailed = 805, "cudaErrorMpsConnectionFailed", "MPS client failed to connect to the MPS control daemon or the MPS server";
    MpsRpcFailure = 806, "cudaErrorMpsRpcFailure", "the remote procedural call between the MPS server and the MPS client failed";
    MpsServerNotReady = 807, "cudaErrorMpsServerNotReady", "MPS server is not ready to accept new MPS client requests";
    MpsMaxClientsReached = 808, "cudaErrorMpsMaxClientsReached", "the hardware resources required to create MPS client have been exhausted";
    MpsMaxConnectionsReached = 809, "cudaErrorMpsMaxConnectionsReached", "the hardware resources required to support device connections have been exhausted";
    MpsClientTerminated = 810, "cudaErrorMpsClientTerminated", "the MPS client has been terminated by the server";
    CdpNotSupported = 811, "cudaErrorCdpNotSupported", "is using CUDA Dynamic Parallelism, but the current configuration does not support it";
    CdpVersionMismatch = 812, "cudaErrorCdpVersionMismatch", "unsupported interaction between different versions of CUDA Dynamic Parallelism";
    StreamCaptureUnsupported = 900, "cudaErrorStreamCaptureUnsupported", "operation not permitted when stream is capturing";
    StreamCaptureInvalidated = 901, "cudaErrorStreamCaptureInvalidated", "operation failed due to a previous error during capture";
    StreamCaptureMerge = 902, "cudaErrorStreamCaptureMerge", "operation would result in a merge of separate capture sequences";
    StreamCaptureUnmatched = 903, "cudaErrorStreamCaptureUnmatched", "capture was not ended in the same stream as it began";
    StreamCaptureUnjoined = 904, "cudaErrorStreamCaptureUnjoined", "capturing stream has unjoined work";
    StreamCaptureIsolation = 905, "cudaErrorStreamCaptureIsolation", "dependency created on uncaptured work in another stream";
    StreamCaptureImplicit = 906, "cudaErrorStreamCaptureImplicit", "operation would make the legacy stream depend on a capturing blocking stream";
    CapturedEvent = 907, "cudaErrorCapturedEvent", "operation not permitted on an event last recorded in a capturing stream";
    StreamCaptureWrongThread = 908, "cudaErrorStreamCaptureWrongThread", "attempt to terminate a thread-local capture sequence from another thread";
    Timeout = 909, "cudaErrorTimeout", "wait operation timed out";
    GraphExecUpdateFailure = 910, "cudaErrorGraphExecUpdateFailure", "the graph update was not performed because it included changes which violated constraints specific to instantiated graph update";
    ExternalDevice = 911, "cudaErrorExternalDevice", "an async error has occurred in external entity outside of CUDA";
    InvalidClusterSize = 912, "cudaErrorInvalidClusterSize", "a kernel launch error has occurred due to cluster misconfiguration";
    FunctionNotLoaded = 913, "cudaErrorFunctionNotLoaded", "the function handle is not loaded when calling an API that requires a loaded function";
    InvalidResourceType = 914, "cudaErrorInvalidResourceType", "one or more resources passed in are not valid resource types for the operation";
    InvalidResourceConfiguration = 915, "cudaErrorInvalidResourceConfiguration", "one or more resources are insufficient or non-applicable for the operation";
    KeyRotation = 916, "cudaErrorKeyRotation", "an error happened during the key rotation sequence";
    Unknown = 999, "cudaErrorUnknown", "unknown error";
}

impl ErrorCode {
    /// The runtime code `libcudart` reports for a driver `CUresult` number.
    ///
    /// Most codes keep their number; the ones that differ are renamed on the way up
    /// (`CUDA_ERROR_OUT_OF_MEMORY` → `cudaErrorMemoryAllocation`, `CUDA_ERROR_NOT_FOUND` →
    /// `cudaErrorSymbolNotFound`, `CUDA_ERROR_INVALID_CONTEXT` → `cudaErrorDeviceUninitialized`,
    /// `CUDA_ERROR_LAUNCH_FAILED` → `cudaErrorLaunchFailure`, …). Unknown numbers become
    /// [`ErrorCode::Unknown`].
    pub fn from_driver(cu_result: u32) -> ErrorCode {
        use ErrorCode as E;
        match cu_result {
            0 => E::Success,
            1 => E::InvalidValue,
            2 => E::MemoryAllocation,
            3 => E::InitializationError,
            4 => E::CudartUnloading,
            5 => E::ProfilerDisabled,
            6 => E::ProfilerNotInitialized,
            7 => E::ProfilerAlreadyStarted,
            8 => E::ProfilerAlreadyStopped,
            34 => E::StubLibrary,
            36 => E::CallRequiresNewerDriver,
            46 => E::DevicesUnavailable,
            100 => E::NoDevice,
            101 => E::InvalidDevice,
            102 => E::DeviceNotLicensed,
            200 => E::InvalidKernelImage,
            201 => E::DeviceUninitialized,
            205 => E::MapBufferObjectFailed,
            206 => E::UnmapBufferObjectFailed,
            207 => E::ArrayIsMapped,
            208 => E::AlreadyMapped,
            209 => E::NoKernelImageForDevice,
            210 => E::AlreadyAcquired,
            211 => E::NotMapped,
            212 => E::NotMappedAsArray,
            213 => E::NotMappedAsPointer,
            214 => E::EccUncorrectable,
            215 => E::UnsupportedLimit,
            216 => E::DeviceAlreadyInUse,
            217 => E::PeerAccessUnsupported,
            218 => E::InvalidPtx,
            219 => E::InvalidGraphicsContext,
            220 => E::NvlinkUncorrectable,
            221 => E::JitCompilerNotFound,
            222 => E::UnsupportedPtxVersion,
            223 => E::JitCompilationDisabled,
            224 => E::UnsupportedExecAffinity,
            225 => E::UnsupportedDevSideSync,
            226 => E::Contained,
            300 => E::InvalidSource,
            301 => E::FileNotFound,
            302 => E::SharedObjectSymbolNotFound,
            303 => E::SharedObjectInitFailed,
            304 => E::OperatingSystem,
            400 => E::InvalidResourceHandle,
            401 => E::IllegalState,
            402 => E::LossyQuery,
            500 => E::SymbolNotFound,
            600 => E::NotReady,
            700 => E::IllegalAddress,
            701 => E::LaunchOutOfResources,
            702 => E::LaunchTimeout,
            703 => E::LaunchIncompatibleTexturing,
            704 => E::PeerAccessAlreadyEnabled,
            705 => E::PeerAccessNotEnabled,
            708 => E::SetOnActiveProcess,
            709 => E::ContextIsDestroyed,
            710 => E::Assert,
            711 => E::TooManyPeers,
            712 => E::HostMemoryAlreadyRegistered,
            713 => E::HostMemoryNotRegistered,
            714 => E::HardwareStackError,
            715 => E::IllegalInstruction,
            716 => E::MisalignedAddress,
            717 => E::InvalidAddressSpace,
            718 => E::InvalidPc,
            719 => E::LaunchFailure,
            720 => E::CooperativeLaunchTooLarge,
            721 => E::TensorMemoryLeak,
            800 => E::NotPermitted,
            801 => E::NotSupported,
            802 => E::SystemNotReady,
            803 => E::SystemDriverMismatch,
            804 => E::CompatNotSupportedOnDevice,
            805 => E::MpsConnectionFailed,
            806 => E::MpsRpcFailure,
            807 => E::MpsServerNotReady,
            808 => E::MpsMaxClientsReached,
            809 => E::MpsMaxConnectionsReached,
            810 => E::MpsClientTerminated,
            811 => E::CdpNotSupported,
            812 => E::CdpVersionMismatch,
            900 => E::StreamCaptureUnsupported,
            901 => E::StreamCaptureInvalidated,
            902 => E::StreamCaptureMerge,
            903 => E::StreamCaptureUnmatched,
            904 => E::StreamCaptureUnjoined,
            905 => E::StreamCaptureIsolation,
            906 => E::StreamCaptureImplicit,
            907 => E::CapturedEvent,
            908 => E::StreamCaptureWrongThread,
            909 => E::Timeout,
            910 => E::GraphExecUpdateFailure,
            911 => E::ExternalDevice,
            912 => E::InvalidClusterSize,
            913 => E::FunctionNotLoaded,
            914 => E::InvalidResourceType,
            915 => E::InvalidResourceConfiguration,
            916 => E::KeyRotation,
            _ => E::Unknown,
        }
    }

    /// The `cudaError_t` number.
    pub fn raw(self) -> i32 {
        self as i32
    }

    /// Whether the error corrupts the context it happened in, as CUDA's "sticky" errors do:
    /// every later call on that context fails with it until the device is reset.
    pub fn is_sticky(self) -> bool {
        matches!(
            self,
            ErrorCode::IllegalAddress
                | ErrorCode::LaunchFailure
                | ErrorCode::MisalignedAddress
                | ErrorCode::IllegalInstruction
                | ErrorCode::InvalidAddressSpace
                | ErrorCode::InvalidPc
                | ErrorCode::HardwareStackError
                | ErrorCode::Assert
                | ErrorCode::LaunchTimeout
                | ErrorCode::EccUncorrectable
                | ErrorCode::Contained
                | ErrorCode::TensorMemoryLeak
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A runtime error: the CUDA runtime code plus what ferrocuda knows about the cause
/// (the parameter that did not match, the PTX line that did not parse, the faulting address).
///
/// It displays as `cudaErrorIllegalAddress: an illegal memory access was encountered (detail)`,
/// so a one-line report names the code a CUDA programmer would search for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Error {
    code: ErrorCode,
    detail: Option<String>,
}

impl Error {
    /// An error with only a code.
    pub fn new(code: ErrorCode) -> Error {
        Error { code, detail: None }
    }

    /// An error with a code and a human-readable cause.
    pub fn with_detail(code: ErrorCode, detail: impl Into<String>) -> Error {
        Error {
            code,
            detail: Some(detail.into()),
        }
    }

    /// The `cudaError_t` code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The cause ferrocuda recorded, when it has one beyond the code's description.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The runtime's name of the code (`cudaGetErrorName`).
    pub fn name(&self) -> &'static str {
        self.code.name()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.name(), self.code.description())?;
        if let Some(d) = &self.detail {
            // Multi-line details (PTX diagnostics with a caret line) go below the code line.
            if d.contains('\n') {
                write!(f, "\n{d}")?;
            } else {
                write!(f, " ({d})")?;
            }
        }
        Ok(())
    }
}

impl From<ErrorCode> for Error {
    fn from(code: ErrorCode) -> Error {
        Error::new(code)
    }
}

impl From<ferrocuda_driver::Error> for Error {
    /// Maps a driver error to the runtime code `libcudart` reports, keeping the driver's
    /// explanation (the message, the PTX diagnostic, the JIT log) as the detail.
    fn from(e: ferrocuda_driver::Error) -> Error {
        use ferrocuda_driver::Error as D;
        let code = ErrorCode::from_driver(e.code().as_raw() as u32);
        let detail = match &e {
            D::Cuda { message, .. } => message.clone(),
            D::NvidiaUnavailable { reason } => format!("no NVIDIA device available: {reason}"),
            D::Ptx { what, text, .. } => format!("{what}:\n{text}"),
            D::Jit { message, log, .. } => {
                let log = log.trim_end_matches(['\0', '\n', ' ']);
                match (message.is_empty(), log.is_empty()) {
                    (_, true) => message.clone(),
                    (true, false) => format!("JIT log:\n{log}"),
                    (false, false) => format!("{message}\nJIT log:\n{log}"),
                }
            }
            other => other.to_string(),
        };
        if detail.is_empty() {
            Error::new(code)
        } else {
            Error::with_detail(code, detail)
        }
    }
}

/// The result type of every runtime call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_match_cuda() {
        assert_eq!(ErrorCode::IllegalAddress.raw(), 700);
        assert_eq!(ErrorCode::IllegalAddress.name(), "cudaErrorIllegalAddress");
        assert_eq!(ErrorCode::LaunchFailure.raw(), 719);
        assert_eq!(ErrorCode::InvalidDeviceFunction.raw(), 98);
        assert_eq!(ErrorCode::InsufficientDriver.raw(), 35);
        assert_eq!(
            ErrorCode::from_raw(9),
            Some(ErrorCode::InvalidConfiguration)
        );
        assert_eq!(ErrorCode::from_raw(10), None);
    }

    #[test]
    fn table_is_sorted_and_round_trips() {
        for w in ErrorCode::ALL.windows(2) {
            assert!(w[0].raw() < w[1].raw(), "{} before {}", w[0], w[1]);
        }
        for &c in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_raw(c.raw()), Some(c));
            assert!(c.name().starts_with("cuda"));
        }
    }

    #[test]
    fn driver_codes_map_like_cudart() {
        assert_eq!(ErrorCode::from_driver(2), ErrorCode::MemoryAllocation);
        assert_eq!(ErrorCode::from_driver(3), ErrorCode::InitializationError);
        assert_eq!(ErrorCode::from_driver(201), ErrorCode::DeviceUninitialized);
        assert_eq!(
            ErrorCode::from_driver(209),
            ErrorCode::NoKernelImageForDevice
        );
        assert_eq!(
            ErrorCode::from_driver(400),
            ErrorCode::InvalidResourceHandle
        );
        assert_eq!(ErrorCode::from_driver(500), ErrorCode::SymbolNotFound);
        assert_eq!(ErrorCode::from_driver(700), ErrorCode::IllegalAddress);
        assert_eq!(ErrorCode::from_driver(719), ErrorCode::LaunchFailure);
        assert_eq!(ErrorCode::from_driver(12345), ErrorCode::Unknown);
    }

    #[test]
    fn display_names_the_code_and_detail() {
        let e = Error::with_detail(
            ErrorCode::InvalidValue,
            "parameter `n`: 8 bytes given, 4 expected",
        );
        assert_eq!(
            e.to_string(),
            "cudaErrorInvalidValue: invalid argument (parameter `n`: 8 bytes given, 4 expected)"
        );
        let e = Error::with_detail(ErrorCode::InvalidPtx, "3:5: bad\n  x\n  ^");
        assert!(e
            .to_string()
            .starts_with("cudaErrorInvalidPtx: a PTX JIT compilation failed\n3:5"));
    }

    #[test]
    fn sticky_codes() {
        assert!(ErrorCode::IllegalAddress.is_sticky());
        assert!(ErrorCode::LaunchFailure.is_sticky());
        assert!(!ErrorCode::InvalidValue.is_sticky());
        assert!(!ErrorCode::MemoryAllocation.is_sticky());
    }
}
