//! Errors: every CUDA driver error code, plus ferrocuda's own failures mapped onto them.
//!
//! [`Error`] always answers [`Error::code`] with the `CUresult` a CUDA user expects, and its
//! `Display` starts with that code's name, so logs read the same as with NVIDIA's driver.

use std::fmt;

/// Every `CUresult` value of the CUDA driver API (CUDA 13), with its number, its `cuda.h`
/// name and the text `cuGetErrorString` gives for it.
///
/// Errors from both platforms carry one of these, so code written against CUDA's error
/// vocabulary (`CUDA_ERROR_ILLEGAL_ADDRESS` after a faulting kernel, `CUDA_ERROR_NOT_FOUND` for a
/// missing kernel) works the same on an NVIDIA GPU and on the CPU device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(i32)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `CUDA_SUCCESS` (0): no error.
    Success = 0,
    /// `CUDA_ERROR_INVALID_VALUE` (1): invalid argument.
    InvalidValue = 1,
    /// `CUDA_ERROR_OUT_OF_MEMORY` (2): out of memory.
    OutOfMemory = 2,
    /// `CUDA_ERROR_NOT_INITIALIZED` (3): initialization error.
    NotInitialized = 3,
    /// `CUDA_ERROR_DEINITIALIZED` (4): driver shutting down.
    Deinitialized = 4,
    /// `CUDA_ERROR_PROFILER_DISABLED` (5): profiler disabled while using external profiling tool.
    ProfilerDisabled = 5,
    /// `CUDA_ERROR_PROFILER_NOT_INITIALIZED` (6): profiler not initialized: call cudaProfilerInitialize().
    ProfilerNotInitialized = 6,
    /// `CUDA_ERROR_PROFILER_ALREADY_STARTED` (7): profiler already started.
    ProfilerAlreadyStarted = 7,
    /// `CUDA_ERROR_PROFILER_ALREADY_STOPPED` (8): profiler already stopped.
    ProfilerAlreadyStopped = 8,
    /// `CUDA_ERROR_STUB_LIBRARY` (34): CUDA driver is a stub library.
    StubLibrary = 34,
    /// `CUDA_ERROR_CALL_REQUIRES_NEWER_DRIVER` (36): API call is not supported in the installed CUDA driver.
    CallRequiresNewerDriver = 36,
    /// `CUDA_ERROR_DEVICE_UNAVAILABLE` (46): CUDA-capable device(s) is/are busy or unavailable.
    DeviceUnavailable = 46,
    /// `CUDA_ERROR_NO_DEVICE` (100): no CUDA-capable device is detected.
    NoDevice = 100,
    /// `CUDA_ERROR_INVALID_DEVICE` (101): invalid device ordinal.
    InvalidDevice = 101,
    /// `CUDA_ERROR_DEVICE_NOT_LICENSED` (102): device doesn't have valid Grid license.
    DeviceNotLicensed = 102,
    /// `CUDA_ERROR_INVALID_IMAGE` (200): device kernel image is invalid.
    InvalidImage = 200,
    /// `CUDA_ERROR_INVALID_CONTEXT` (201): invalid device context.
    InvalidContext = 201,
    /// `CUDA_ERROR_CONTEXT_ALREADY_CURRENT` (202): context already current.
    ContextAlreadyCurrent = 202,
    /// `CUDA_ERROR_MAP_FAILED` (205): mapping of buffer object failed.
    MapFailed = 205,
    /// `CUDA_ERROR_UNMAP_FAILED` (206): unmapping of buffer object failed.
    UnmapFailed = 206,
    /// `CUDA_ERROR_ARRAY_IS_MAPPED` (207): array is mapped.
    ArrayIsMapped = 207,
    /// `CUDA_ERROR_ALREADY_MAPPED` (208): resource already mapped.
    AlreadyMapped = 208,
    /// `CUDA_ERROR_NO_BINARY_FOR_GPU` (209): no kernel image is available for execution on the device.
    NoBinaryForGpu = 209,
    /// `CUDA_ERROR_ALREADY_ACQUIRED` (210): resource already acquired.
    AlreadyAcquired = 210,
    /// `CUDA_ERROR_NOT_MAPPED` (211): resource not mapped.
    NotMapped = 211,
    /// `CUDA_ERROR_NOT_MAPPED_AS_ARRAY` (212): resource not mapped as array.
    NotMappedAsArray = 212,
    /// `CUDA_ERROR_NOT_MAPPED_AS_POINTER` (213): resource not mapped as pointer.
    NotMappedAsPointer = 213,
    /// `CUDA_ERROR_ECC_UNCORRECTABLE` (214): uncorrectable ECC error encountered.
    EccUncorrectable = 214,
    /// `CUDA_ERROR_UNSUPPORTED_LIMIT` (215): limit is not supported on this architecture.
    UnsupportedLimit = 215,
    /// `CUDA_ERROR_CONTEXT_ALREADY_IN_USE` (216): exclusive-thread device already in use by a different thread.
    ContextAlreadyInUse = 216,
    /// `CUDA_ERROR_PEER_ACCESS_UNSUPPORTED` (217): peer access is not supported between these two devices.
    PeerAccessUnsupported = 217,
    /// `CUDA_ERROR_INVALID_PTX` (218): a PTX JIT compilation failed.
    InvalidPtx = 218,
    /// `CUDA_ERROR_INVALID_GRAPHICS_CONTEXT` (219): invalid OpenGL or DirectX context.
    InvalidGraphicsContext = 219,
    /// `CUDA_ERROR_NVLINK_UNCORRECTABLE` (220): uncorrectable NVLink error detected during the execution.
    NvlinkUncorrectable = 220,
    /// `CUDA_ERROR_JIT_COMPILER_NOT_FOUND` (221): PTX JIT compiler library not found.
    JitCompilerNotFound = 221,
    /// `CUDA_ERROR_UNSUPPORTED_PTX_VERSION` (222): the provided PTX was compiled with an unsupported toolchain..
    UnsupportedPtxVersion = 222,
    /// `CUDA_ERROR_JIT_COMPILATION_DISABLED` (223): PTX JIT compilation was disabled.
    JitCompilationDisabled = 223,
    /// `CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY` (224): the provided execution affinity is not supported.
    UnsupportedExecAffinity = 224,
    /// `CUDA_ERROR_UNSUPPORTED_DEVSIDE_SYNC` (225): the provided PTX contains unsupported call to cudaDeviceSynchronize.
    UnsupportedDevsideSync = 225,
    /// `CUDA_ERROR_CONTAINED` (226): an exception occurred on the device that is now contained by the GPU's error containment capability.
    Contained = 226,
    /// `CUDA_ERROR_INVALID_SOURCE` (300): device kernel image is invalid.
    InvalidSource = 300,
    /// `CUDA_ERROR_FILE_NOT_FOUND` (301): file not found.
    FileNotFound = 301,
    /// `CUDA_ERROR_SHARED_OBJECT_SYMBOL_NOT_FOUND` (302): shared object symbol not found.
    SharedObjectSymbolNotFound = 302,
    /// `CUDA_ERROR_SHARED_OBJECT_INIT_FAILED` (303): shared object initialization failed.
    SharedObjectInitFailed = 303,
    /// `CUDA_ERROR_OPERATING_SYSTEM` (304): OS call failed or operation not supported on this OS.
    OperatingSystem = 304,
    /// `CUDA_ERROR_INVALID_HANDLE` (400): invalid resource handle.
    InvalidHandle = 400,
    /// `CUDA_ERROR_ILLEGAL_STATE` (401): the operation cannot be performed in the present state.
    IllegalState = 401,
    /// `CUDA_ERROR_LOSSY_QUERY` (402): attempted introspection would be semantically lossy.
    LossyQuery = 402,
    /// `CUDA_ERROR_NOT_FOUND` (500): named symbol not found.
    NotFound = 500,
    /// `CUDA_ERROR_NOT_READY` (600): device not ready.
    NotReady = 600,
    /// `CUDA_ERROR_ILLEGAL_ADDRESS` (700): an illegal memory access was encountered.
    IllegalAddress = 700,
    /// `CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES` (701): too many resources requested for launch.
    LaunchOutOfResources = 701,
    /// `CUDA_ERROR_LAUNCH_TIMEOUT` (702): the launch timed out and was terminated.
    LaunchTimeout = 702,
    /// `CUDA_ERROR_LAUNCH_INCOMPATIBLE_TEXTURING` (703): launch uses incompatible texturing mode.
    LaunchIncompatibleTexturing = 703,
    /// `CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED` (704): peer access is already enabled.
    PeerAccessAlreadyEnabled = 704,
    /// `CUDA_ERROR_PEER_ACCESS_NOT_ENABLED` (705): peer access has not been enabled.
    PeerAccessNotEnabled = 705,
    /// `CUDA_ERROR_PRIMARY_CONTEXT_ACTIVE` (708): cannot set while device is active in this process.
    PrimaryContextActive = 708,
    /// `CUDA_ERROR_CONTEXT_IS_DESTROYED` (709): context is destroyed.
    ContextIsDestroyed = 709,
    /// `CUDA_ERROR_ASSERT` (710): device-side assert triggered.
    Assert = 710,
    /// `CUDA_ERROR_TOO_MANY_PEERS` (711): peer mapping resources exhausted.
    TooManyPeers = 711,
    /// `CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED` (712): part or all of the requested memory range is already mapped.
    HostMemoryAlreadyRegistered = 712,
    /// `CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED` (713): pointer does not correspond to a registered memory region.
    HostMemoryNotRegistered = 713,
    /// `CUDA_ERROR_HARDWARE_STACK_ERROR` (714): hardware stack error.
    HardwareStackError = 714,
    /// `CUDA_ERROR_ILLEGAL_INSTRUCTION` (715): an illegal instruction was encountered.
    IllegalInstruction = 715,
    /// `CUDA_ERROR_MISALIGNED_ADDRESS` (716): misaligned address.
    MisalignedAddress = 716,
    /// `CUDA_ERROR_INVALID_ADDRESS_SPACE` (717): operation not supported on global/shared address space.
    InvalidAddressSpace = 717,
    /// `CUDA_ERROR_INVALID_PC` (718): invalid program counter.
    InvalidPc = 718,
    /// `CUDA_ERROR_LAUNCH_FAILED` (719): unspecified launch failure.
    LaunchFailed = 719,
    /// `CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE` (720): too many blocks in cooperative launch.
    CooperativeLaunchTooLarge = 720,
    /// `CUDA_ERROR_TENSOR_MEMORY_LEAK` (721): tensor memory not completely freed.
    TensorMemoryLeak = 721,
    /// `CUDA_ERROR_NOT_PERMITTED` (800): operation not permitted.
    NotPermitted = 800,
    /// `CUDA_ERROR_NOT_SUPPORTED` (801): operation not supported.
    NotSupported = 801,
    /// `CUDA_ERROR_SYSTEM_NOT_READY` (802): system not yet initialized.
    SystemNotReady = 802,
    /// `CUDA_ERROR_SYSTEM_DRIVER_MISMATCH` (803): system has unsupported display driver / cuda driver combination.
    SystemDriverMismatch = 803,
    /// `CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE` (804): forward compatibility was attempted on non supported HW.
    CompatNotSupportedOnDevice = 804,
    /// `CUDA_ERROR_MPS_CONNECTION_FAILED` (805): MPS client failed to connect to the MPS control daemon or the MPS server.
    MpsConnectionFailed = 805,
    /// `CUDA_ERROR_MPS_RPC_FAILURE` (806): the remote procedural call between the MPS server and the MPS client failed.
    MpsRpcFailure = 806,
    /// `CUDA_ERROR_MPS_SERVER_NOT_READY` (807): MPS server is not ready to accept new MPS client requests.
    MpsServerNotReady = 807,
    /// `CUDA_ERROR_MPS_MAX_CLIENTS_REACHED` (808): the hardware resources required to create MPS client have been exhausted.
    MpsMaxClientsReached = 808,
    /// `CUDA_ERROR_MPS_MAX_CONNECTIONS_REACHED` (809): the hardware resources required to support device connections have been exhausted.
    MpsMaxConnectionsReached = 809,
    /// `CUDA_ERROR_MPS_CLIENT_TERMINATED` (810): the MPS client has been terminated by the server.
    MpsClientTerminated = 810,
    /// `CUDA_ERROR_CDP_NOT_SUPPORTED` (811): is using CUDA Dynamic Parallelism, but the current configuration, like MPS, does not support it.
    CdpNotSupported = 811,
    /// `CUDA_ERROR_CDP_VERSION_MISMATCH` (812): unsupported interaction between different versions of CUDA Dynamic Parallelism.
    CdpVersionMismatch = 812,
    /// `CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED` (900): operation not permitted when stream is capturing.
    StreamCaptureUnsupported = 900,
    /// `CUDA_ERROR_STREAM_CAPTURE_INVALIDATED` (901): operation failed due to a previous error during capture.
    StreamCaptureInvalidated = 901,
    /// `CUDA_ERROR_STREAM_CAPTURE_MERGE` (902): operation would result in a merge of separate capture sequences.
    StreamCaptureMerge = 902,
    /// `CUDA_ERROR_STREAM_CAPTURE_UNMATCHED` (903): capture was not ended in the same stream as it began.
    StreamCaptureUnmatched = 903,
    /// `CUDA_ERROR_STREAM_CAPTURE_UNJOINED` (904): capturing stream has unjoined work.
    StreamCaptureUnjoined = 904,
    /// `CUDA_ERROR_STREAM_CAPTURE_ISOLATION` (905): dependency created on uncaptured work in another stream.
    StreamCaptureIsolation = 905,
    /// `CUDA_ERROR_STREAM_CAPTURE_IMPLICIT` (906): operation would make the legacy stream depend on a capturing blocking stream.
    StreamCaptureImplicit = 906,
    /// `CUDA_ERROR_CAPTURED_EVENT` (907): operation not permitted on an event last recorded in a capturing stream.
    CapturedEvent = 907,
    /// `CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD` (908): attempt to terminate a thread-local capture sequence from another thread.
    StreamCaptureWrongThread = 908,
    /// `CUDA_ERROR_TIMEOUT` (909): wait operation timed out.
    Timeout = 909,
    /// `CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE` (910): the graph update was not performed because it included changes which violated constraints specific to instantiated graph update.
    GraphExecUpdateFailure = 910,
    /// `CUDA_ERROR_EXTERNAL_DEVICE` (911): an async error has occurred in external entity outside of CUDA.
    ExternalDevice = 911,
    /// `CUDA_ERROR_INVALID_CLUSTER_SIZE` (912): a kernel launch error has occurred due to cluster misconfiguration.
    InvalidClusterSize = 912,
    /// `CUDA_ERROR_FUNCTION_NOT_LOADED` (913): the function handle is not loaded when calling an API that requires a loaded function.
    FunctionNotLoaded = 913,
    /// `CUDA_ERROR_INVALID_RESOURCE_TYPE` (914): one or more resources passed in are not valid resource types for the operation.
    InvalidResourceType = 914,
    /// `CUDA_ERROR_INVALID_RESOURCE_CONFIGURATION` (915): one or more resources are insufficient or non-applicable for the operation.
    InvalidResourceConfiguration = 915,
    /// `CUDA_ERROR_KEY_ROTATION` (916): an error happened during the key rotation sequence.
    KeyRotation = 916,
    /// `CUDA_ERROR_UNKNOWN` (999): unknown error.
    Unknown = 999,
}

