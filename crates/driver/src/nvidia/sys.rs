//! Raw declarations of the CUDA driver API and the run-time loader for `libcuda`.
//!
//! Everything here mirrors `cuda.h` (CUDA 13.0) exactly: handle types, the `CUresult` codes,
//! the enums (as integer constants, so that a value unknown to us is still representable) and
//! a table of typed function pointers. The build needs no CUDA: [`driver`] opens the driver
//! library at run time, resolves `cuGetProcAddress` with the dynamic linker and then resolves
//! every other entry point *through* the driver, asking for the ABI version our declared
//! signature matches. This matters because the unversioned names change meaning between
//! CUDA releases (CUDA 13 made `cuCtxCreate` the `_v4` variant that takes a parameter
//! struct); asking by version guarantees we never call an entry point with the wrong ABI.

#![allow(non_camel_case_types, non_snake_case, non_upper_case_globals)]

use std::ffi::{c_char, c_int, c_uint, c_void, CString, OsString};
use std::fmt;
use std::marker::{PhantomData, PhantomPinned};
use std::ptr::{self, NonNull};
use std::sync::OnceLock;

use libloading::Library;

// ---------------------------------------------------------------------------------------------
// Scalar and handle types
// ---------------------------------------------------------------------------------------------

/// A device ordinal as the driver sees it (`typedef int CUdevice`).
pub type CUdevice = c_int;
/// A device virtual address (`unsigned long long` on every 64-bit platform).
pub type CUdeviceptr = u64;
/// `cuuint64_t` from `cuda.h`.
pub type cuuint64_t = u64;
/// `cuuint32_t` from `cuda.h`.
pub type cuuint32_t = u32;

macro_rules! opaque_handle {
    ($($(#[doc = $doc:literal])* $st:ident => $handle:ident;)*) => {$(
        /// Opaque driver-side object; only ever used behind a pointer.
        #[repr(C)]
        pub struct $st {
            _private: [u8; 0],
            _marker: PhantomData<(*mut u8, PhantomPinned)>,
        }
        $(#[doc = $doc])*
        pub type $handle = *mut $st;
    )*};
}

opaque_handle! {
    /// A CUDA context: the per-device state every other object lives in.
    CUctx_st => CUcontext;
    /// A loaded module (cubin, fatbin or JIT-compiled PTX).
    CUmod_st => CUmodule;
    /// A kernel inside a module.
    CUfunc_st => CUfunction;
    /// A stream; the null handle is the legacy default stream.
    CUstream_st => CUstream;
    /// An event recorded into a stream.
    CUevent_st => CUevent;
    /// A pending JIT link (`cuLinkCreate` … `cuLinkDestroy`).
    CUlinkState_st => CUlinkState;
}

/// The legacy default stream, usable from any context (`CU_STREAM_LEGACY`).
pub const CU_STREAM_LEGACY: CUstream = 0x1 as CUstream;
/// The per-thread default stream (`CU_STREAM_PER_THREAD`).
pub const CU_STREAM_PER_THREAD: CUstream = 0x2 as CUstream;

/// A 16-byte device UUID as returned by `cuDeviceGetUuid`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct CUuuid {
    /// The raw bytes (`char bytes[16]` in C).
    pub bytes: [u8; 16],
}

/// `CUhostFn`: a host function enqueued with `cuLaunchHostFunc`.
pub type CUhostFn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;
/// `CUstreamCallback`: a callback enqueued with `cuStreamAddCallback`.
pub type CUstreamCallback =
    Option<unsafe extern "C" fn(stream: CUstream, status: CUresult, user_data: *mut c_void)>;
/// `CUoccupancyB2DSize`: maps a block size to its dynamic shared memory need.
pub type CUoccupancyB2DSize = Option<unsafe extern "C" fn(block_size: c_int) -> usize>;

// ---------------------------------------------------------------------------------------------
// CUresult
// ---------------------------------------------------------------------------------------------

/// A driver API status code. Kept as a transparent integer (not a Rust enum) so that codes
/// newer than this file are still representable without undefined behaviour.
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CUresult(pub i32);

macro_rules! cu_results {
    ($($name:ident = $value:literal,)*) => {
        impl CUresult {
            $(
                #[doc = concat!("`", stringify!($name), "` (", stringify!($value), ").")]
                pub const $name: CUresult = CUresult($value);
            )*

            /// Every code declared by `cuda.h`, with its C name.
            pub const ALL: &'static [(CUresult, &'static str)] = &[
                $((CUresult($value), stringify!($name)),)*
            ];
        }
    };
}

cu_results! {
    CUDA_SUCCESS = 0,
    CUDA_ERROR_INVALID_VALUE = 1,
    CUDA_ERROR_OUT_OF_MEMORY = 2,
    CUDA_ERROR_NOT_INITIALIZED = 3,
    CUDA_ERROR_DEINITIALIZED = 4,
    CUDA_ERROR_PROFILER_DISABLED = 5,
    CUDA_ERROR_PROFILER_NOT_INITIALIZED = 6,
    CUDA_ERROR_PROFILER_ALREADY_STARTED = 7,
    CUDA_ERROR_PROFILER_ALREADY_STOPPED = 8,
    CUDA_ERROR_STUB_LIBRARY = 34,
    CUDA_ERROR_CALL_REQUIRES_NEWER_DRIVER = 36,
    CUDA_ERROR_DEVICE_UNAVAILABLE = 46,
    CUDA_ERROR_NO_DEVICE = 100,
    CUDA_ERROR_INVALID_DEVICE = 101,
    CUDA_ERROR_DEVICE_NOT_LICENSED = 102,
    CUDA_ERROR_INVALID_IMAGE = 200,
    CUDA_ERROR_INVALID_CONTEXT = 201,
    CUDA_ERROR_CONTEXT_ALREADY_CURRENT = 202,
    CUDA_ERROR_MAP_FAILED = 205,
    CUDA_ERROR_UNMAP_FAILED = 206,
    CUDA_ERROR_ARRAY_IS_MAPPED = 207,
    CUDA_ERROR_ALREADY_MAPPED = 208,
    CUDA_ERROR_NO_BINARY_FOR_GPU = 209,
    CUDA_ERROR_ALREADY_ACQUIRED = 210,
    CUDA_ERROR_NOT_MAPPED = 211,
    CUDA_ERROR_NOT_MAPPED_AS_ARRAY = 212,
    CUDA_ERROR_NOT_MAPPED_AS_POINTER = 213,
    CUDA_ERROR_ECC_UNCORRECTABLE = 214,
    CUDA_ERROR_UNSUPPORTED_LIMIT = 215,
    CUDA_ERROR_CONTEXT_ALREADY_IN_USE = 216,
    CUDA_ERROR_PEER_ACCESS_UNSUPPORTED = 217,
    CUDA_ERROR_INVALID_PTX = 218,
    CUDA_ERROR_INVALID_GRAPHICS_CONTEXT = 219,
    CUDA_ERROR_NVLINK_UNCORRECTABLE = 220,
    CUDA_ERROR_JIT_COMPILER_NOT_FOUND = 221,
    CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222,
    CUDA_ERROR_JIT_COMPILATION_DISABLED = 223,
    CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY = 224,
    CUDA_ERROR_UNSUPPORTED_DEVSIDE_SYNC = 225,
    CUDA_ERROR_CONTAINED = 226,
    CUDA_ERROR_INVALID_SOURCE = 300,
    CUDA_ERROR_FILE_NOT_FOUND = 301,
    CUDA_ERROR_SHARED_OBJECT_SYMBOL_NOT_FOUND = 302,
    CUDA_ERROR_SHARED_OBJECT_INIT_FAILED = 303,
    CUDA_ERROR_OPERATING_SYSTEM = 304,
    CUDA_ERROR_INVALID_HANDLE = 400,
    CUDA_ERROR_ILLEGAL_STATE = 401,
    CUDA_ERROR_LOSSY_QUERY = 402,
    CUDA_ERROR_NOT_FOUND = 500,
    CUDA_ERROR_NOT_READY = 600,
    CUDA_ERROR_ILLEGAL_ADDRESS = 700,
    CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES = 701,
    CUDA_ERROR_LAUNCH_TIMEOUT = 702,
    CUDA_ERROR_LAUNCH_INCOMPATIBLE_TEXTURING = 703,
    CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED = 704,
    CUDA_ERROR_PEER_ACCESS_NOT_ENABLED = 705,
    CUDA_ERROR_PRIMARY_CONTEXT_ACTIVE = 708,
    CUDA_ERROR_CONTEXT_IS_DESTROYED = 709,
    CUDA_ERROR_ASSERT = 710,
    CUDA_ERROR_TOO_MANY_PEERS = 711,
    CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED = 712,
    CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED = 713,
    CUDA_ERROR_HARDWARE_STACK_ERROR = 714,
    CUDA_ERROR_ILLEGAL_INSTRUCTION = 715,
    CUDA_ERROR_MISALIGNED_ADDRESS = 716,
    CUDA_ERROR_INVALID_ADDRESS_SPACE = 717,
    CUDA_ERROR_INVALID_PC = 718,
    CUDA_ERROR_LAUNCH_FAILED = 719,
    CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE = 720,
    CUDA_ERROR_TENSOR_MEMORY_LEAK = 721,
    CUDA_ERROR_NOT_PERMITTED = 800,
    CUDA_ERROR_NOT_SUPPORTED = 801,
    CUDA_ERROR_SYSTEM_NOT_READY = 802,
    CUDA_ERROR_SYSTEM_DRIVER_MISMATCH = 803,
    CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE = 804,
    CUDA_ERROR_MPS_CONNECTION_FAILED = 805,
    CUDA_ERROR_MPS_RPC_FAILURE = 806,
    CUDA_ERROR_MPS_SERVER_NOT_READY = 807,
    CUDA_ERROR_MPS_MAX_CLIENTS_REACHED = 808,
    CUDA_ERROR_MPS_MAX_CONNECTIONS_REACHED = 809,
    CUDA_ERROR_MPS_CLIENT_TERMINATED = 810,
    CUDA_ERROR_CDP_NOT_SUPPORTED = 811,
    CUDA_ERROR_CDP_VERSION_MISMATCH = 812,
    CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED = 900,
    CUDA_ERROR_STREAM_CAPTURE_INVALIDATED = 901,
    CUDA_ERROR_STREAM_CAPTURE_MERGE = 902,
    CUDA_ERROR_STREAM_CAPTURE_UNMATCHED = 903,
    CUDA_ERROR_STREAM_CAPTURE_UNJOINED = 904,
    CUDA_ERROR_STREAM_CAPTURE_ISOLATION = 905,
    CUDA_ERROR_STREAM_CAPTURE_IMPLICIT = 906,
    CUDA_ERROR_CAPTURED_EVENT = 907,
    CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD = 908,
    CUDA_ERROR_TIMEOUT = 909,
    CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE = 910,
    CUDA_ERROR_EXTERNAL_DEVICE = 911,
    CUDA_ERROR_INVALID_CLUSTER_SIZE = 912,
    CUDA_ERROR_FUNCTION_NOT_LOADED = 913,
    CUDA_ERROR_INVALID_RESOURCE_TYPE = 914,
    CUDA_ERROR_INVALID_RESOURCE_CONFIGURATION = 915,
    CUDA_ERROR_KEY_ROTATION = 916,
    CUDA_ERROR_UNKNOWN = 999,
}

impl CUresult {
    /// The C name of this code (`"CUDA_ERROR_INVALID_VALUE"`), from the table compiled into
    /// this crate; `None` for a code newer than `cuda.h` 13.0. Works without a driver.
    pub fn name(self) -> Option<&'static str> {
        Self::ALL
            .iter()
            .find(|(code, _)| *code == self)
            .map(|(_, name)| *name)
    }

    /// `Ok(())` for `CUDA_SUCCESS`, `Err(self)` otherwise: the bridge from C status codes to `?`.
    pub fn result(self) -> Result<(), CUresult> {
        if self == CUresult::CUDA_SUCCESS {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl fmt::Debug for CUresult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name}({})", self.0),
            None => write!(f, "CUresult({})", self.0),
        }
    }
}

impl fmt::Display for CUresult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

// ---------------------------------------------------------------------------------------------
// Enums as integer constants
// ---------------------------------------------------------------------------------------------

/// `CUdevice_attribute`: what `cuDeviceGetAttribute` can report.
pub type CUdevice_attribute = c_int;
pub const CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: CUdevice_attribute = 1;
pub const CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X: CUdevice_attribute = 2;
pub const CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y: CUdevice_attribute = 3;
pub const CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z: CUdevice_attribute = 4;
pub const CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X: CUdevice_attribute = 5;
pub const CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y: CUdevice_attribute = 6;
pub const CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z: CUdevice_attribute = 7;
pub const CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK: CUdevice_attribute = 8;
pub const CU_DEVICE_ATTRIBUTE_SHARED_MEMORY_PER_BLOCK: CUdevice_attribute = 8;
pub const CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY: CUdevice_attribute = 9;
pub const CU_DEVICE_ATTRIBUTE_WARP_SIZE: CUdevice_attribute = 10;
pub const CU_DEVICE_ATTRIBUTE_MAX_PITCH: CUdevice_attribute = 11;
pub const CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK: CUdevice_attribute = 12;
pub const CU_DEVICE_ATTRIBUTE_REGISTERS_PER_BLOCK: CUdevice_attribute = 12;
pub const CU_DEVICE_ATTRIBUTE_CLOCK_RATE: CUdevice_attribute = 13;
pub const CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT: CUdevice_attribute = 14;
pub const CU_DEVICE_ATTRIBUTE_GPU_OVERLAP: CUdevice_attribute = 15;
pub const CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: CUdevice_attribute = 16;
pub const CU_DEVICE_ATTRIBUTE_KERNEL_EXEC_TIMEOUT: CUdevice_attribute = 17;
pub const CU_DEVICE_ATTRIBUTE_INTEGRATED: CUdevice_attribute = 18;
pub const CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY: CUdevice_attribute = 19;
pub const CU_DEVICE_ATTRIBUTE_COMPUTE_MODE: CUdevice_attribute = 20;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_WIDTH: CUdevice_attribute = 21;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_WIDTH: CUdevice_attribute = 22;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_HEIGHT: CUdevice_attribute = 23;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_WIDTH: CUdevice_attribute = 24;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_HEIGHT: CUdevice_attribute = 25;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_DEPTH: CUdevice_attribute = 26;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LAYERED_WIDTH: CUdevice_attribute = 27;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LAYERED_HEIGHT: CUdevice_attribute = 28;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LAYERED_LAYERS: CUdevice_attribute = 29;
pub const CU_DEVICE_ATTRIBUTE_SURFACE_ALIGNMENT: CUdevice_attribute = 30;
pub const CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS: CUdevice_attribute = 31;
pub const CU_DEVICE_ATTRIBUTE_ECC_ENABLED: CUdevice_attribute = 32;
pub const CU_DEVICE_ATTRIBUTE_PCI_BUS_ID: CUdevice_attribute = 33;
pub const CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID: CUdevice_attribute = 34;
pub const CU_DEVICE_ATTRIBUTE_TCC_DRIVER: CUdevice_attribute = 35;
pub const CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE: CUdevice_attribute = 36;
pub const CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH: CUdevice_attribute = 37;
pub const CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE: CUdevice_attribute = 38;
pub const CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR: CUdevice_attribute = 39;
pub const CU_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT: CUdevice_attribute = 40;
pub const CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING: CUdevice_attribute = 41;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_LAYERED_WIDTH: CUdevice_attribute = 42;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_LAYERED_LAYERS: CUdevice_attribute = 43;
pub const CU_DEVICE_ATTRIBUTE_CAN_TEX2D_GATHER: CUdevice_attribute = 44;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_GATHER_WIDTH: CUdevice_attribute = 45;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_GATHER_HEIGHT: CUdevice_attribute = 46;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_WIDTH_ALTERNATE: CUdevice_attribute = 47;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_HEIGHT_ALTERNATE: CUdevice_attribute = 48;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_DEPTH_ALTERNATE: CUdevice_attribute = 49;
pub const CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID: CUdevice_attribute = 50;
pub const CU_DEVICE_ATTRIBUTE_TEXTURE_PITCH_ALIGNMENT: CUdevice_attribute = 51;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURECUBEMAP_WIDTH: CUdevice_attribute = 52;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURECUBEMAP_LAYERED_WIDTH: CUdevice_attribute = 53;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURECUBEMAP_LAYERED_LAYERS: CUdevice_attribute = 54;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE1D_WIDTH: CUdevice_attribute = 55;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE2D_WIDTH: CUdevice_attribute = 56;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE2D_HEIGHT: CUdevice_attribute = 57;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE3D_WIDTH: CUdevice_attribute = 58;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE3D_HEIGHT: CUdevice_attribute = 59;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE3D_DEPTH: CUdevice_attribute = 60;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE1D_LAYERED_WIDTH: CUdevice_attribute = 61;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE1D_LAYERED_LAYERS: CUdevice_attribute = 62;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE2D_LAYERED_WIDTH: CUdevice_attribute = 63;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE2D_LAYERED_HEIGHT: CUdevice_attribute = 64;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE2D_LAYERED_LAYERS: CUdevice_attribute = 65;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACECUBEMAP_WIDTH: CUdevice_attribute = 66;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACECUBEMAP_LAYERED_WIDTH: CUdevice_attribute = 67;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACECUBEMAP_LAYERED_LAYERS: CUdevice_attribute = 68;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_LINEAR_WIDTH: CUdevice_attribute = 69;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LINEAR_WIDTH: CUdevice_attribute = 70;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LINEAR_HEIGHT: CUdevice_attribute = 71;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LINEAR_PITCH: CUdevice_attribute = 72;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_MIPMAPPED_WIDTH: CUdevice_attribute = 73;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_MIPMAPPED_HEIGHT: CUdevice_attribute = 74;
pub const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: CUdevice_attribute = 75;
pub const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: CUdevice_attribute = 76;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_MIPMAPPED_WIDTH: CUdevice_attribute = 77;
pub const CU_DEVICE_ATTRIBUTE_STREAM_PRIORITIES_SUPPORTED: CUdevice_attribute = 78;
pub const CU_DEVICE_ATTRIBUTE_GLOBAL_L1_CACHE_SUPPORTED: CUdevice_attribute = 79;
pub const CU_DEVICE_ATTRIBUTE_LOCAL_L1_CACHE_SUPPORTED: CUdevice_attribute = 80;
pub const CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR: CUdevice_attribute = 81;
pub const CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR: CUdevice_attribute = 82;
pub const CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY: CUdevice_attribute = 83;
pub const CU_DEVICE_ATTRIBUTE_MULTI_GPU_BOARD: CUdevice_attribute = 84;
pub const CU_DEVICE_ATTRIBUTE_MULTI_GPU_BOARD_GROUP_ID: CUdevice_attribute = 85;
pub const CU_DEVICE_ATTRIBUTE_HOST_NATIVE_ATOMIC_SUPPORTED: CUdevice_attribute = 86;
pub const CU_DEVICE_ATTRIBUTE_SINGLE_TO_DOUBLE_PRECISION_PERF_RATIO: CUdevice_attribute = 87;
pub const CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS: CUdevice_attribute = 88;
pub const CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS: CUdevice_attribute = 89;
pub const CU_DEVICE_ATTRIBUTE_COMPUTE_PREEMPTION_SUPPORTED: CUdevice_attribute = 90;
pub const CU_DEVICE_ATTRIBUTE_CAN_USE_HOST_POINTER_FOR_REGISTERED_MEM: CUdevice_attribute = 91;
pub const CU_DEVICE_ATTRIBUTE_CAN_USE_STREAM_MEM_OPS_V1: CUdevice_attribute = 92;
pub const CU_DEVICE_ATTRIBUTE_CAN_USE_64_BIT_STREAM_MEM_OPS_V1: CUdevice_attribute = 93;
pub const CU_DEVICE_ATTRIBUTE_CAN_USE_STREAM_WAIT_VALUE_NOR_V1: CUdevice_attribute = 94;
pub const CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH: CUdevice_attribute = 95;
pub const CU_DEVICE_ATTRIBUTE_COOPERATIVE_MULTI_DEVICE_LAUNCH: CUdevice_attribute = 96;
pub const CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: CUdevice_attribute = 97;
pub const CU_DEVICE_ATTRIBUTE_CAN_FLUSH_REMOTE_WRITES: CUdevice_attribute = 98;
pub const CU_DEVICE_ATTRIBUTE_HOST_REGISTER_SUPPORTED: CUdevice_attribute = 99;
pub const CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS_USES_HOST_PAGE_TABLES: CUdevice_attribute =
    100;