impl ErrorCode {
    /// Every code, in numeric order (for tables such as `fcuda errors`).
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::Success,
        ErrorCode::InvalidValue,
        ErrorCode::OutOfMemory,
        ErrorCode::NotInitialized,
        ErrorCode::Deinitialized,
        ErrorCode::ProfilerDisabled,
        ErrorCode::ProfilerNotInitialized,
        ErrorCode::ProfilerAlreadyStarted,
        ErrorCode::ProfilerAlreadyStopped,
        ErrorCode::StubLibrary,
        ErrorCode::CallRequiresNewerDriver,
        ErrorCode::DeviceUnavailable,
        ErrorCode::NoDevice,
        ErrorCode::InvalidDevice,
        ErrorCode::DeviceNotLicensed,
        ErrorCode::InvalidImage,
        ErrorCode::InvalidContext,
        ErrorCode::ContextAlreadyCurrent,
        ErrorCode::MapFailed,
        ErrorCode::UnmapFailed,
        ErrorCode::ArrayIsMapped,
        ErrorCode::AlreadyMapped,
        ErrorCode::NoBinaryForGpu,
        ErrorCode::AlreadyAcquired,
        ErrorCode::NotMapped,
        ErrorCode::NotMappedAsArray,
        ErrorCode::NotMappedAsPointer,
        ErrorCode::EccUncorrectable,
        ErrorCode::UnsupportedLimit,
        ErrorCode::ContextAlreadyInUse,
        ErrorCode::PeerAccessUnsupported,
        ErrorCode::InvalidPtx,
        ErrorCode::InvalidGraphicsContext,
        ErrorCode::NvlinkUncorrectable,
        ErrorCode::JitCompilerNotFound,
        ErrorCode::UnsupportedPtxVersion,
        ErrorCode::JitCompilationDisabled,
        ErrorCode::UnsupportedExecAffinity,
        ErrorCode::UnsupportedDevsideSync,
        ErrorCode::Contained,
        ErrorCode::InvalidSource,
        ErrorCode::FileNotFound,
        ErrorCode::SharedObjectSymbolNotFound,
        ErrorCode::SharedObjectInitFailed,
        ErrorCode::OperatingSystem,
        ErrorCode::InvalidHandle,
        ErrorCode::IllegalState,
        ErrorCode::LossyQuery,
        ErrorCode::NotFound,
        ErrorCode::NotReady,
        ErrorCode::IllegalAddress,
        ErrorCode::LaunchOutOfResources,
        ErrorCode::LaunchTimeout,
        ErrorCode::LaunchIncompatibleTexturing,
        ErrorCode::PeerAccessAlreadyEnabled,
        ErrorCode::PeerAccessNotEnabled,
        ErrorCode::PrimaryContextActive,
        ErrorCode::ContextIsDestroyed,
        ErrorCode::Assert,
        ErrorCode::TooManyPeers,
        ErrorCode::HostMemoryAlreadyRegistered,
        ErrorCode::HostMemoryNotRegistered,
        ErrorCode::HardwareStackError,
        ErrorCode::IllegalInstruction,
        ErrorCode::MisalignedAddress,
        ErrorCode::InvalidAddressSpace,
        ErrorCode::InvalidPc,
        ErrorCode::LaunchFailed,
        ErrorCode::CooperativeLaunchTooLarge,
        ErrorCode::TensorMemoryLeak,
        ErrorCode::NotPermitted,
        ErrorCode::NotSupported,
        ErrorCode::SystemNotReady,
        ErrorCode::SystemDriverMismatch,
        ErrorCode::CompatNotSupportedOnDevice,
        ErrorCode::MpsConnectionFailed,
        ErrorCode::MpsRpcFailure,
        ErrorCode::MpsServerNotReady,
        ErrorCode::MpsMaxClientsReached,
        ErrorCode::MpsMaxConnectionsReached,
        ErrorCode::MpsClientTerminated,
        ErrorCode::CdpNotSupported,
        ErrorCode::CdpVersionMismatch,
        ErrorCode::StreamCaptureUnsupported,
        ErrorCode::StreamCaptureInvalidated,
        ErrorCode::StreamCaptureMerge,
        ErrorCode::StreamCaptureUnmatched,
        ErrorCode::StreamCaptureUnjoined,
        ErrorCode::StreamCaptureIsolation,
        ErrorCode::StreamCaptureImplicit,
        ErrorCode::CapturedEvent,
        ErrorCode::StreamCaptureWrongThread,
        ErrorCode::Timeout,
        ErrorCode::GraphExecUpdateFailure,
        ErrorCode::ExternalDevice,
        ErrorCode::InvalidClusterSize,
        ErrorCode::FunctionNotLoaded,
        ErrorCode::InvalidResourceType,
        ErrorCode::InvalidResourceConfiguration,
        ErrorCode::KeyRotation,
        ErrorCode::Unknown,
    ];

    /// The code for a raw `CUresult`; `None` for a number CUDA does not define.
    pub fn from_raw(raw: i32) -> Option<ErrorCode> {
        Some(match raw {
            0 => ErrorCode::Success,
            1 => ErrorCode::InvalidValue,
            2 => ErrorCode::OutOfMemory,
            3 => ErrorCode::NotInitialized,
            4 => ErrorCode::Deinitialized,
            5 => ErrorCode::ProfilerDisabled,
            6 => ErrorCode::ProfilerNotInitialized,
            7 => ErrorCode::ProfilerAlreadyStarted,
            8 => ErrorCode::ProfilerAlreadyStopped,
            34 => ErrorCode::StubLibrary,
            36 => ErrorCode::CallRequiresNewerDriver,
            46 => ErrorCode::DeviceUnavailable,
            100 => ErrorCode::NoDevice,
            101 => ErrorCode::InvalidDevice,
            102 => ErrorCode::DeviceNotLicensed,
            200 => ErrorCode::InvalidImage,
            201 => ErrorCode::InvalidContext,
            202 => ErrorCode::ContextAlreadyCurrent,
            205 => ErrorCode::MapFailed,
            206 => ErrorCode::UnmapFailed,
            207 => ErrorCode::ArrayIsMapped,
            208 => ErrorCode::AlreadyMapped,
            209 => ErrorCode::NoBinaryForGpu,
            210 => ErrorCode::AlreadyAcquired,
            211 => ErrorCode::NotMapped,
            212 => ErrorCode::NotMappedAsArray,
            213 => ErrorCode::NotMappedAsPointer,
            214 => ErrorCode::EccUncorrectable,
            215 => ErrorCode::UnsupportedLimit,
            216 => ErrorCode::ContextAlreadyInUse,
            217 => ErrorCode::PeerAccessUnsupported,
            218 => ErrorCode::InvalidPtx,
            219 => ErrorCode::InvalidGraphicsContext,
            220 => ErrorCode::NvlinkUncorrectable,
            221 => ErrorCode::JitCompilerNotFound,
            222 => ErrorCode::UnsupportedPtxVersion,
            223 => ErrorCode::JitCompilationDisabled,
            224 => ErrorCode::UnsupportedExecAffinity,
            225 => ErrorCode::UnsupportedDevsideSync,
            226 => ErrorCode::Contained,
            300 => ErrorCode::InvalidSource,
            301 => ErrorCode::FileNotFound,
            302 => ErrorCode::SharedObjectSymbolNotFound,
            303 => ErrorCode::SharedObjectInitFailed,
            304 => ErrorCode::OperatingSystem,
            400 => ErrorCode::InvalidHandle,
            401 => ErrorCode::IllegalState,
            402 => ErrorCode::LossyQuery,
            500 => ErrorCode::NotFound,
            600 => ErrorCode::NotReady,
            700 => ErrorCode::IllegalAddress,
            701 => ErrorCode::LaunchOutOfResources,
            702 => ErrorCode::LaunchTimeout,
            703 => ErrorCode::LaunchIncompatibleTexturing,
            704 => ErrorCode::PeerAccessAlreadyEnabled,
            705 => ErrorCode::PeerAccessNotEnabled,
            708 => ErrorCode::PrimaryContextActive,
            709 => ErrorCode::ContextIsDestroyed,
            710 => ErrorCode::Assert,
            711 => ErrorCode::TooManyPeers,
            712 => ErrorCode::HostMemoryAlreadyRegistered,
            713 => ErrorCode::HostMemoryNotRegistered,
            714 => ErrorCode::HardwareStackError,
            715 => ErrorCode::IllegalInstruction,
            716 => ErrorCode::MisalignedAddress,
            717 => ErrorCode::InvalidAddressSpace,
            718 => ErrorCode::InvalidPc,
            719 => ErrorCode::LaunchFailed,
            720 => ErrorCode::CooperativeLaunchTooLarge,
            721 => ErrorCode::TensorMemoryLeak,
            800 => ErrorCode::NotPermitted,
            801 => ErrorCode::NotSupported,
            802 => ErrorCode::SystemNotReady,
            803 => ErrorCode::SystemDriverMismatch,
            804 => ErrorCode::CompatNotSupportedOnDevice,
            805 => ErrorCode::MpsConnectionFailed,
            806 => ErrorCode::MpsRpcFailure,
            807 => ErrorCode::MpsServerNotReady,
            808 => ErrorCode::MpsMaxClientsReached,
            809 => ErrorCode::MpsMaxConnectionsReached,
            810 => ErrorCode::MpsClientTerminated,
            811 => ErrorCode::CdpNotSupported,
            812 => ErrorCode::CdpVersionMismatch,
            900 => ErrorCode::StreamCaptureUnsupported,
            901 => ErrorCode::StreamCaptureInvalidated,
            902 => ErrorCode::StreamCaptureMerge,
            903 => ErrorCode::StreamCaptureUnmatched,
            904 => ErrorCode::StreamCaptureUnjoined,
            905 => ErrorCode::StreamCaptureIsolation,
            906 => ErrorCode::StreamCaptureImplicit,
            907 => ErrorCode::CapturedEvent,
            908 => ErrorCode::StreamCaptureWrongThread,
            909 => ErrorCode::Timeout,
            910 => ErrorCode::GraphExecUpdateFailure,
            911 => ErrorCode::ExternalDevice,
            912 => ErrorCode::InvalidClusterSize,
            913 => ErrorCode::FunctionNotLoaded,
            914 => ErrorCode::InvalidResourceType,
            915 => ErrorCode::InvalidResourceConfiguration,
            916 => ErrorCode::KeyRotation,
            999 => ErrorCode::Unknown,
            _ => return None,
        })
    }

    /// The raw `CUresult` number.
    pub fn as_raw(self) -> i32 {
        self as i32
    }

    /// The `cuda.h` name, e.g. `CUDA_ERROR_ILLEGAL_ADDRESS` (what `cuGetErrorName` gives).
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::Success => "CUDA_SUCCESS",
            ErrorCode::InvalidValue => "CUDA_ERROR_INVALID_VALUE",
            ErrorCode::OutOfMemory => "CUDA_ERROR_OUT_OF_MEMORY",
            ErrorCode::NotInitialized => "CUDA_ERROR_NOT_INITIALIZED",
            ErrorCode::Deinitialized => "CUDA_ERROR_DEINITIALIZED",
            ErrorCode::ProfilerDisabled => "CUDA_ERROR_PROFILER_DISABLED",
            ErrorCode::ProfilerNotInitialized => "CUDA_ERROR_PROFILER_NOT_INITIALIZED",
            ErrorCode::ProfilerAlreadyStarted => "CUDA_ERROR_PROFILER_ALREADY_STARTED",
            ErrorCode::ProfilerAlreadyStopped => "CUDA_ERROR_PROFILER_ALREADY_STOPPED",
            ErrorCode::StubLibrary => "CUDA_ERROR_STUB_LIBRARY",
            ErrorCode::CallRequiresNewerDriver => "CUDA_ERROR_CALL_REQUIRES_NEWER_DRIVER",
            ErrorCode::DeviceUnavailable => "CUDA_ERROR_DEVICE_UNAVAILABLE",
            ErrorCode::NoDevice => "CUDA_ERROR_NO_DEVICE",
            ErrorCode::InvalidDevice => "CUDA_ERROR_INVALID_DEVICE",
            ErrorCode::DeviceNotLicensed => "CUDA_ERROR_DEVICE_NOT_LICENSED",
            ErrorCode::InvalidImage => "CUDA_ERROR_INVALID_IMAGE",
            ErrorCode::InvalidContext => "CUDA_ERROR_INVALID_CONTEXT",
            ErrorCode::ContextAlreadyCurrent => "CUDA_ERROR_CONTEXT_ALREADY_CURRENT",
            ErrorCode::MapFailed => "CUDA_ERROR_MAP_FAILED",
            ErrorCode::UnmapFailed => "CUDA_ERROR_UNMAP_FAILED",
            ErrorCode::ArrayIsMapped => "CUDA_ERROR_ARRAY_IS_MAPPED",
            ErrorCode::AlreadyMapped => "CUDA_ERROR_ALREADY_MAPPED",
            ErrorCode::NoBinaryForGpu => "CUDA_ERROR_NO_BINARY_FOR_GPU",
            ErrorCode::AlreadyAcquired => "CUDA_ERROR_ALREADY_ACQUIRED",
            ErrorCode::NotMapped => "CUDA_ERROR_NOT_MAPPED",
            ErrorCode::NotMappedAsArray => "CUDA_ERROR_NOT_MAPPED_AS_ARRAY",
            ErrorCode::NotMappedAsPointer => "CUDA_ERROR_NOT_MAPPED_AS_POINTER",
            ErrorCode::EccUncorrectable => "CUDA_ERROR_ECC_UNCORRECTABLE",
            ErrorCode::UnsupportedLimit => "CUDA_ERROR_UNSUPPORTED_LIMIT",
            ErrorCode::ContextAlreadyInUse => "CUDA_ERROR_CONTEXT_ALREADY_IN_USE",
            ErrorCode::PeerAccessUnsupported => "CUDA_ERROR_PEER_ACCESS_UNSUPPORTED",
            ErrorCode::InvalidPtx => "CUDA_ERROR_INVALID_PTX",
            ErrorCode::InvalidGraphicsContext => "CUDA_ERROR_INVALID_GRAPHICS_CONTEXT",
            ErrorCode::NvlinkUncorrectable => "CUDA_ERROR_NVLINK_UNCORRECTABLE",
            ErrorCode::JitCompilerNotFound => "CUDA_ERROR_JIT_COMPILER_NOT_FOUND",
            ErrorCode::UnsupportedPtxVersion => "CUDA_ERROR_UNSUPPORTED_PTX_VERSION",
            ErrorCode::JitCompilationDisabled => "CUDA_ERROR_JIT_COMPILATION_DISABLED",
            ErrorCode::UnsupportedExecAffinity => "CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY",
            ErrorCode::UnsupportedDevsideSync => "CUDA_ERROR_UNSUPPORTED_DEVSIDE_SYNC",
            ErrorCode::Contained => "CUDA_ERROR_CONTAINED",
            ErrorCode::InvalidSource => "CUDA_ERROR_INVALID_SOURCE",
            ErrorCode::FileNotFound => "CUDA_ERROR_FILE_NOT_FOUND",
            ErrorCode::SharedObjectSymbolNotFound => "CUDA_ERROR_SHARED_OBJECT_SYMBOL_NOT_FOUND",
            ErrorCode::SharedObjectInitFailed => "CUDA_ERROR_SHARED_OBJECT_INIT_FAILED",
            ErrorCode::OperatingSystem => "CUDA_ERROR_OPERATING_SYSTEM",
            ErrorCode::InvalidHandle => "CUDA_ERROR_INVALID_HANDLE",
            ErrorCode::IllegalState => "CUDA_ERROR_ILLEGAL_STATE",
            ErrorCode::LossyQuery => "CUDA_ERROR_LOSSY_QUERY",
            ErrorCode::NotFound => "CUDA_ERROR_NOT_FOUND",
            ErrorCode::NotReady => "CUDA_ERROR_NOT_READY",
            ErrorCode::IllegalAddress => "CUDA_ERROR_ILLEGAL_ADDRESS",
            ErrorCode::LaunchOutOfResources => "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES",
            ErrorCode::LaunchTimeout => "CUDA_ERROR_LAUNCH_TIMEOUT",
            ErrorCode::LaunchIncompatibleTexturing => "CUDA_ERROR_LAUNCH_INCOMPATIBLE_TEXTURING",
            ErrorCode::PeerAccessAlreadyEnabled => "CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED",
            ErrorCode::PeerAccessNotEnabled => "CUDA_ERROR_PEER_ACCESS_NOT_ENABLED",
            ErrorCode::PrimaryContextActive => "CUDA_ERROR_PRIMARY_CONTEXT_ACTIVE",
            ErrorCode::ContextIsDestroyed => "CUDA_ERROR_CONTEXT_IS_DESTROYED",
            ErrorCode::Assert => "CUDA_ERROR_ASSERT",
            ErrorCode::TooManyPeers => "CUDA_ERROR_TOO_MANY_PEERS",
            ErrorCode::HostMemoryAlreadyRegistered => "CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED",
            ErrorCode::HostMemoryNotRegistered => "CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED",
            ErrorCode::HardwareStackError => "CUDA_ERROR_HARDWARE_STACK_ERROR",
            ErrorCode::IllegalInstruction => "CUDA_ERROR_ILLEGAL_INSTRUCTION",
            ErrorCode::MisalignedAddress => "CUDA_ERROR_MISALIGNED_ADDRESS",
            ErrorCode::InvalidAddressSpace => "CUDA_ERROR_INVALID_ADDRESS_SPACE",
            ErrorCode::InvalidPc => "CUDA_ERROR_INVALID_PC",
            ErrorCode::LaunchFailed => "CUDA_ERROR_LAUNCH_FAILED",
            ErrorCode::CooperativeLaunchTooLarge => "CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE",
            ErrorCode::TensorMemoryLeak => "CUDA_ERROR_TENSOR_MEMORY_LEAK",
            ErrorCode::NotPermitted => "CUDA_ERROR_NOT_PERMITTED",
            ErrorCode::NotSupported => "CUDA_ERROR_NOT_SUPPORTED",
            ErrorCode::SystemNotReady => "CUDA_ERROR_SYSTEM_NOT_READY",
            ErrorCode::SystemDriverMismatch => "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH",
            ErrorCode::CompatNotSupportedOnDevice => "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE",
            ErrorCode::MpsConnectionFailed => "CUDA_ERROR_MPS_CONNECTION_FAILED",
            ErrorCode::MpsRpcFailure => "CUDA_ERROR_MPS_RPC_FAILURE",
            ErrorCode::MpsServerNotReady => "CUDA_ERROR_MPS_SERVER_NOT_READY",
            ErrorCode::MpsMaxClientsReached => "CUDA_ERROR_MPS_MAX_CLIENTS_REACHED",
            ErrorCode::MpsMaxConnectionsReached => "CUDA_ERROR_MPS_MAX_CONNECTIONS_REACHED",
            ErrorCode::MpsClientTerminated => "CUDA_ERROR_MPS_CLIENT_TERMINATED",
            ErrorCode::CdpNotSupported => "CUDA_ERROR_CDP_NOT_SUPPORTED",
            ErrorCode::CdpVersionMismatch => "CUDA_ERROR_CDP_VERSION_MISMATCH",
            ErrorCode::StreamCaptureUnsupported => "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED",
            ErrorCode::StreamCaptureInvalidated => "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED",
            ErrorCode::StreamCaptureMerge => "CUDA_ERROR_STREAM_CAPTURE_MERGE",
            ErrorCode::StreamCaptureUnmatched => "CUDA_ERROR_STREAM_CAPTURE_UNMATCHED",
            ErrorCode::StreamCaptureUnjoined => "CUDA_ERROR_STREAM_CAPTURE_UNJOINED",
            ErrorCode::StreamCaptureIsolation => "CUDA_ERROR_STREAM_CAPTURE_ISOLATION",
            ErrorCode::StreamCaptureImplicit => "CUDA_ERROR_STREAM_CAPTURE_IMPLICIT",
            ErrorCode::CapturedEvent => "CUDA_ERROR_CAPTURED_EVENT",
            ErrorCode::StreamCaptureWrongThread => "CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD",
            ErrorCode::Timeout => "CUDA_ERROR_TIMEOUT",
            ErrorCode::GraphExecUpdateFailure => "CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE",
            ErrorCode::ExternalDevice => "CUDA_ERROR_EXTERNAL_DEVICE",
            ErrorCode::InvalidClusterSize => "CUDA_ERROR_INVALID_CLUSTER_SIZE",
            ErrorCode::FunctionNotLoaded => "CUDA_ERROR_FUNCTION_NOT_LOADED",
            ErrorCode::InvalidResourceType => "CUDA_ERROR_INVALID_RESOURCE_TYPE",
            ErrorCode::InvalidResourceConfiguration => "CUDA_ERROR_INVALID_RESOURCE_CONFIGURATION",
            ErrorCode::KeyRotation => "CUDA_ERROR_KEY_ROTATION",
            ErrorCode::Unknown => "CUDA_ERROR_UNKNOWN",
        }
    }

    /// The description `cuGetErrorString` gives, e.g. "an illegal memory access was encountered".
    pub fn description(self) -> &'static str {
        match self {
            ErrorCode::Success => "no error",
            ErrorCode::InvalidValue => "invalid argument",
            ErrorCode::OutOfMemory => "out of memory",
            ErrorCode::NotInitialized => "initialization error",
            ErrorCode::Deinitialized => "driver shutting down",
            ErrorCode::ProfilerDisabled => "profiler disabled while using external profiling tool",
            ErrorCode::ProfilerNotInitialized => "profiler not initialized: call cudaProfilerInitialize()",
            ErrorCode::ProfilerAlreadyStarted => "profiler already started",
            ErrorCode::ProfilerAlreadyStopped => "profiler already stopped",
            ErrorCode::StubLibrary => "CUDA driver is a stub library",
            ErrorCode::CallRequiresNewerDriver => {
                "API call is not supported in the installed CUDA driver"
            }
            ErrorCode::DeviceUnavailable => "CUDA-capable device(s) is/are busy or unavailable",
            ErrorCode::NoDevice => "no CUDA-capable device is detected",
            ErrorCode::InvalidDevice => "invalid device ordinal",
            ErrorCode::DeviceNotLicensed => "device doesn't have valid Grid license",
            ErrorCode::InvalidImage => "device kernel image is invalid",
            ErrorCode::InvalidContext => "invalid device context",
            ErrorCode::ContextAlreadyCurrent => "context already current",
            ErrorCode::MapFailed => "mapping of buffer object failed",
            ErrorCode::UnmapFailed => "unmapping of buffer object failed",
            ErrorCode::ArrayIsMapped => "array is mapped",
            ErrorCode::AlreadyMapped => "resource already mapped",
            ErrorCode::NoBinaryForGpu => "no kernel image is available for execution on the device",
            ErrorCode::AlreadyAcquired => "resource already acquired",
            ErrorCode::NotMapped => "resource not mapped",
            ErrorCode::NotMappedAsArray => "resource not mapped as array",
            ErrorCode::NotMappedAsPointer => "resource not mapped as pointer",
            ErrorCode::EccUncorrectable => "uncorrectable ECC error encountered",
            ErrorCode::UnsupportedLimit => "limit is not supported on this architecture",
            ErrorCode::ContextAlreadyInUse => "exclusive-thread device already in use by a different thread",
            ErrorCode::PeerAccessUnsupported => "peer access is not supported between these two devices",
            ErrorCode::InvalidPtx => "a PTX JIT compilation failed",
            ErrorCode::InvalidGraphicsContext => "invalid OpenGL or DirectX context",
            ErrorCode::NvlinkUncorrectable => "uncorrectable NVLink error detected during the execution",
            ErrorCode::JitCompilerNotFound => "PTX JIT compiler library not found",
            ErrorCode::UnsupportedPtxVersion => "the provided PTX was compiled with an unsupported toolchain.",
            ErrorCode::JitCompilationDisabled => "PTX JIT compilation was disabled",
            ErrorCode::UnsupportedExecAffinity => "the provided execution affinity is not supported",
            ErrorCode::UnsupportedDevsideSync => "the provided PTX contains unsupported call to cudaDeviceSynchronize",
            ErrorCode::Contained => "an exception occurred on the device that is now contained by the GPU's error containment capability",
            ErrorCode::InvalidSource => "device kernel image is invalid",
            ErrorCode::FileNotFound => "file not found",
            ErrorCode::SharedObjectSymbolNotFound => "shared object symbol not found",
            ErrorCode::SharedObjectInitFailed => "shared object initialization failed",
            ErrorCode::OperatingSystem => "OS call failed or operation not supported on this OS",
            ErrorCode::InvalidHandle => "invalid resource handle",
            ErrorCode::IllegalState => "the operation cannot be performed in the present state",
            ErrorCode::LossyQuery => "attempted introspection would be semantically lossy",
            ErrorCode::NotFound => "named symbol not found",
            ErrorCode::NotReady => "device not ready",
            ErrorCode::IllegalAddress => "an illegal memory access was encountered",
            ErrorCode::LaunchOutOfResources => "too many resources requested for launch",
            ErrorCode::LaunchTimeout => "the launch timed out and was terminated",
            ErrorCode::LaunchIncompatibleTexturing => "launch uses incompatible texturing mode",
            ErrorCode::PeerAccessAlreadyEnabled => "peer access is already enabled",
            ErrorCode::PeerAccessNotEnabled => "peer access has not been enabled",
            ErrorCode::PrimaryContextActive => "cannot set while device is active in this process",
            ErrorCode::ContextIsDestroyed => "context is destroyed",
            ErrorCode::Assert => "device-side assert triggered",
            ErrorCode::TooManyPeers => "peer mapping resources exhausted",
            ErrorCode::HostMemoryAlreadyRegistered => "part or all of the requested memory range is already mapped",
            ErrorCode::HostMemoryNotRegistered => "pointer does not correspond to a registered memory region",
            ErrorCode::HardwareStackError => "hardware stack error",
            ErrorCode::IllegalInstruction => "an illegal instruction was encountered",
            ErrorCode::MisalignedAddress => "misaligned address",
            ErrorCode::InvalidAddressSpace => "operation not supported on global/shared address space",
            ErrorCode::InvalidPc => "invalid program counter",
            ErrorCode::LaunchFailed => "unspecified launch failure",
            ErrorCode::CooperativeLaunchTooLarge => "too many blocks in cooperative launch",
            ErrorCode::TensorMemoryLeak => "tensor memory not completely freed",
            ErrorCode::NotPermitted => "operation not permitted",
            ErrorCode::NotSupported => "operation not supported",
            ErrorCode::SystemNotReady => "system not yet initialized",
            ErrorCode::SystemDriverMismatch => "system has unsupported display driver / cuda driver combination",
            ErrorCode::CompatNotSupportedOnDevice => "forward compatibility was attempted on non supported HW",
            ErrorCode::MpsConnectionFailed => "MPS client failed to connect to the MPS control daemon or the MPS server",
            ErrorCode::MpsRpcFailure => "the remote procedural call between the MPS server and the MPS client failed",
            ErrorCode::MpsServerNotReady => "MPS server is not ready to accept new MPS client requests",
            ErrorCode::MpsMaxClientsReached => "the hardware resources required to create MPS client have been exhausted",
            ErrorCode::MpsMaxConnectionsReached => "the hardware resources required to support device connections have been exhausted",
            ErrorCode::MpsClientTerminated => "the MPS client has been terminated by the server",
            ErrorCode::CdpNotSupported => "is using CUDA Dynamic Parallelism, but the current configuration, like MPS, does not support it",
            ErrorCode::CdpVersionMismatch => "unsupported interaction between different versions of CUDA Dynamic Parallelism",
            ErrorCode::StreamCaptureUnsupported => "operation not permitted when stream is capturing",
            ErrorCode::StreamCaptureInvalidated => "operation failed due to a previous error during capture",
            ErrorCode::StreamCaptureMerge => "operation would result in a merge of separate capture sequences",
            ErrorCode::StreamCaptureUnmatched => "capture was not ended in the same stream as it began",
            ErrorCode::StreamCaptureUnjoined => "capturing stream has unjoined work",
            ErrorCode::StreamCaptureIsolation => "dependency created on uncaptured work in another stream",
            ErrorCode::StreamCaptureImplicit => "operation would make the legacy stream depend on a capturing blocking stream",
            ErrorCode::CapturedEvent => "operation not permitted on an event last recorded in a capturing stream",
            ErrorCode::StreamCaptureWrongThread => "attempt to terminate a thread-local capture sequence from another thread",
            ErrorCode::Timeout => "wait operation timed out",
            ErrorCode::GraphExecUpdateFailure => "the graph update was not performed because it included changes which violated constraints specific to instantiated graph update",
            ErrorCode::ExternalDevice => "an async error has occurred in external entity outside of CUDA",
            ErrorCode::InvalidClusterSize => "a kernel launch error has occurred due to cluster misconfiguration",
            ErrorCode::FunctionNotLoaded => "the function handle is not loaded when calling an API that requires a loaded function",
            ErrorCode::InvalidResourceType => "one or more resources passed in are not valid resource types for the operation",
            ErrorCode::InvalidResourceConfiguration => "one or more resources are insufficient or non-applicable for the operation",
            ErrorCode::KeyRotation => "an error happened during the key rotation sequence",
            ErrorCode::Unknown => "unknown error",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failed driver-layer call.
///
/// Cloneable because a sticky context error is returned again by every later call on that
/// context.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A CUDA error code with what was being done when it happened.
    #[error("{}: {}{}", .code.name(), .code.description(), suffix(.message))]
    Cuda {
        /// The CUDA error code.
        code: ErrorCode,
        /// What was being done (may be empty).
        message: String,
    },
    /// The NVIDIA platform cannot be used: libcuda is missing or too old, an entry point is
    /// missing, or `cuInit` failed. The CPU device still works.
    #[error("CUDA_ERROR_NO_DEVICE: no NVIDIA device available: {reason}")]
    NvidiaUnavailable {
        /// Why, as the loader or `cuInit` reported it.
        reason: String,
    },
    /// PTX text that does not parse or check. `text` is the parser's positioned report
    /// (`line:col: message`, the source line and a caret).
    #[error("{}: {}: {what}:\n{text}", .code.name(), .code.description())]
    Ptx {
        /// `CUDA_ERROR_INVALID_PTX`, or `CUDA_ERROR_UNSUPPORTED_PTX_VERSION` for a `.version`
        /// or `.target` the front end does not accept.
        code: ErrorCode,
        /// What was being loaded.
        what: String,
        /// The parser's report.
        text: String,
    },
    /// libcuda's JIT refused an image; `log` is its error log.
    #[error("{}: {}{}{}", .code.name(), .code.description(), suffix(.message), log_suffix(.log))]
    Jit {
        /// The code the load returned (e.g. `CUDA_ERROR_INVALID_PTX`).
        code: ErrorCode,
        /// The call that failed.
        message: String,
        /// The JIT's error log.
        log: String,
    },
}