pub const CU_DEVICE_ATTRIBUTE_DIRECT_MANAGED_MEM_ACCESS_FROM_HOST: CUdevice_attribute = 101;
pub const CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED: CUdevice_attribute = 102;
pub const CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR_SUPPORTED: CUdevice_attribute = 103;
pub const CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_WIN32_HANDLE_SUPPORTED: CUdevice_attribute = 104;
pub const CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_WIN32_KMT_HANDLE_SUPPORTED: CUdevice_attribute = 105;
pub const CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR: CUdevice_attribute = 106;
pub const CU_DEVICE_ATTRIBUTE_GENERIC_COMPRESSION_SUPPORTED: CUdevice_attribute = 107;
pub const CU_DEVICE_ATTRIBUTE_MAX_PERSISTING_L2_CACHE_SIZE: CUdevice_attribute = 108;
pub const CU_DEVICE_ATTRIBUTE_MAX_ACCESS_POLICY_WINDOW_SIZE: CUdevice_attribute = 109;
pub const CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_WITH_CUDA_VMM_SUPPORTED: CUdevice_attribute = 110;
pub const CU_DEVICE_ATTRIBUTE_RESERVED_SHARED_MEMORY_PER_BLOCK: CUdevice_attribute = 111;
pub const CU_DEVICE_ATTRIBUTE_SPARSE_CUDA_ARRAY_SUPPORTED: CUdevice_attribute = 112;
pub const CU_DEVICE_ATTRIBUTE_READ_ONLY_HOST_REGISTER_SUPPORTED: CUdevice_attribute = 113;
pub const CU_DEVICE_ATTRIBUTE_TIMELINE_SEMAPHORE_INTEROP_SUPPORTED: CUdevice_attribute = 114;
pub const CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED: CUdevice_attribute = 115;
pub const CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_SUPPORTED: CUdevice_attribute = 116;
pub const CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_FLUSH_WRITES_OPTIONS: CUdevice_attribute = 117;
pub const CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_WRITES_ORDERING: CUdevice_attribute = 118;
pub const CU_DEVICE_ATTRIBUTE_MEMPOOL_SUPPORTED_HANDLE_TYPES: CUdevice_attribute = 119;
pub const CU_DEVICE_ATTRIBUTE_CLUSTER_LAUNCH: CUdevice_attribute = 120;
pub const CU_DEVICE_ATTRIBUTE_DEFERRED_MAPPING_CUDA_ARRAY_SUPPORTED: CUdevice_attribute = 121;
pub const CU_DEVICE_ATTRIBUTE_CAN_USE_64_BIT_STREAM_MEM_OPS: CUdevice_attribute = 122;
pub const CU_DEVICE_ATTRIBUTE_CAN_USE_STREAM_WAIT_VALUE_NOR: CUdevice_attribute = 123;
pub const CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED: CUdevice_attribute = 124;
pub const CU_DEVICE_ATTRIBUTE_IPC_EVENT_SUPPORTED: CUdevice_attribute = 125;
pub const CU_DEVICE_ATTRIBUTE_MEM_SYNC_DOMAIN_COUNT: CUdevice_attribute = 126;
pub const CU_DEVICE_ATTRIBUTE_TENSOR_MAP_ACCESS_SUPPORTED: CUdevice_attribute = 127;
pub const CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_FABRIC_SUPPORTED: CUdevice_attribute = 128;
pub const CU_DEVICE_ATTRIBUTE_UNIFIED_FUNCTION_POINTERS: CUdevice_attribute = 129;
pub const CU_DEVICE_ATTRIBUTE_NUMA_CONFIG: CUdevice_attribute = 130;
pub const CU_DEVICE_ATTRIBUTE_NUMA_ID: CUdevice_attribute = 131;
pub const CU_DEVICE_ATTRIBUTE_MULTICAST_SUPPORTED: CUdevice_attribute = 132;
pub const CU_DEVICE_ATTRIBUTE_MPS_ENABLED: CUdevice_attribute = 133;
pub const CU_DEVICE_ATTRIBUTE_HOST_NUMA_ID: CUdevice_attribute = 134;
pub const CU_DEVICE_ATTRIBUTE_D3D12_CIG_SUPPORTED: CUdevice_attribute = 135;
pub const CU_DEVICE_ATTRIBUTE_MEM_DECOMPRESS_ALGORITHM_MASK: CUdevice_attribute = 136;
pub const CU_DEVICE_ATTRIBUTE_MEM_DECOMPRESS_MAXIMUM_LENGTH: CUdevice_attribute = 137;
pub const CU_DEVICE_ATTRIBUTE_VULKAN_CIG_SUPPORTED: CUdevice_attribute = 138;
pub const CU_DEVICE_ATTRIBUTE_GPU_PCI_DEVICE_ID: CUdevice_attribute = 139;
pub const CU_DEVICE_ATTRIBUTE_GPU_PCI_SUBSYSTEM_ID: CUdevice_attribute = 140;
pub const CU_DEVICE_ATTRIBUTE_HOST_NUMA_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED: CUdevice_attribute =
    141;
pub const CU_DEVICE_ATTRIBUTE_HOST_NUMA_MEMORY_POOLS_SUPPORTED: CUdevice_attribute = 142;
pub const CU_DEVICE_ATTRIBUTE_HOST_NUMA_MULTINODE_IPC_SUPPORTED: CUdevice_attribute = 143;
pub const CU_DEVICE_ATTRIBUTE_HOST_MEMORY_POOLS_SUPPORTED: CUdevice_attribute = 144;
pub const CU_DEVICE_ATTRIBUTE_HOST_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED: CUdevice_attribute = 145;
pub const CU_DEVICE_ATTRIBUTE_HOST_ALLOC_DMA_BUF_SUPPORTED: CUdevice_attribute = 146;
pub const CU_DEVICE_ATTRIBUTE_ONLY_PARTIAL_HOST_NATIVE_ATOMIC_SUPPORTED: CUdevice_attribute = 147;
/// One past the last attribute of CUDA 13.0.
pub const CU_DEVICE_ATTRIBUTE_MAX: CUdevice_attribute = 148;
// Deprecated aliases kept by `cuda.h`.
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_ARRAY_WIDTH: CUdevice_attribute = 27;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_ARRAY_HEIGHT: CUdevice_attribute = 28;
pub const CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_ARRAY_NUMSLICES: CUdevice_attribute = 29;
pub const CU_DEVICE_ATTRIBUTE_VIRTUAL_ADDRESS_MANAGEMENT_SUPPORTED: CUdevice_attribute = 102;

/// `CUfunction_attribute`: per-kernel properties for `cuFuncGetAttribute`/`cuFuncSetAttribute`.
pub type CUfunction_attribute = c_int;
pub const CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK: CUfunction_attribute = 0;
pub const CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES: CUfunction_attribute = 1;
pub const CU_FUNC_ATTRIBUTE_CONST_SIZE_BYTES: CUfunction_attribute = 2;
pub const CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES: CUfunction_attribute = 3;
pub const CU_FUNC_ATTRIBUTE_NUM_REGS: CUfunction_attribute = 4;
pub const CU_FUNC_ATTRIBUTE_PTX_VERSION: CUfunction_attribute = 5;
pub const CU_FUNC_ATTRIBUTE_BINARY_VERSION: CUfunction_attribute = 6;
pub const CU_FUNC_ATTRIBUTE_CACHE_MODE_CA: CUfunction_attribute = 7;
pub const CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES: CUfunction_attribute = 8;
pub const CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT: CUfunction_attribute = 9;
pub const CU_FUNC_ATTRIBUTE_CLUSTER_SIZE_MUST_BE_SET: CUfunction_attribute = 10;
pub const CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_WIDTH: CUfunction_attribute = 11;
pub const CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_HEIGHT: CUfunction_attribute = 12;
pub const CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_DEPTH: CUfunction_attribute = 13;
pub const CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED: CUfunction_attribute = 14;
pub const CU_FUNC_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE: CUfunction_attribute = 15;
/// One past the last function attribute of CUDA 13.0.
pub const CU_FUNC_ATTRIBUTE_MAX: CUfunction_attribute = 16;

/// `CUpointer_attribute`: what `cuPointerGetAttribute(s)` can report about an address.
pub type CUpointer_attribute = c_int;
pub const CU_POINTER_ATTRIBUTE_CONTEXT: CUpointer_attribute = 1;
pub const CU_POINTER_ATTRIBUTE_MEMORY_TYPE: CUpointer_attribute = 2;
pub const CU_POINTER_ATTRIBUTE_DEVICE_POINTER: CUpointer_attribute = 3;
pub const CU_POINTER_ATTRIBUTE_HOST_POINTER: CUpointer_attribute = 4;
pub const CU_POINTER_ATTRIBUTE_P2P_TOKENS: CUpointer_attribute = 5;
pub const CU_POINTER_ATTRIBUTE_SYNC_MEMOPS: CUpointer_attribute = 6;
pub const CU_POINTER_ATTRIBUTE_BUFFER_ID: CUpointer_attribute = 7;
pub const CU_POINTER_ATTRIBUTE_IS_MANAGED: CUpointer_attribute = 8;
pub const CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL: CUpointer_attribute = 9;
pub const CU_POINTER_ATTRIBUTE_IS_LEGACY_CUDA_IPC_CAPABLE: CUpointer_attribute = 10;
pub const CU_POINTER_ATTRIBUTE_RANGE_START_ADDR: CUpointer_attribute = 11;
pub const CU_POINTER_ATTRIBUTE_RANGE_SIZE: CUpointer_attribute = 12;
pub const CU_POINTER_ATTRIBUTE_MAPPED: CUpointer_attribute = 13;
pub const CU_POINTER_ATTRIBUTE_ALLOWED_HANDLE_TYPES: CUpointer_attribute = 14;
pub const CU_POINTER_ATTRIBUTE_IS_GPU_DIRECT_RDMA_CAPABLE: CUpointer_attribute = 15;
pub const CU_POINTER_ATTRIBUTE_ACCESS_FLAGS: CUpointer_attribute = 16;
pub const CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE: CUpointer_attribute = 17;
pub const CU_POINTER_ATTRIBUTE_MAPPING_SIZE: CUpointer_attribute = 18;
pub const CU_POINTER_ATTRIBUTE_MAPPING_BASE_ADDR: CUpointer_attribute = 19;
pub const CU_POINTER_ATTRIBUTE_MEMORY_BLOCK_ID: CUpointer_attribute = 20;

/// `CUmemorytype`: where a pointer's memory lives (`CU_POINTER_ATTRIBUTE_MEMORY_TYPE`).
pub type CUmemorytype = c_uint;
pub const CU_MEMORYTYPE_HOST: CUmemorytype = 1;
pub const CU_MEMORYTYPE_DEVICE: CUmemorytype = 2;
pub const CU_MEMORYTYPE_ARRAY: CUmemorytype = 3;
pub const CU_MEMORYTYPE_UNIFIED: CUmemorytype = 4;

/// `CUctx_flags`: scheduling and mapping flags for contexts and primary contexts.
pub type CUctx_flags = c_uint;
pub const CU_CTX_SCHED_AUTO: CUctx_flags = 0x00;
pub const CU_CTX_SCHED_SPIN: CUctx_flags = 0x01;
pub const CU_CTX_SCHED_YIELD: CUctx_flags = 0x02;
pub const CU_CTX_SCHED_BLOCKING_SYNC: CUctx_flags = 0x04;
pub const CU_CTX_BLOCKING_SYNC: CUctx_flags = 0x04;
pub const CU_CTX_SCHED_MASK: CUctx_flags = 0x07;
pub const CU_CTX_MAP_HOST: CUctx_flags = 0x08;
pub const CU_CTX_LMEM_RESIZE_TO_MAX: CUctx_flags = 0x10;
pub const CU_CTX_COREDUMP_ENABLE: CUctx_flags = 0x20;
pub const CU_CTX_USER_COREDUMP_ENABLE: CUctx_flags = 0x40;
pub const CU_CTX_SYNC_MEMOPS: CUctx_flags = 0x80;
pub const CU_CTX_FLAGS_MASK: CUctx_flags = 0xFF;

/// `CUstream_flags` for `cuStreamCreate`.
pub type CUstream_flags = c_uint;
pub const CU_STREAM_DEFAULT: CUstream_flags = 0x0;
pub const CU_STREAM_NON_BLOCKING: CUstream_flags = 0x1;

/// `CUevent_flags` for `cuEventCreate`.
pub type CUevent_flags = c_uint;
pub const CU_EVENT_DEFAULT: CUevent_flags = 0x0;
pub const CU_EVENT_BLOCKING_SYNC: CUevent_flags = 0x1;
pub const CU_EVENT_DISABLE_TIMING: CUevent_flags = 0x2;
pub const CU_EVENT_INTERPROCESS: CUevent_flags = 0x4;

/// `CUevent_wait_flags` for `cuStreamWaitEvent`.
pub type CUevent_wait_flags = c_uint;
pub const CU_EVENT_WAIT_DEFAULT: CUevent_wait_flags = 0x0;
pub const CU_EVENT_WAIT_EXTERNAL: CUevent_wait_flags = 0x1;

/// `CUevent_record_flags` for `cuEventRecordWithFlags`.
pub type CUevent_record_flags = c_uint;
pub const CU_EVENT_RECORD_DEFAULT: CUevent_record_flags = 0x0;
pub const CU_EVENT_RECORD_EXTERNAL: CUevent_record_flags = 0x1;

/// `CUlimit`: per-context resource limits (`cuCtxGetLimit`/`cuCtxSetLimit`).
pub type CUlimit = c_int;
pub const CU_LIMIT_STACK_SIZE: CUlimit = 0x00;
pub const CU_LIMIT_PRINTF_FIFO_SIZE: CUlimit = 0x01;
pub const CU_LIMIT_MALLOC_HEAP_SIZE: CUlimit = 0x02;
pub const CU_LIMIT_DEV_RUNTIME_SYNC_DEPTH: CUlimit = 0x03;
pub const CU_LIMIT_DEV_RUNTIME_PENDING_LAUNCH_COUNT: CUlimit = 0x04;
pub const CU_LIMIT_MAX_L2_FETCH_GRANULARITY: CUlimit = 0x05;
pub const CU_LIMIT_PERSISTING_L2_CACHE_SIZE: CUlimit = 0x06;
pub const CU_LIMIT_SHMEM_SIZE: CUlimit = 0x07;
pub const CU_LIMIT_CIG_ENABLED: CUlimit = 0x08;
pub const CU_LIMIT_CIG_SHMEM_FALLBACK_ENABLED: CUlimit = 0x09;
/// One past the last limit of CUDA 13.0.
pub const CU_LIMIT_MAX: CUlimit = 0x0a;

/// `CUfunc_cache`: L1/shared memory preference.
pub type CUfunc_cache = c_int;
pub const CU_FUNC_CACHE_PREFER_NONE: CUfunc_cache = 0x00;
pub const CU_FUNC_CACHE_PREFER_SHARED: CUfunc_cache = 0x01;
pub const CU_FUNC_CACHE_PREFER_L1: CUfunc_cache = 0x02;
pub const CU_FUNC_CACHE_PREFER_EQUAL: CUfunc_cache = 0x03;

/// `CUshared_carveout` values for `CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT`.
pub type CUshared_carveout = c_int;
pub const CU_SHAREDMEM_CARVEOUT_DEFAULT: CUshared_carveout = -1;
pub const CU_SHAREDMEM_CARVEOUT_MAX_SHARED: CUshared_carveout = 100;
pub const CU_SHAREDMEM_CARVEOUT_MAX_L1: CUshared_carveout = 0;

/// Flags for `cuMemHostAlloc`.
pub const CU_MEMHOSTALLOC_PORTABLE: c_uint = 0x01;
pub const CU_MEMHOSTALLOC_DEVICEMAP: c_uint = 0x02;
pub const CU_MEMHOSTALLOC_WRITECOMBINED: c_uint = 0x04;

/// Flags for `cuMemHostRegister`.
pub const CU_MEMHOSTREGISTER_PORTABLE: c_uint = 0x01;
pub const CU_MEMHOSTREGISTER_DEVICEMAP: c_uint = 0x02;
pub const CU_MEMHOSTREGISTER_IOMEMORY: c_uint = 0x04;
pub const CU_MEMHOSTREGISTER_READ_ONLY: c_uint = 0x08;

/// `CUdriverProcAddress_flags` for `cuGetProcAddress`.
pub type CUdriverProcAddress_flags = cuuint64_t;
pub const CU_GET_PROC_ADDRESS_DEFAULT: CUdriverProcAddress_flags = 0;
pub const CU_GET_PROC_ADDRESS_LEGACY_STREAM: CUdriverProcAddress_flags = 1 << 0;
pub const CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM: CUdriverProcAddress_flags = 1 << 1;

/// `CUdriverProcAddressQueryResult`: why `cuGetProcAddress_v2` did or did not find a symbol.
pub type CUdriverProcAddressQueryResult = c_int;
pub const CU_GET_PROC_ADDRESS_SUCCESS: CUdriverProcAddressQueryResult = 0;
pub const CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND: CUdriverProcAddressQueryResult = 1;
pub const CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT: CUdriverProcAddressQueryResult = 2;

/// `CUjit_option`: keys of the option arrays passed to `cuModuleLoadDataEx` and `cuLink*`.
pub type CUjit_option = c_int;
pub const CU_JIT_MAX_REGISTERS: CUjit_option = 0;
pub const CU_JIT_THREADS_PER_BLOCK: CUjit_option = 1;
pub const CU_JIT_WALL_TIME: CUjit_option = 2;
pub const CU_JIT_INFO_LOG_BUFFER: CUjit_option = 3;
pub const CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES: CUjit_option = 4;
pub const CU_JIT_ERROR_LOG_BUFFER: CUjit_option = 5;
pub const CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES: CUjit_option = 6;
pub const CU_JIT_OPTIMIZATION_LEVEL: CUjit_option = 7;
pub const CU_JIT_TARGET_FROM_CUCONTEXT: CUjit_option = 8;
pub const CU_JIT_TARGET: CUjit_option = 9;
pub const CU_JIT_FALLBACK_STRATEGY: CUjit_option = 10;
pub const CU_JIT_GENERATE_DEBUG_INFO: CUjit_option = 11;
pub const CU_JIT_LOG_VERBOSE: CUjit_option = 12;
pub const CU_JIT_GENERATE_LINE_INFO: CUjit_option = 13;
pub const CU_JIT_CACHE_MODE: CUjit_option = 14;
pub const CU_JIT_NEW_SM3X_OPT: CUjit_option = 15;
pub const CU_JIT_FAST_COMPILE: CUjit_option = 16;
pub const CU_JIT_GLOBAL_SYMBOL_NAMES: CUjit_option = 17;
pub const CU_JIT_GLOBAL_SYMBOL_ADDRESSES: CUjit_option = 18;
pub const CU_JIT_GLOBAL_SYMBOL_COUNT: CUjit_option = 19;
pub const CU_JIT_LTO: CUjit_option = 20;
pub const CU_JIT_FTZ: CUjit_option = 21;
pub const CU_JIT_PREC_DIV: CUjit_option = 22;
pub const CU_JIT_PREC_SQRT: CUjit_option = 23;
pub const CU_JIT_FMA: CUjit_option = 24;
pub const CU_JIT_REFERENCED_KERNEL_NAMES: CUjit_option = 25;
pub const CU_JIT_REFERENCED_KERNEL_COUNT: CUjit_option = 26;
pub const CU_JIT_REFERENCED_VARIABLE_NAMES: CUjit_option = 27;
pub const CU_JIT_REFERENCED_VARIABLE_COUNT: CUjit_option = 28;
pub const CU_JIT_OPTIMIZE_UNUSED_DEVICE_VARIABLES: CUjit_option = 29;
pub const CU_JIT_POSITION_INDEPENDENT_CODE: CUjit_option = 30;
pub const CU_JIT_MIN_CTA_PER_SM: CUjit_option = 31;
pub const CU_JIT_MAX_THREADS_PER_BLOCK: CUjit_option = 32;
pub const CU_JIT_OVERRIDE_DIRECTIVE_VALUES: CUjit_option = 33;
pub const CU_JIT_SPLIT_COMPILE: CUjit_option = 34;
/// One past the last JIT option of CUDA 13.0.
pub const CU_JIT_NUM_OPTIONS: CUjit_option = 35;