fn suffix(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

fn log_suffix(log: &str) -> String {
    let log = log.trim_end_matches(['\0', '\n', ' ']);
    if log.is_empty() {
        String::new()
    } else {
        format!("\nJIT log:\n{log}")
    }
}

impl Error {
    /// A CUDA error code with a message saying what was being done.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error::Cuda {
            code,
            message: message.into(),
        }
    }

    /// `CUDA_ERROR_INVALID_VALUE` with a message.
    pub fn invalid_value(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::InvalidValue, message)
    }

    /// `CUDA_ERROR_NOT_SUPPORTED` with a message.
    pub fn unsupported(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::NotSupported, message)
    }

    /// The CUDA error code a CUDA user would see for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Cuda { code, .. } | Error::Ptx { code, .. } | Error::Jit { code, .. } => *code,
            Error::NvidiaUnavailable { .. } => ErrorCode::NoDevice,
        }
    }

    /// The error with more context prepended to its message (the code stays the same).
    pub fn context(self, what: impl fmt::Display) -> Error {
        match self {
            Error::Cuda { code, message } => Error::Cuda {
                code,
                message: if message.is_empty() {
                    what.to_string()
                } else {
                    format!("{what}: {message}")
                },
            },
            Error::Jit { code, message, log } => Error::Jit {
                code,
                message: if message.is_empty() {
                    what.to_string()
                } else {
                    format!("{what}: {message}")
                },
                log,
            },
            other => other,
        }
    }
}