/// `CUjit_target`: value of `CU_JIT_TARGET` (compute capability `major * 10 + minor`, plus
/// a base for the architecture-specific `a` and family `f` variants).
pub type CUjit_target = c_int;
pub const CU_COMPUTE_ACCELERATED_TARGET_BASE: CUjit_target = 0x10000;
pub const CU_COMPUTE_FAMILY_TARGET_BASE: CUjit_target = 0x20000;
pub const CU_TARGET_COMPUTE_30: CUjit_target = 30;
pub const CU_TARGET_COMPUTE_32: CUjit_target = 32;
pub const CU_TARGET_COMPUTE_35: CUjit_target = 35;
pub const CU_TARGET_COMPUTE_37: CUjit_target = 37;
pub const CU_TARGET_COMPUTE_50: CUjit_target = 50;
pub const CU_TARGET_COMPUTE_52: CUjit_target = 52;
pub const CU_TARGET_COMPUTE_53: CUjit_target = 53;
pub const CU_TARGET_COMPUTE_60: CUjit_target = 60;
pub const CU_TARGET_COMPUTE_61: CUjit_target = 61;
pub const CU_TARGET_COMPUTE_62: CUjit_target = 62;
pub const CU_TARGET_COMPUTE_70: CUjit_target = 70;
pub const CU_TARGET_COMPUTE_72: CUjit_target = 72;
pub const CU_TARGET_COMPUTE_75: CUjit_target = 75;
pub const CU_TARGET_COMPUTE_80: CUjit_target = 80;
pub const CU_TARGET_COMPUTE_86: CUjit_target = 86;
pub const CU_TARGET_COMPUTE_87: CUjit_target = 87;
pub const CU_TARGET_COMPUTE_89: CUjit_target = 89;
pub const CU_TARGET_COMPUTE_90: CUjit_target = 90;
pub const CU_TARGET_COMPUTE_100: CUjit_target = 100;
pub const CU_TARGET_COMPUTE_110: CUjit_target = 110;
pub const CU_TARGET_COMPUTE_103: CUjit_target = 103;
pub const CU_TARGET_COMPUTE_120: CUjit_target = 120;
pub const CU_TARGET_COMPUTE_121: CUjit_target = 121;
pub const CU_TARGET_COMPUTE_90A: CUjit_target = CU_COMPUTE_ACCELERATED_TARGET_BASE + 90;
pub const CU_TARGET_COMPUTE_100A: CUjit_target = CU_COMPUTE_ACCELERATED_TARGET_BASE + 100;
pub const CU_TARGET_COMPUTE_110A: CUjit_target = CU_COMPUTE_ACCELERATED_TARGET_BASE + 110;
pub const CU_TARGET_COMPUTE_103A: CUjit_target = CU_COMPUTE_ACCELERATED_TARGET_BASE + 103;
pub const CU_TARGET_COMPUTE_120A: CUjit_target = CU_COMPUTE_ACCELERATED_TARGET_BASE + 120;
pub const CU_TARGET_COMPUTE_121A: CUjit_target = CU_COMPUTE_ACCELERATED_TARGET_BASE + 121;
pub const CU_TARGET_COMPUTE_100F: CUjit_target = CU_COMPUTE_FAMILY_TARGET_BASE + 100;
pub const CU_TARGET_COMPUTE_110F: CUjit_target = CU_COMPUTE_FAMILY_TARGET_BASE + 110;
pub const CU_TARGET_COMPUTE_103F: CUjit_target = CU_COMPUTE_FAMILY_TARGET_BASE + 103;
pub const CU_TARGET_COMPUTE_120F: CUjit_target = CU_COMPUTE_FAMILY_TARGET_BASE + 120;
pub const CU_TARGET_COMPUTE_121F: CUjit_target = CU_COMPUTE_FAMILY_TARGET_BASE + 121;

/// `CUjit_fallback`: value of `CU_JIT_FALLBACK_STRATEGY`.
pub type CUjit_fallback = c_int;
pub const CU_PREFER_PTX: CUjit_fallback = 0;
pub const CU_PREFER_BINARY: CUjit_fallback = 1;

/// `CUjit_cacheMode`: value of `CU_JIT_CACHE_MODE`.
pub type CUjit_cacheMode = c_int;
pub const CU_JIT_CACHE_OPTION_NONE: CUjit_cacheMode = 0;
pub const CU_JIT_CACHE_OPTION_CG: CUjit_cacheMode = 1;
pub const CU_JIT_CACHE_OPTION_CA: CUjit_cacheMode = 2;

/// `CUjitInputType`: what `cuLinkAddData` is given.
pub type CUjitInputType = c_int;
pub const CU_JIT_INPUT_CUBIN: CUjitInputType = 0;
pub const CU_JIT_INPUT_PTX: CUjitInputType = 1;
pub const CU_JIT_INPUT_FATBINARY: CUjitInputType = 2;
pub const CU_JIT_INPUT_OBJECT: CUjitInputType = 3;
pub const CU_JIT_INPUT_LIBRARY: CUjitInputType = 4;
/// Deprecated in CUDA 12.0 (high-level NVVM IR is rejected by current drivers).
pub const CU_JIT_INPUT_NVVM: CUjitInputType = 5;
pub const CU_JIT_NUM_INPUT_TYPES: CUjitInputType = 6;

/// Markers for the `extra` argument of `cuLaunchKernel` (pointer-valued in C).
pub const CU_LAUNCH_PARAM_END: *mut c_void = ptr::null_mut();
#[allow(clippy::manual_dangling_ptr)] // the C value is the integer 1, not "dangling"
pub const CU_LAUNCH_PARAM_BUFFER_POINTER: *mut c_void = 0x01 as *mut c_void;
pub const CU_LAUNCH_PARAM_BUFFER_SIZE: *mut c_void = 0x02 as *mut c_void;

/// Special device ordinals.
pub const CU_DEVICE_CPU: CUdevice = -1;
pub const CU_DEVICE_INVALID: CUdevice = -2;

// ---------------------------------------------------------------------------------------------
// Loader signatures
// ---------------------------------------------------------------------------------------------

/// `cuGetProcAddress_v2` (CUDA 12.0): reports why a symbol was not found.
pub type PFN_cuGetProcAddress_v12000 = unsafe extern "C" fn(
    symbol: *const c_char,
    pfn: *mut *mut c_void,
    cuda_version: c_int,
    flags: cuuint64_t,
    symbol_status: *mut CUdriverProcAddressQueryResult,
) -> CUresult;
/// `cuGetProcAddress` (CUDA 11.3), the fallback when `_v2` is absent.
pub type PFN_cuGetProcAddress_v11030 = unsafe extern "C" fn(
    symbol: *const c_char,
    pfn: *mut *mut c_void,
    cuda_version: c_int,
    flags: cuuint64_t,
) -> CUresult;
/// `cuDriverGetVersion`, resolved with the dynamic linker before anything else.
pub type PFN_cuDriverGetVersion = unsafe extern "C" fn(version: *mut c_int) -> CUresult;

/// The oldest driver we accept: CUDA 12.0, the first with `cuGetProcAddress_v2`.
pub const MIN_DRIVER_VERSION: i32 = 12000;

/// Environment variable naming the driver library to load instead of the system one.
pub const LIBCUDA_ENV: &str = "FERROCUDA_LIBCUDA";

// ---------------------------------------------------------------------------------------------
// The function table
// ---------------------------------------------------------------------------------------------

/// Declares [`Driver`], the list of symbols with the ABI version each is resolved at, and the
/// code that resolves them. Each field is named after the exported symbol whose ABI it has
/// (`cuCtxCreate_v2`, `cuMemAlloc_v2`, `cuLaunchKernel`), so a call site says which variant it
/// uses; `cuGetProcAddress` is asked for the name without the `_vN` suffix.
///
/// The version given for each entry point is the one of the `PFN_<name>_v<version>` typedef
/// in `cudaTypedefs.h` whose prototype we declare. `cuGetProcAddress` returns the newest
/// variant introduced at or before the version asked for, so asking for anything later than
/// that typedef's version can silently yield another ABI (e.g. `cuCtxCreate` at 12000 is the
/// `_v3` variant with execution-affinity parameters, at 13000 `_v4` with a params struct).
macro_rules! function_table {
    (
        required {
            $( $rname:ident @ $rver:literal : fn($($rarg:ident : $rty:ty),* $(,)?); )*
        }
        optional {
            $( $oname:ident @ $over:literal : fn($($oarg:ident : $oty:ty),* $(,)?); )*
        }
    ) => {
        /// The driver's entry points, each resolved through `cuGetProcAddress` at the CUDA
        /// version whose ABI matches its declared signature, and named after that variant's
        /// exported symbol. Obtain it with [`driver`]; call through the safe-ish wrappers in
        /// `result.rs` rather than the raw pointers where possible.
        pub struct Driver {
            version: i32,
            $(
                #[doc = concat!("`", stringify!($rname), "`, ABI of CUDA ", stringify!($rver), ".")]
                pub $rname: unsafe extern "C" fn($($rarg: $rty),*) -> CUresult,
            )*
            $(
                #[doc = concat!("`", stringify!($oname), "`, ABI of CUDA ", stringify!($over),
                    "; `None` when the driver lacks it.")]
                pub $oname: Option<unsafe extern "C" fn($($oarg: $oty),*) -> CUresult>,
            )*
            // Last, so the entry points above never outlive the library in drop order.
            _library: Library,
        }

        /// Every entry point of the table: (exported name of the variant we declare, CUDA
        /// version whose ABI that is, required). Lets tooling and tests audit the choices.
        /// [`lookup_name`] gives the name passed to `cuGetProcAddress`.
        pub const SYMBOLS: &[(&str, i32, bool)] = &[
            $((stringify!($rname), $rver, true),)*
            $((stringify!($oname), $over, false),)*
        ];

        impl Driver {
            fn resolve_all(
                library: Library,
                version: i32,
                resolver: &Resolver,
            ) -> Result<Driver, LoadError> {
                Ok(Driver {
                    version,
                    $(
                        $rname: {
                            let p = resolver.resolve(stringify!($rname), $rver)?;
                            // SAFETY: the driver returned this entry point for the ABI of CUDA
                            // `$rver`, whose C prototype the declared signature matches; data
                            // and function pointers have the same size on supported targets.
                            unsafe {
                                std::mem::transmute::<
                                    *mut c_void,
                                    unsafe extern "C" fn($($rty),*) -> CUresult,
                                >(p.as_ptr())
                            }
                        },
                    )*
                    $(
                        $oname: match resolver.resolve(stringify!($oname), $over) {
                            // SAFETY: as for the required entry points above.
                            Ok(p) => Some(unsafe {
                                std::mem::transmute::<
                                    *mut c_void,
                                    unsafe extern "C" fn($($oty),*) -> CUresult,
                                >(p.as_ptr())
                            }),
                            Err(_) => None,
                        },
                    )*
                    _library: library,
                })
            }

            /// Every entry point as (exported name, resolved address), `None` for a missing
            /// optional one: lets tests compare what `cuGetProcAddress` returned with the
            /// exported symbol of the same name.
            pub fn entry_points(&self) -> Vec<(&'static str, Option<usize>)> {
                vec![
                    $((stringify!($rname), Some(self.$rname as usize)),)*
                    $((stringify!($oname), self.$oname.map(|f| f as usize)),)*
                ]
            }
        }
    };
}

/// The name `cuGetProcAddress` takes for an exported variant: `cuMemAlloc_v2` → `cuMemAlloc`.
pub fn lookup_name(exported: &str) -> &str {
    match exported.rfind("_v") {
        Some(i)
            if exported.len() > i + 2 && exported[i + 2..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            &exported[..i]
        }
        _ => exported,
    }
}

function_table! {
    required {
        cuInit @ 2000 : fn(flags: c_uint);
        cuDriverGetVersion @ 2020 : fn(version: *mut c_int);
        cuGetErrorName @ 6000 : fn(error: CUresult, p_str: *mut *const c_char);
        cuGetErrorString @ 6000 : fn(error: CUresult, p_str: *mut *const c_char);

        cuDeviceGet @ 2000 : fn(device: *mut CUdevice, ordinal: c_int);
        cuDeviceGetCount @ 2000 : fn(count: *mut c_int);
        cuDeviceGetName @ 2000 : fn(name: *mut c_char, len: c_int, dev: CUdevice);
        cuDeviceGetUuid_v2 @ 11040 : fn(uuid: *mut CUuuid, dev: CUdevice);
        cuDeviceTotalMem_v2 @ 3020 : fn(bytes: *mut usize, dev: CUdevice);
        cuDeviceGetAttribute @ 2000 : fn(pi: *mut c_int, attrib: CUdevice_attribute, dev: CUdevice);
        cuDevicePrimaryCtxRetain @ 7000 : fn(pctx: *mut CUcontext, dev: CUdevice);
        cuDevicePrimaryCtxRelease_v2 @ 11000 : fn(dev: CUdevice);
        cuDevicePrimaryCtxReset_v2 @ 11000 : fn(dev: CUdevice);
        cuDevicePrimaryCtxGetState @ 7000 : fn(dev: CUdevice, flags: *mut c_uint, active: *mut c_int);
        cuDevicePrimaryCtxSetFlags_v2 @ 11000 : fn(dev: CUdevice, flags: c_uint);

        cuCtxCreate_v2 @ 3020 : fn(pctx: *mut CUcontext, flags: c_uint, dev: CUdevice);
        cuCtxDestroy_v2 @ 4000 : fn(ctx: CUcontext);
        cuCtxPushCurrent_v2 @ 4000 : fn(ctx: CUcontext);
        cuCtxPopCurrent_v2 @ 4000 : fn(pctx: *mut CUcontext);
        cuCtxSetCurrent @ 4000 : fn(ctx: CUcontext);
        cuCtxGetCurrent @ 4000 : fn(pctx: *mut CUcontext);
        cuCtxGetDevice @ 2000 : fn(device: *mut CUdevice);
        cuCtxSynchronize @ 2000 : fn();
        cuCtxGetApiVersion @ 3020 : fn(ctx: CUcontext, version: *mut c_uint);
        cuCtxGetFlags @ 7000 : fn(flags: *mut c_uint);
        cuCtxGetLimit @ 3010 : fn(pvalue: *mut usize, limit: CUlimit);
        cuCtxSetLimit @ 3010 : fn(limit: CUlimit, value: usize);
        cuCtxGetCacheConfig @ 3020 : fn(pconfig: *mut CUfunc_cache);
        cuCtxSetCacheConfig @ 3020 : fn(config: CUfunc_cache);
        cuCtxGetStreamPriorityRange @ 5050 : fn(least: *mut c_int, greatest: *mut c_int);

        cuModuleLoad @ 2000 : fn(module: *mut CUmodule, fname: *const c_char);
        cuModuleLoadData @ 2000 : fn(module: *mut CUmodule, image: *const c_void);
        cuModuleLoadDataEx @ 2010 : fn(
            module: *mut CUmodule,
            image: *const c_void,
            num_options: c_uint,
            options: *mut CUjit_option,
            option_values: *mut *mut c_void,
        );
        cuModuleLoadFatBinary @ 2000 : fn(module: *mut CUmodule, fat_cubin: *const c_void);
        cuModuleUnload @ 2000 : fn(hmod: CUmodule);
        cuModuleGetFunction @ 2000 : fn(hfunc: *mut CUfunction, hmod: CUmodule, name: *const c_char);
        cuModuleGetGlobal_v2 @ 3020 : fn(
            dptr: *mut CUdeviceptr,
            bytes: *mut usize,
            hmod: CUmodule,
            name: *const c_char,
        );

        cuFuncGetAttribute @ 2020 : fn(pi: *mut c_int, attrib: CUfunction_attribute, hfunc: CUfunction);
        cuFuncSetAttribute @ 9000 : fn(hfunc: CUfunction, attrib: CUfunction_attribute, value: c_int);
        cuFuncSetCacheConfig @ 3000 : fn(hfunc: CUfunction, config: CUfunc_cache);

        cuMemAlloc_v2 @ 3020 : fn(dptr: *mut CUdeviceptr, bytesize: usize);
        cuMemFree_v2 @ 3020 : fn(dptr: CUdeviceptr);
        cuMemAllocHost_v2 @ 3020 : fn(pp: *mut *mut c_void, bytesize: usize);
        cuMemFreeHost @ 2000 : fn(p: *mut c_void);
        cuMemHostAlloc @ 2020 : fn(pp: *mut *mut c_void, bytesize: usize, flags: c_uint);
        cuMemHostRegister_v2 @ 6050 : fn(p: *mut c_void, bytesize: usize, flags: c_uint);
        cuMemHostUnregister @ 4000 : fn(p: *mut c_void);
        cuMemHostGetDevicePointer_v2 @ 3020 : fn(pdptr: *mut CUdeviceptr, p: *mut c_void, flags: c_uint);
        cuMemGetInfo_v2 @ 3020 : fn(free: *mut usize, total: *mut usize);
        cuMemcpy @ 4000 : fn(dst: CUdeviceptr, src: CUdeviceptr, byte_count: usize);
        cuMemcpyHtoD_v2 @ 3020 : fn(dst: CUdeviceptr, src: *const c_void, byte_count: usize);
        cuMemcpyDtoH_v2 @ 3020 : fn(dst: *mut c_void, src: CUdeviceptr, byte_count: usize);
        cuMemcpyDtoD_v2 @ 3020 : fn(dst: CUdeviceptr, src: CUdeviceptr, byte_count: usize);
        cuMemcpyAsync @ 4000 : fn(dst: CUdeviceptr, src: CUdeviceptr, byte_count: usize, stream: CUstream);
        cuMemcpyHtoDAsync_v2 @ 3020 : fn(
            dst: CUdeviceptr,
            src: *const c_void,
            byte_count: usize,
            stream: CUstream,
        );
        cuMemcpyDtoHAsync_v2 @ 3020 : fn(
            dst: *mut c_void,
            src: CUdeviceptr,
            byte_count: usize,
            stream: CUstream,
        );
        cuMemcpyDtoDAsync_v2 @ 3020 : fn(
            dst: CUdeviceptr,
            src: CUdeviceptr,
            byte_count: usize,
            stream: CUstream,
        );
        cuMemsetD8_v2 @ 3020 : fn(dst: CUdeviceptr, value: u8, n: usize);
        cuMemsetD16_v2 @ 3020 : fn(dst: CUdeviceptr, value: u16, n: usize);
        cuMemsetD32_v2 @ 3020 : fn(dst: CUdeviceptr, value: u32, n: usize);
        cuMemsetD8Async @ 3020 : fn(dst: CUdeviceptr, value: u8, n: usize, stream: CUstream);
        cuMemsetD16Async @ 3020 : fn(dst: CUdeviceptr, value: u16, n: usize, stream: CUstream);
        cuMemsetD32Async @ 3020 : fn(dst: CUdeviceptr, value: u32, n: usize, stream: CUstream);
        cuPointerGetAttribute @ 4000 : fn(data: *mut c_void, attribute: CUpointer_attribute, ptr: CUdeviceptr);
        cuPointerGetAttributes @ 7000 : fn(
            num_attributes: c_uint,
            attributes: *mut CUpointer_attribute,
            data: *mut *mut c_void,
            ptr: CUdeviceptr,
        );

        cuStreamCreate @ 2000 : fn(phstream: *mut CUstream, flags: c_uint);
        cuStreamCreateWithPriority @ 5050 : fn(phstream: *mut CUstream, flags: c_uint, priority: c_int);
        cuStreamDestroy_v2 @ 4000 : fn(hstream: CUstream);
        cuStreamSynchronize @ 2000 : fn(hstream: CUstream);
        cuStreamQuery @ 2000 : fn(hstream: CUstream);
        cuStreamWaitEvent @ 3020 : fn(hstream: CUstream, hevent: CUevent, flags: c_uint);
        cuStreamAddCallback @ 5000 : fn(
            hstream: CUstream,
            callback: CUstreamCallback,
            user_data: *mut c_void,
            flags: c_uint,
        );
        cuLaunchHostFunc @ 10000 : fn(hstream: CUstream, func: CUhostFn, user_data: *mut c_void);
        cuStreamGetPriority @ 5050 : fn(hstream: CUstream, priority: *mut c_int);
        cuStreamGetFlags @ 5050 : fn(hstream: CUstream, flags: *mut c_uint);

        cuEventCreate @ 2000 : fn(phevent: *mut CUevent, flags: c_uint);
        cuEventDestroy_v2 @ 4000 : fn(hevent: CUevent);
        cuEventRecord @ 2000 : fn(hevent: CUevent, hstream: CUstream);
        cuEventSynchronize @ 2000 : fn(hevent: CUevent);
        cuEventQuery @ 2000 : fn(hevent: CUevent);
        cuEventElapsedTime @ 2000 : fn(pmilliseconds: *mut f32, hstart: CUevent, hend: CUevent);

        cuLaunchKernel @ 4000 : fn(
            f: CUfunction,
            grid_dim_x: c_uint,
            grid_dim_y: c_uint,
            grid_dim_z: c_uint,
            block_dim_x: c_uint,
            block_dim_y: c_uint,
            block_dim_z: c_uint,
            shared_mem_bytes: c_uint,
            hstream: CUstream,
            kernel_params: *mut *mut c_void,
            extra: *mut *mut c_void,
        );
        cuOccupancyMaxActiveBlocksPerMultiprocessor @ 6050 : fn(
            num_blocks: *mut c_int,
            func: CUfunction,
            block_size: c_int,
            dynamic_smem_size: usize,
        );
    }
    optional {
        cuFuncGetParamInfo @ 12040 : fn(
            func: CUfunction,
            param_index: usize,
            param_offset: *mut usize,
            param_size: *mut usize,
        );
        cuFuncGetName @ 12030 : fn(name: *mut *const c_char, hfunc: CUfunction);
        cuOccupancyMaxPotentialBlockSize @ 6050 : fn(
            min_grid_size: *mut c_int,
            block_size: *mut c_int,
            func: CUfunction,
            block_size_to_dynamic_smem_size: CUoccupancyB2DSize,
            dynamic_smem_size: usize,
            block_size_limit: c_int,
        );
        cuLinkCreate_v2 @ 6050 : fn(
            num_options: c_uint,
            options: *mut CUjit_option,
            option_values: *mut *mut c_void,
            state_out: *mut CUlinkState,
        );
        cuLinkAddData_v2 @ 6050 : fn(
            state: CUlinkState,
            input_type: CUjitInputType,
            data: *mut c_void,
            size: usize,
            name: *const c_char,
            num_options: c_uint,
            options: *mut CUjit_option,
            option_values: *mut *mut c_void,
        );
        cuLinkComplete @ 5050 : fn(state: CUlinkState, cubin_out: *mut *mut c_void, size_out: *mut usize);
        cuLinkDestroy @ 5050 : fn(state: CUlinkState);
    }
}