impl From<ErrorCode> for Error {
    fn from(code: ErrorCode) -> Error {
        Error::new(code, "")
    }
}

/// The driver layer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_number() {
        assert_eq!(ErrorCode::ALL.len(), 101);
        for &code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_raw(code.as_raw()), Some(code));
            assert!(code.name().starts_with("CUDA_"), "{}", code.name());
            assert!(!code.description().is_empty());
        }
        let mut sorted = ErrorCode::ALL.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), ErrorCode::ALL.len());
        assert_eq!(ErrorCode::from_raw(3000), None);
        assert_eq!(ErrorCode::from_raw(-1), None);
    }

    #[test]
    fn codes_match_the_raw_cuda_h_table_both_ways() {
        let raw = crate::nvidia::sys::CUresult::ALL;
        for (r, name) in raw {
            let code = ErrorCode::from_raw(r.0).unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(code.name(), *name);
        }
        assert_eq!(raw.len(), ErrorCode::ALL.len());
    }

    #[test]
    fn well_known_codes_have_cuda_numbers_and_texts() {
        assert_eq!(ErrorCode::IllegalAddress.as_raw(), 700);
        assert_eq!(
            ErrorCode::IllegalAddress.name(),
            "CUDA_ERROR_ILLEGAL_ADDRESS"
        );
        assert_eq!(
            ErrorCode::IllegalAddress.description(),
            "an illegal memory access was encountered"
        );
        assert_eq!(ErrorCode::InvalidPtx.as_raw(), 218);
        assert_eq!(ErrorCode::NoBinaryForGpu.as_raw(), 209);
        assert_eq!(ErrorCode::NotFound.description(), "named symbol not found");
        assert_eq!(ErrorCode::Unknown.as_raw(), 999);
    }

    #[test]
    fn display_starts_with_the_code_name() {
        let e = Error::invalid_value("parameter 1 (`n`): expected 4 bytes, got 8");
        assert_eq!(
            e.to_string(),
            "CUDA_ERROR_INVALID_VALUE: invalid argument: parameter 1 (`n`): expected 4 bytes, got 8"
        );
        let e = Error::from(ErrorCode::NotReady);
        assert_eq!(e.to_string(), "CUDA_ERROR_NOT_READY: device not ready");
        let e = Error::NvidiaUnavailable {
            reason: "libcuda.so.1 not found".into(),
        };
        assert_eq!(e.code(), ErrorCode::NoDevice);
        assert!(e.to_string().starts_with("CUDA_ERROR_NO_DEVICE: "));
        let e = Error::Ptx {
            code: ErrorCode::InvalidPtx,
            what: "module".into(),
            text: "3:5: unknown opcode\n  foo.bar\n  ^".into(),
        };
        assert!(e.to_string().starts_with("CUDA_ERROR_INVALID_PTX: "));
        assert!(e.to_string().contains("3:5: unknown opcode"));
        let e = Error::Jit {
            code: ErrorCode::InvalidPtx,
            message: "loading module".into(),
            log: "ptxas fatal: bad\n\0".into(),
        };
        assert_eq!(
            e.to_string(),
            "CUDA_ERROR_INVALID_PTX: a PTX JIT compilation failed: loading module\nJIT log:\nptxas fatal: bad"
        );
    }

    #[test]
    fn context_prepends_and_keeps_the_code() {
        let e = Error::new(ErrorCode::NotFound, "no kernel `k`").context("module.function");
        assert_eq!(e.code(), ErrorCode::NotFound);
        assert!(e.to_string().ends_with("module.function: no kernel `k`"));
    }
}