impl Driver {
    /// The driver's CUDA version as `cuDriverGetVersion` reported it at load time
    /// (`1000 * major + 10 * minor`, e.g. 13000).
    pub fn version(&self) -> i32 {
        self.version
    }
}

impl Driver {
    /// The address the dynamic linker gives for an exported symbol (e.g. `"cuCtxCreate_v2"`),
    /// to check which variant `cuGetProcAddress` resolved; `None` when not exported.
    pub fn exported_address(&self, symbol: &str) -> Option<usize> {
        // SAFETY: the symbol is only read as an address, never called or dereferenced.
        unsafe { self._library.get::<*mut c_void>(symbol.as_bytes()) }
            .ok()
            .map(|s| s.addr())
    }
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("version", &self.version)
            .field("cuFuncGetParamInfo", &self.cuFuncGetParamInfo.is_some())
            .field("cuLinkCreate_v2", &self.cuLinkCreate_v2.is_some())
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/// Why the driver library could not be used. Clonable so that the process-wide cache can hand
/// the same error to every caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// No candidate library could be opened (no NVIDIA driver installed, or a bad
    /// `FERROCUDA_LIBCUDA`).
    #[error("the CUDA driver library could not be loaded (tried {}): {reason}", tried.join(", "))]
    LibraryNotFound {
        /// Every file name or path that was tried, in order.
        tried: Vec<String>,
        /// The dynamic loader's messages.
        reason: String,
    },
    /// The library opened but lacks an entry point we require.
    #[error("the CUDA driver library has no entry point `{symbol}` (ABI of CUDA {version})")]
    SymbolNotFound {
        /// The C name of the entry point.
        symbol: String,
        /// The CUDA version whose ABI was asked for (0 for symbols found with the dynamic
        /// linker, which have a single ABI).
        version: i32,
    },
    /// The installed driver predates the oldest CUDA version we support.
    #[error(
        "the installed CUDA driver supports CUDA {}.{}, but CUDA {}.{} or newer is required",
        found / 1000, (found % 1000) / 10, required / 1000, (required % 1000) / 10
    )]
    DriverTooOld {
        /// The driver's version (`cuDriverGetVersion`).
        found: i32,
        /// [`MIN_DRIVER_VERSION`].
        required: i32,
    },
    /// `cuDriverGetVersion` itself failed.
    #[error("cuDriverGetVersion failed with {code}")]
    VersionQueryFailed {
        /// The status it returned.
        code: CUresult,
    },
}

/// The library names to try, in order: the path in `FERROCUDA_LIBCUDA` alone when it is set
/// (so a test can never silently fall back to the system driver), else the platform's names.
fn library_candidates(env: Option<OsString>) -> Vec<OsString> {
    match env {
        Some(path) if !path.is_empty() => vec![path],
        _ if cfg!(windows) => vec!["nvcuda.dll".into()],
        _ => vec!["libcuda.so.1".into(), "libcuda.so".into()],
    }
}

fn open_library(candidates: &[OsString]) -> Result<Library, LoadError> {
    let mut reasons = Vec::new();
    for name in candidates {
        // SAFETY: loading the NVIDIA driver runs its initialisers, which have no preconditions
        // on our side; a library named by the user via FERROCUDA_LIBCUDA is trusted the same
        // way `LD_PRELOAD` would be.
        match unsafe { Library::new(name) } {
            Ok(lib) => return Ok(lib),
            Err(e) => reasons.push(format!("{}: {e}", name.to_string_lossy())),
        }
    }
    Err(LoadError::LibraryNotFound {
        tried: candidates
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect(),
        reason: reasons.join("; "),
    })
}

/// Looks a symbol up with the dynamic linker; `None` when absent.
///
/// # Safety
/// `T` must be the function pointer type matching the symbol's C prototype.
unsafe fn dlsym<T: Copy>(library: &Library, name: &str) -> Option<T> {
    // SAFETY: the caller guarantees `T` matches the symbol's type; the value is copied out and
    // the caller keeps `library` alive for as long as it is used.
    unsafe { library.get::<T>(name.as_bytes()).ok().map(|s| *s) }
}

/// `cuGetProcAddress` in whichever form the driver exports.
enum Resolver {
    V2(PFN_cuGetProcAddress_v12000),
    V1(PFN_cuGetProcAddress_v11030),
}

impl Resolver {
    /// Resolves the exported variant `exported` by asking for its base name at the ABI of
    /// CUDA `version`.
    fn resolve(&self, exported: &str, version: i32) -> Result<NonNull<c_void>, LoadError> {
        let name = lookup_name(exported);
        let not_found = || LoadError::SymbolNotFound {
            symbol: name.to_owned(),
            version,
        };
        let c_name = CString::new(name).map_err(|_| not_found())?;
        let mut pfn: *mut c_void = ptr::null_mut();
        let status = match *self {
            Resolver::V2(get) => {
                let mut query: CUdriverProcAddressQueryResult = CU_GET_PROC_ADDRESS_SUCCESS;
                // SAFETY: `c_name` is NUL-terminated and outlives the call; `pfn` and `query`
                // are valid for writes; `get` is the driver's cuGetProcAddress_v2.
                let r = unsafe {
                    get(
                        c_name.as_ptr(),
                        &mut pfn,
                        version,
                        CU_GET_PROC_ADDRESS_DEFAULT,
                        &mut query,
                    )
                };
                if query != CU_GET_PROC_ADDRESS_SUCCESS {
                    return Err(not_found());
                }
                r
            }
            // SAFETY: as above, for the four-argument cuGetProcAddress of CUDA 11.3.
            Resolver::V1(get) => unsafe {
                get(
                    c_name.as_ptr(),
                    &mut pfn,
                    version,
                    CU_GET_PROC_ADDRESS_DEFAULT,
                )
            },
        };
        match NonNull::new(pfn) {
            Some(p) if status == CUresult::CUDA_SUCCESS => Ok(p),
            _ => Err(not_found()),
        }
    }
}

impl Driver {
    /// Opens the first loadable library among `candidates` and resolves the whole table.
    fn load_from(candidates: &[OsString]) -> Result<Driver, LoadError> {
        let library = open_library(candidates)?;
        // SAFETY: both prototypes are stable since CUDA 2.2 / 11.3 / 12.0 respectively and
        // match the declared pointer types.
        let (get_version, gpa_v2, gpa_v1) = unsafe {
            (
                dlsym::<PFN_cuDriverGetVersion>(&library, "cuDriverGetVersion"),
                dlsym::<PFN_cuGetProcAddress_v12000>(&library, "cuGetProcAddress_v2"),
                dlsym::<PFN_cuGetProcAddress_v11030>(&library, "cuGetProcAddress"),
            )
        };
        let resolver = match (gpa_v2, gpa_v1) {
            (Some(v2), _) => Some(Resolver::V2(v2)),
            (None, Some(v1)) => Some(Resolver::V1(v1)),
            (None, None) => None,
        };
        // Report an old driver as such, even when it also lacks cuGetProcAddress_v2.
        if let Some(get_version) = get_version {
            let mut version: c_int = 0;
            // SAFETY: `version` is valid for writes; cuDriverGetVersion needs no cuInit.
            let r = unsafe { get_version(&mut version) };
            r.result()
                .map_err(|code| LoadError::VersionQueryFailed { code })?;
            if version < MIN_DRIVER_VERSION {
                return Err(LoadError::DriverTooOld {
                    found: version,
                    required: MIN_DRIVER_VERSION,
                });
            }
            let resolver = resolver.ok_or_else(|| LoadError::SymbolNotFound {
                symbol: "cuGetProcAddress_v2".into(),
                version: 0,
            })?;
            return Driver::resolve_all(library, version, &resolver);
        }
        Err(LoadError::SymbolNotFound {
            symbol: if resolver.is_none() {
                "cuGetProcAddress_v2"
            } else {
                "cuDriverGetVersion"
            }
            .into(),
            version: 0,
        })
    }
}

static DRIVER: OnceLock<Result<Driver, LoadError>> = OnceLock::new();

/// The process-wide driver table, loaded on first use from `FERROCUDA_LIBCUDA` or the system
/// library. The outcome (success or error) is cached: the library is never unloaded, which is
/// what lets pointers returned by the driver (error strings, ...) be `'static`.
pub fn driver() -> Result<&'static Driver, LoadError> {
    DRIVER
        .get_or_init(|| Driver::load_from(&library_candidates(std::env::var_os(LIBCUDA_ENV))))
        .as_ref()
        .map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_library_is_reported_with_its_path() {
        let err = Driver::load_from(&["/nonexistent/libcuda.so".into()]).unwrap_err();
        match &err {
            LoadError::LibraryNotFound { tried, reason } => {
                assert_eq!(tried, &["/nonexistent/libcuda.so".to_string()]);
                assert!(reason.contains("/nonexistent/libcuda.so"), "{reason}");
            }
            other => panic!("unexpected error {other:?}"),
        }
        assert!(err.to_string().contains("/nonexistent/libcuda.so"));
    }

    #[test]
    fn candidates_honour_the_environment() {
        assert_eq!(
            library_candidates(Some("/x/libcuda.so".into())),
            vec![OsString::from("/x/libcuda.so")]
        );
        let default = library_candidates(None);
        assert_eq!(default, library_candidates(Some(OsString::new())));
        if cfg!(target_os = "linux") {
            assert_eq!(
                default,
                vec![OsString::from("libcuda.so.1"), "libcuda.so".into()]
            );
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_library_that_is_not_libcuda_lacks_the_entry_points() {
        let libc = "/lib/x86_64-linux-gnu/libc.so.6";
        if !std::path::Path::new(libc).exists() {
            eprintln!("skipping: {libc} does not exist");
            return;
        }
        let err = Driver::load_from(&[libc.into()]).unwrap_err();
        assert_eq!(
            err,
            LoadError::SymbolNotFound {
                symbol: "cuGetProcAddress_v2".into(),
                version: 0
            }
        );
    }

    #[test]
    fn lookup_names_drop_the_variant_suffix() {
        assert_eq!(lookup_name("cuMemAlloc_v2"), "cuMemAlloc");
        assert_eq!(lookup_name("cuLaunchKernel"), "cuLaunchKernel");
        assert_eq!(lookup_name("cuFoo_v"), "cuFoo_v");
        assert_eq!(lookup_name("cuFoo_vx2"), "cuFoo_vx2");
    }

    /// Builds `tests/fake_libcuda/fake_libcuda.c` with `defines`; `None` (test skipped) when no
    /// C compiler is available.
    #[cfg(target_os = "linux")]
    fn fake_libcuda(variant: &str, defines: &[&str]) -> Option<std::path::PathBuf> {
        let src = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fake_libcuda/fake_libcuda.c"
        );
        let dir =
            std::env::temp_dir().join(format!("ferrocuda-fake-libcuda-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join(format!("libcuda_{variant}.so"));
        let status = std::process::Command::new("cc")
            .args(["-shared", "-fPIC", "-o"])
            .arg(&out)
            .args(defines.iter().map(|d| format!("-D{d}")))
            .arg(src)
            .status();
        match status {
            Ok(s) if s.success() => Some(out),
            other => {
                eprintln!("skipping: cannot build the fake libcuda ({other:?})");
                None
            }
        }
    }

    /// The (name, version) pairs the fake driver at `path` was asked for.
    #[cfg(target_os = "linux")]
    fn fake_requests(path: &std::path::Path) -> Vec<(String, i32)> {
        // SAFETY: the fake library has no initialisers; the three functions have these
        // prototypes, and the returned strings are copied while the library is loaded.
        unsafe {
            let lib = Library::new(path).unwrap();
            let count = *lib
                .get::<unsafe extern "C" fn() -> c_int>("fake_request_count")
                .unwrap();
            let name = *lib
                .get::<unsafe extern "C" fn(c_int) -> *const c_char>("fake_request_name")
                .unwrap();
            let version = *lib
                .get::<unsafe extern "C" fn(c_int) -> c_int>("fake_request_version")
                .unwrap();
            (0..count())
                .map(|i| {
                    let n = std::ffi::CStr::from_ptr(name(i))
                        .to_string_lossy()
                        .into_owned();
                    (n, version(i))
                })
                .collect()
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn fake_driver_too_old() {
        let Some(lib) = fake_libcuda("old", &["FAKE_VERSION=11080", "WITH_V1"]) else {
            return;
        };
        assert_eq!(
            Driver::load_from(&[lib.into()]).unwrap_err(),
            LoadError::DriverTooOld {
                found: 11080,
                required: MIN_DRIVER_VERSION
            }
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn fake_driver_without_entry_points() {
        let Some(lib) = fake_libcuda(
            "empty",
            &["FAKE_VERSION=13000", "WITH_V2", "RESOLVE_NOTHING"],
        ) else {
            return;
        };
        assert_eq!(
            Driver::load_from(&[lib.into()]).unwrap_err(),
            LoadError::SymbolNotFound {
                symbol: "cuInit".into(),
                version: 2000
            }
        );
        let Some(lib) = fake_libcuda("noproc", &["FAKE_VERSION=12000"]) else {
            return;
        };
        assert_eq!(
            Driver::load_from(&[lib.into()]).unwrap_err(),
            LoadError::SymbolNotFound {
                symbol: "cuGetProcAddress_v2".into(),
                version: 0
            }
        );
    }

    /// Every entry point is asked for by its base name at its declared version; those newer
    /// than the driver are absent, through either cuGetProcAddress variant.
    #[cfg(target_os = "linux")]
    #[test]
    fn fake_driver_is_asked_for_the_declared_versions() {
        for (variant, define) in [("v2", "WITH_V2"), ("v1", "WITH_V1")] {
            let Some(lib) = fake_libcuda(variant, &["FAKE_VERSION=12020", define]) else {
                return;
            };
            let d = Driver::load_from(&[lib.clone().into()]).unwrap();
            assert_eq!(d.version(), 12020);
            assert!(d.cuFuncGetParamInfo.is_none());
            assert!(d.cuFuncGetName.is_none());
            assert!(d.cuLinkCreate_v2.is_some());
            let expected: Vec<(String, i32)> = SYMBOLS
                .iter()
                .map(|(name, version, _)| (lookup_name(name).to_owned(), *version))
                .collect();
            assert_eq!(fake_requests(&lib), expected, "{variant}");
            assert_eq!(
                d.entry_points()
                    .iter()
                    .filter(|(_, address)| address.is_none())
                    .count(),
                2
            );
        }
    }

    #[test]
    fn driver_too_old_message() {
        let e = LoadError::DriverTooOld {
            found: 11080,
            required: 12000,
        };
        assert_eq!(
            e.to_string(),
            "the installed CUDA driver supports CUDA 11.8, but CUDA 12.0 or newer is required"
        );
    }

    #[test]
    fn result_names() {
        assert_eq!(CUresult::CUDA_SUCCESS.name(), Some("CUDA_SUCCESS"));
        assert_eq!(CUresult(1).name(), Some("CUDA_ERROR_INVALID_VALUE"));
        assert_eq!(CUresult(700).name(), Some("CUDA_ERROR_ILLEGAL_ADDRESS"));
        assert_eq!(CUresult(999).name(), Some("CUDA_ERROR_UNKNOWN"));
        assert_eq!(CUresult(12345).name(), None);
        assert_eq!(
            format!("{:?}", CUresult(218)),
            "CUDA_ERROR_INVALID_PTX(218)"
        );
        assert_eq!(format!("{:?}", CUresult(12345)), "CUresult(12345)");
        assert_eq!(CUresult(0).result(), Ok(()));
        assert_eq!(
            CUresult(2).result(),
            Err(CUresult::CUDA_ERROR_OUT_OF_MEMORY)
        );
    }

    #[test]
    fn result_table_has_unique_codes_and_names() {
        let mut codes: Vec<i32> = CUresult::ALL.iter().map(|(c, _)| c.0).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), CUresult::ALL.len());
    }

    #[test]
    fn symbol_versions() {
        let find = |n: &str| SYMBOLS.iter().find(|s| s.0 == n).copied();
        // The `_v2` ABI of CUDA 3.2; asking for 12000 would yield `_v3` (11.4, affinity
        // parameters) and for 13000 `_v4` (12.5, params struct).
        assert_eq!(find("cuCtxCreate_v2"), Some(("cuCtxCreate_v2", 3020, true)));
        assert_eq!(find("cuMemAlloc_v2"), Some(("cuMemAlloc_v2", 3020, true)));
        assert_eq!(
            find("cuStreamDestroy_v2"),
            Some(("cuStreamDestroy_v2", 4000, true))
        );
        // Their CUDA 13 variants take a context argument.
        assert_eq!(
            find("cuCtxSynchronize"),
            Some(("cuCtxSynchronize", 2000, true))
        );
        assert_eq!(find("cuCtxGetDevice"), Some(("cuCtxGetDevice", 2000, true)));
        assert_eq!(
            find("cuFuncGetParamInfo"),
            Some(("cuFuncGetParamInfo", 12040, false))
        );
        // No duplicate base names.
        for (i, (name, version, _)) in SYMBOLS.iter().enumerate() {
            let base = lookup_name(name);
            assert!(
                SYMBOLS[i + 1..].iter().all(|s| lookup_name(s.0) != base),
                "{name}"
            );
            assert!(*version <= 12040, "{name}");
        }
    }
}
