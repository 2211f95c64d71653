//! Raw declarations of the CUDA driver API and the run-time loader for `libcuda`.
//!
//! Everything here mirrors `cuda.h` (CUDA 13.0) exactly: handle types, the `CUresult` codes,
//! the enums (as integer constants, so that a value unknown to us is still representable) and
//! a table of typed function pointers. The build needs no CUDA: [`driver`] opens the driver
//! library at run time, resolves `cuGetProcAddress` with the dynamic linker and then resolves
//! every other entry point *through* the driver, asking for the ABI version our declared
//! signature matches (the version of its `PFN_..._vNNNNN` typedef in `cudaTypedefs.h`). This
//! matters because the unversioned names change meaning between CUDA releases: `cuCtxCreate`
//! asked for at CUDA 12.0 is the `_v3` variant with affinity parameters, and CUDA 13 made the
//! default `_v4` with a params struct. Each table field is named after the exported variant it
//! holds (`cuCtxCreate_v2`, `cuMemAlloc_v2`, `cuLaunchKernel`), so call sites show the ABI.

#![allow(non_camel_case_types, non_snake_case, non_upper_case_globals)]
#![warn(missing_docs)]

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

/// Declares `cuda.h` constants of one C type, each documented with its C name.
macro_rules! c_consts {
    ($ty:ty; $($name:ident = $value:expr;)*) => {$(
        #[doc = concat!("`", stringify!($name), "` from `cuda.h` (", stringify!($value), ").")]
        pub const $name: $ty = $value;
    )*};
}

// ---------------------------------------------------------------------------------------------
// Enums as integer constants
// ---------------------------------------------------------------------------------------------

/// `CUdevice_attribute`: what `cuDeviceGetAttribute` can report.
pub type CUdevice_attribute = c_int;
c_consts! {
    CUdevice_attribute;
    CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 1;
    CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X = 2;
    CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y = 3;
    CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z = 4;
    CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X = 5;
    CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y = 6;
    CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z = 7;
    CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK = 8;
    CU_DEVICE_ATTRIBUTE_SHARED_MEMORY_PER_BLOCK = 8;
    CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY = 9;
    CU_DEVICE_ATTRIBUTE_WARP_SIZE = 10;
    CU_DEVICE_ATTRIBUTE_MAX_PITCH = 11;
    CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK = 12;
    CU_DEVICE_ATTRIBUTE_REGISTERS_PER_BLOCK = 12;
    CU_DEVICE_ATTRIBUTE_CLOCK_RATE = 13;
    CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT = 14;
    CU_DEVICE_ATTRIBUTE_GPU_OVERLAP = 15;
    CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    CU_DEVICE_ATTRIBUTE_KERNEL_EXEC_TIMEOUT = 17;
    CU_DEVICE_ATTRIBUTE_INTEGRATED = 18;
    CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY = 19;
    CU_DEVICE_ATTRIBUTE_COMPUTE_MODE = 20;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_WIDTH = 21;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_WIDTH = 22;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_HEIGHT = 23;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_WIDTH = 24;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_HEIGHT = 25;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_DEPTH = 26;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LAYERED_WIDTH = 27;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LAYERED_HEIGHT = 28;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LAYERED_LAYERS = 29;
    CU_DEVICE_ATTRIBUTE_SURFACE_ALIGNMENT = 30;
    CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS = 31;
    CU_DEVICE_ATTRIBUTE_ECC_ENABLED = 32;
    CU_DEVICE_ATTRIBUTE_PCI_BUS_ID = 33;
    CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID = 34;
    CU_DEVICE_ATTRIBUTE_TCC_DRIVER = 35;
    CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE = 36;
    CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH = 37;
    CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE = 38;
    CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR = 39;
    CU_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT = 40;
    CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING = 41;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_LAYERED_WIDTH = 42;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_LAYERED_LAYERS = 43;
    CU_DEVICE_ATTRIBUTE_CAN_TEX2D_GATHER = 44;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_GATHER_WIDTH = 45;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_GATHER_HEIGHT = 46;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_WIDTH_ALTERNATE = 47;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_HEIGHT_ALTERNATE = 48;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE3D_DEPTH_ALTERNATE = 49;
    CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID = 50;
    CU_DEVICE_ATTRIBUTE_TEXTURE_PITCH_ALIGNMENT = 51;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURECUBEMAP_WIDTH = 52;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURECUBEMAP_LAYERED_WIDTH = 53;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURECUBEMAP_LAYERED_LAYERS = 54;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE1D_WIDTH = 55;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE2D_WIDTH = 56;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE2D_HEIGHT = 57;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE3D_WIDTH = 58;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE3D_HEIGHT = 59;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE3D_DEPTH = 60;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE1D_LAYERED_WIDTH = 61;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE1D_LAYERED_LAYERS = 62;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE2D_LAYERED_WIDTH = 63;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE2D_LAYERED_HEIGHT = 64;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACE2D_LAYERED_LAYERS = 65;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACECUBEMAP_WIDTH = 66;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACECUBEMAP_LAYERED_WIDTH = 67;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_SURFACECUBEMAP_LAYERED_LAYERS = 68;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_LINEAR_WIDTH = 69;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LINEAR_WIDTH = 70;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LINEAR_HEIGHT = 71;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_LINEAR_PITCH = 72;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_MIPMAPPED_WIDTH = 73;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_MIPMAPPED_HEIGHT = 74;
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE1D_MIPMAPPED_WIDTH = 77;
    CU_DEVICE_ATTRIBUTE_STREAM_PRIORITIES_SUPPORTED = 78;
    CU_DEVICE_ATTRIBUTE_GLOBAL_L1_CACHE_SUPPORTED = 79;
    CU_DEVICE_ATTRIBUTE_LOCAL_L1_CACHE_SUPPORTED = 80;
    CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR = 81;
    CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR = 82;
    CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY = 83;
    CU_DEVICE_ATTRIBUTE_MULTI_GPU_BOARD = 84;
    CU_DEVICE_ATTRIBUTE_MULTI_GPU_BOARD_GROUP_ID = 85;
    CU_DEVICE_ATTRIBUTE_HOST_NATIVE_ATOMIC_SUPPORTED = 86;
    CU_DEVICE_ATTRIBUTE_SINGLE_TO_DOUBLE_PRECISION_PERF_RATIO = 87;
    CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS = 88;
    CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS = 89;
    CU_DEVICE_ATTRIBUTE_COMPUTE_PREEMPTION_SUPPORTED = 90;
    CU_DEVICE_ATTRIBUTE_CAN_USE_HOST_POINTER_FOR_REGISTERED_MEM = 91;
    CU_DEVICE_ATTRIBUTE_CAN_USE_STREAM_MEM_OPS_V1 = 92;
    CU_DEVICE_ATTRIBUTE_CAN_USE_64_BIT_STREAM_MEM_OPS_V1 = 93;
    CU_DEVICE_ATTRIBUTE_CAN_USE_STREAM_WAIT_VALUE_NOR_V1 = 94;
    CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH = 95;
    CU_DEVICE_ATTRIBUTE_COOPERATIVE_MULTI_DEVICE_LAUNCH = 96;
    CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
    CU_DEVICE_ATTRIBUTE_CAN_FLUSH_REMOTE_WRITES = 98;
    CU_DEVICE_ATTRIBUTE_HOST_REGISTER_SUPPORTED = 99;
    CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS_USES_HOST_PAGE_TABLES = 100;
    CU_DEVICE_ATTRIBUTE_DIRECT_MANAGED_MEM_ACCESS_FROM_HOST = 101;
    CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED = 102;
    CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR_SUPPORTED = 103;
    CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_WIN32_HANDLE_SUPPORTED = 104;
    CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_WIN32_KMT_HANDLE_SUPPORTED = 105;
    CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR = 106;
    CU_DEVICE_ATTRIBUTE_GENERIC_COMPRESSION_SUPPORTED = 107;
    CU_DEVICE_ATTRIBUTE_MAX_PERSISTING_L2_CACHE_SIZE = 108;
    CU_DEVICE_ATTRIBUTE_MAX_ACCESS_POLICY_WINDOW_SIZE = 109;
    CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_WITH_CUDA_VMM_SUPPORTED = 110;
    CU_DEVICE_ATTRIBUTE_RESERVED_SHARED_MEMORY_PER_BLOCK = 111;
    CU_DEVICE_ATTRIBUTE_SPARSE_CUDA_ARRAY_SUPPORTED = 112;
    CU_DEVICE_ATTRIBUTE_READ_ONLY_HOST_REGISTER_SUPPORTED = 113;
    CU_DEVICE_ATTRIBUTE_TIMELINE_SEMAPHORE_INTEROP_SUPPORTED = 114;
    CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED = 115;
    CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_SUPPORTED = 116;
    CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_FLUSH_WRITES_OPTIONS = 117;
    CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_WRITES_ORDERING = 118;
    CU_DEVICE_ATTRIBUTE_MEMPOOL_SUPPORTED_HANDLE_TYPES = 119;
    CU_DEVICE_ATTRIBUTE_CLUSTER_LAUNCH = 120;
    CU_DEVICE_ATTRIBUTE_DEFERRED_MAPPING_CUDA_ARRAY_SUPPORTED = 121;
    CU_DEVICE_ATTRIBUTE_CAN_USE_64_BIT_STREAM_MEM_OPS = 122;
    CU_DEVICE_ATTRIBUTE_CAN_USE_STREAM_WAIT_VALUE_NOR = 123;
    CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED = 124;
    CU_DEVICE_ATTRIBUTE_IPC_EVENT_SUPPORTED = 125;
    CU_DEVICE_ATTRIBUTE_MEM_SYNC_DOMAIN_COUNT = 126;
    CU_DEVICE_ATTRIBUTE_TENSOR_MAP_ACCESS_SUPPORTED = 127;
    CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_FABRIC_SUPPORTED = 128;
    CU_DEVICE_ATTRIBUTE_UNIFIED_FUNCTION_POINTERS = 129;
    CU_DEVICE_ATTRIBUTE_NUMA_CONFIG = 130;
    CU_DEVICE_ATTRIBUTE_NUMA_ID = 131;
    CU_DEVICE_ATTRIBUTE_MULTICAST_SUPPORTED = 132;
    CU_DEVICE_ATTRIBUTE_MPS_ENABLED = 133;
    CU_DEVICE_ATTRIBUTE_HOST_NUMA_ID = 134;
    CU_DEVICE_ATTRIBUTE_D3D12_CIG_SUPPORTED = 135;
    CU_DEVICE_ATTRIBUTE_MEM_DECOMPRESS_ALGORITHM_MASK = 136;
    CU_DEVICE_ATTRIBUTE_MEM_DECOMPRESS_MAXIMUM_LENGTH = 137;
    CU_DEVICE_ATTRIBUTE_VULKAN_CIG_SUPPORTED = 138;
    CU_DEVICE_ATTRIBUTE_GPU_PCI_DEVICE_ID = 139;
    CU_DEVICE_ATTRIBUTE_GPU_PCI_SUBSYSTEM_ID = 140;
    CU_DEVICE_ATTRIBUTE_HOST_NUMA_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED = 141;
    CU_DEVICE_ATTRIBUTE_HOST_NUMA_MEMORY_POOLS_SUPPORTED = 142;
    CU_DEVICE_ATTRIBUTE_HOST_NUMA_MULTINODE_IPC_SUPPORTED = 143;
    CU_DEVICE_ATTRIBUTE_HOST_MEMORY_POOLS_SUPPORTED = 144;
    CU_DEVICE_ATTRIBUTE_HOST_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED = 145;
    CU_DEVICE_ATTRIBUTE_HOST_ALLOC_DMA_BUF_SUPPORTED = 146;
    CU_DEVICE_ATTRIBUTE_ONLY_PARTIAL_HOST_NATIVE_ATOMIC_SUPPORTED = 147;
}
/// One past the last attribute of CUDA 13.0.
pub const CU_DEVICE_ATTRIBUTE_MAX: CUdevice_attribute = 148;
// Deprecated aliases kept by `cuda.h`.
c_consts! {
    CUdevice_attribute;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_ARRAY_WIDTH = 27;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_ARRAY_HEIGHT = 28;
    CU_DEVICE_ATTRIBUTE_MAXIMUM_TEXTURE2D_ARRAY_NUMSLICES = 29;
    CU_DEVICE_ATTRIBUTE_VIRTUAL_ADDRESS_MANAGEMENT_SUPPORTED = 102;
}

/// `CUfunction_attribute`: per-kernel properties for `cuFuncGetAttribute`/`cuFuncSetAttribute`.
pub type CUfunction_attribute = c_int;
c_consts! {
    CUfunction_attribute;
    CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 0;
    CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES = 1;
    CU_FUNC_ATTRIBUTE_CONST_SIZE_BYTES = 2;
    CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES = 3;
    CU_FUNC_ATTRIBUTE_NUM_REGS = 4;
    CU_FUNC_ATTRIBUTE_PTX_VERSION = 5;
    CU_FUNC_ATTRIBUTE_BINARY_VERSION = 6;
    CU_FUNC_ATTRIBUTE_CACHE_MODE_CA = 7;
    CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
    CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT = 9;
    CU_FUNC_ATTRIBUTE_CLUSTER_SIZE_MUST_BE_SET = 10;
    CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_WIDTH = 11;
    CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_HEIGHT = 12;
    CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_DEPTH = 13;
    CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED = 14;
    CU_FUNC_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE = 15;
}
/// One past the last function attribute of CUDA 13.0.
pub const CU_FUNC_ATTRIBUTE_MAX: CUfunction_attribute = 16;

/// `CUpointer_attribute`: what `cuPointerGetAttribute(s)` can report about an address.
pub type CUpointer_attribute = c_int;
c_consts! {
    CUpointer_attribute;
    CU_POINTER_ATTRIBUTE_CONTEXT = 1;
    CU_POINTER_ATTRIBUTE_MEMORY_TYPE = 2;
    CU_POINTER_ATTRIBUTE_DEVICE_POINTER = 3;
    CU_POINTER_ATTRIBUTE_HOST_POINTER = 4;
    CU_POINTER_ATTRIBUTE_P2P_TOKENS = 5;
    CU_POINTER_ATTRIBUTE_SYNC_MEMOPS = 6;
    CU_POINTER_ATTRIBUTE_BUFFER_ID = 7;
    CU_POINTER_ATTRIBUTE_IS_MANAGED = 8;
    CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL = 9;
    CU_POINTER_ATTRIBUTE_IS_LEGACY_CUDA_IPC_CAPABLE = 10;
    CU_POINTER_ATTRIBUTE_RANGE_START_ADDR = 11;
    CU_POINTER_ATTRIBUTE_RANGE_SIZE = 12;
    CU_POINTER_ATTRIBUTE_MAPPED = 13;
    CU_POINTER_ATTRIBUTE_ALLOWED_HANDLE_TYPES = 14;
    CU_POINTER_ATTRIBUTE_IS_GPU_DIRECT_RDMA_CAPABLE = 15;
    CU_POINTER_ATTRIBUTE_ACCESS_FLAGS = 16;
    CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE = 17;
    CU_POINTER_ATTRIBUTE_MAPPING_SIZE = 18;
    CU_POINTER_ATTRIBUTE_MAPPING_BASE_ADDR = 19;
    CU_POINTER_ATTRIBUTE_MEMORY_BLOCK_ID = 20;
}

/// `CUmemorytype`: where a pointer's memory lives (`CU_POINTER_ATTRIBUTE_MEMORY_TYPE`).
pub type CUmemorytype = c_uint;
c_consts! {
    CUmemorytype;
    CU_MEMORYTYPE_HOST = 1;
    CU_MEMORYTYPE_DEVICE = 2;
    CU_MEMORYTYPE_ARRAY = 3;
    CU_MEMORYTYPE_UNIFIED = 4;
}

/// `CUctx_flags`: scheduling and mapping flags for contexts and primary contexts.
pub type CUctx_flags = c_uint;
c_consts! {
    CUctx_flags;
    CU_CTX_SCHED_AUTO = 0x00;
    CU_CTX_SCHED_SPIN = 0x01;
    CU_CTX_SCHED_YIELD = 0x02;
    CU_CTX_SCHED_BLOCKING_SYNC = 0x04;
    CU_CTX_BLOCKING_SYNC = 0x04;
    CU_CTX_SCHED_MASK = 0x07;
    CU_CTX_MAP_HOST = 0x08;
    CU_CTX_LMEM_RESIZE_TO_MAX = 0x10;
    CU_CTX_COREDUMP_ENABLE = 0x20;
    CU_CTX_USER_COREDUMP_ENABLE = 0x40;
    CU_CTX_SYNC_MEMOPS = 0x80;
    CU_CTX_FLAGS_MASK = 0xFF;
}

/// `CUstream_flags` for `cuStreamCreate`.
pub type CUstream_flags = c_uint;
c_consts! {
    CUstream_flags;
    CU_STREAM_DEFAULT = 0x0;
    CU_STREAM_NON_BLOCKING = 0x1;
}

/// `CUevent_flags` for `cuEventCreate`.
pub type CUevent_flags = c_uint;
c_consts! {
    CUevent_flags;
    CU_EVENT_DEFAULT = 0x0;
    CU_EVENT_BLOCKING_SYNC = 0x1;
    CU_EVENT_DISABLE_TIMING = 0x2;
    CU_EVENT_INTERPROCESS = 0x4;
}

/// `CUevent_wait_flags` for `cuStreamWaitEvent`.
pub type CUevent_wait_flags = c_uint;
c_consts! {
    CUevent_wait_flags;
    CU_EVENT_WAIT_DEFAULT = 0x0;
    CU_EVENT_WAIT_EXTERNAL = 0x1;
}

/// `CUevent_record_flags` for `cuEventRecordWithFlags`.
pub type CUevent_record_flags = c_uint;
c_consts! {
    CUevent_record_flags;
    CU_EVENT_RECORD_DEFAULT = 0x0;
    CU_EVENT_RECORD_EXTERNAL = 0x1;
}

/// `CUlimit`: per-context resource limits (`cuCtxGetLimit`/`cuCtxSetLimit`).
pub type CUlimit = c_int;
c_consts! {
    CUlimit;
    CU_LIMIT_STACK_SIZE = 0x00;
    CU_LIMIT_PRINTF_FIFO_SIZE = 0x01;
    CU_LIMIT_MALLOC_HEAP_SIZE = 0x02;
    CU_LIMIT_DEV_RUNTIME_SYNC_DEPTH = 0x03;
    CU_LIMIT_DEV_RUNTIME_PENDING_LAUNCH_COUNT = 0x04;
    CU_LIMIT_MAX_L2_FETCH_GRANULARITY = 0x05;
    CU_LIMIT_PERSISTING_L2_CACHE_SIZE = 0x06;
    CU_LIMIT_SHMEM_SIZE = 0x07;
    CU_LIMIT_CIG_ENABLED = 0x08;
    CU_LIMIT_CIG_SHMEM_FALLBACK_ENABLED = 0x09;
}
/// One past the last limit of CUDA 13.0.
pub const CU_LIMIT_MAX: CUlimit = 0x0a;

/// `CUfunc_cache`: L1/shared memory preference.
pub type CUfunc_cache = c_int;
c_consts! {
    CUfunc_cache;
    CU_FUNC_CACHE_PREFER_NONE = 0x00;
    CU_FUNC_CACHE_PREFER_SHARED = 0x01;
    CU_FUNC_CACHE_PREFER_L1 = 0x02;
    CU_FUNC_CACHE_PREFER_EQUAL = 0x03;
}

/// `CUshared_carveout` values for `CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT`.
pub type CUshared_carveout = c_int;
c_consts! {
    CUshared_carveout;
    CU_SHAREDMEM_CARVEOUT_DEFAULT = -1;
    CU_SHAREDMEM_CARVEOUT_MAX_SHARED = 100;
    CU_SHAREDMEM_CARVEOUT_MAX_L1 = 0;
}

c_consts! {
    c_uint;
    // Flags for `cuMemHostAlloc`.
    CU_MEMHOSTALLOC_PORTABLE = 0x01;
    CU_MEMHOSTALLOC_DEVICEMAP = 0x02;
    CU_MEMHOSTALLOC_WRITECOMBINED = 0x04;
}

c_consts! {
    c_uint;
    // Flags for `cuMemHostRegister`.
    CU_MEMHOSTREGISTER_PORTABLE = 0x01;
    CU_MEMHOSTREGISTER_DEVICEMAP = 0x02;
    CU_MEMHOSTREGISTER_IOMEMORY = 0x04;
    CU_MEMHOSTREGISTER_READ_ONLY = 0x08;
}

/// `CUmemAttach_flags` for `cuMemAllocManaged`.
pub type CUmemAttach_flags = c_uint;
c_consts! {
    CUmemAttach_flags;
    CU_MEM_ATTACH_GLOBAL = 0x1;
    CU_MEM_ATTACH_HOST = 0x2;
    CU_MEM_ATTACH_SINGLE = 0x4;
}

/// `CUdriverProcAddress_flags` for `cuGetProcAddress`.
pub type CUdriverProcAddress_flags = cuuint64_t;
c_consts! {
    CUdriverProcAddress_flags;
    CU_GET_PROC_ADDRESS_DEFAULT = 0;
    CU_GET_PROC_ADDRESS_LEGACY_STREAM = 1 << 0;
    CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM = 1 << 1;
}

/// `CUdriverProcAddressQueryResult`: why `cuGetProcAddress_v2` did or did not find a symbol.
pub type CUdriverProcAddressQueryResult = c_int;
c_consts! {
    CUdriverProcAddressQueryResult;
    CU_GET_PROC_ADDRESS_SUCCESS = 0;
    CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND = 1;
    CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT = 2;
}

/// `CUjit_option`: keys of the option arrays passed to `cuModuleLoadDataEx` and `cuLink*`.
pub type CUjit_option = c_int;
c_consts! {
    CUjit_option;
    CU_JIT_MAX_REGISTERS = 0;
    CU_JIT_THREADS_PER_BLOCK = 1;
    CU_JIT_WALL_TIME = 2;
    CU_JIT_INFO_LOG_BUFFER = 3;
    CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4;
    CU_JIT_ERROR_LOG_BUFFER = 5;
    CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
    CU_JIT_OPTIMIZATION_LEVEL = 7;
    CU_JIT_TARGET_FROM_CUCONTEXT = 8;
    CU_JIT_TARGET = 9;
    CU_JIT_FALLBACK_STRATEGY = 10;
    CU_JIT_GENERATE_DEBUG_INFO = 11;
    CU_JIT_LOG_VERBOSE = 12;
    CU_JIT_GENERATE_LINE_INFO = 13;
    CU_JIT_CACHE_MODE = 14;
    CU_JIT_NEW_SM3X_OPT = 15;
    CU_JIT_FAST_COMPILE = 16;
    CU_JIT_GLOBAL_SYMBOL_NAMES = 17;
    CU_JIT_GLOBAL_SYMBOL_ADDRESSES = 18;
    CU_JIT_GLOBAL_SYMBOL_COUNT = 19;
    CU_JIT_LTO = 20;
    CU_JIT_FTZ = 21;
    CU_JIT_PREC_DIV = 22;
    CU_JIT_PREC_SQRT = 23;
    CU_JIT_FMA = 24;
    CU_JIT_REFERENCED_KERNEL_NAMES = 25;
    CU_JIT_REFERENCED_KERNEL_COUNT = 26;
    CU_JIT_REFERENCED_VARIABLE_NAMES = 27;
    CU_JIT_REFERENCED_VARIABLE_COUNT = 28;
    CU_JIT_OPTIMIZE_UNUSED_DEVICE_VARIABLES = 29;
    CU_JIT_POSITION_INDEPENDENT_CODE = 30;
    CU_JIT_MIN_CTA_PER_SM = 31;
    CU_JIT_MAX_THREADS_PER_BLOCK = 32;
    CU_JIT_OVERRIDE_DIRECTIVE_VALUES = 33;
    CU_JIT_SPLIT_COMPILE = 34;
}
/// One past the last JIT option of CUDA 13.0.
pub const CU_JIT_NUM_OPTIONS: CUjit_option = 35;

/// `CUjit_target`: value of `CU_JIT_TARGET` (compute capability `major * 10 + minor`, plus
/// a base for the architecture-specific `a` and family `f` variants).
pub type CUjit_target = c_int;
c_consts! {
    CUjit_target;
    CU_COMPUTE_ACCELERATED_TARGET_BASE = 0x10000;
    CU_COMPUTE_FAMILY_TARGET_BASE = 0x20000;
    CU_TARGET_COMPUTE_30 = 30;
    CU_TARGET_COMPUTE_32 = 32;
    CU_TARGET_COMPUTE_35 = 35;
    CU_TARGET_COMPUTE_37 = 37;
    CU_TARGET_COMPUTE_50 = 50;
    CU_TARGET_COMPUTE_52 = 52;
    CU_TARGET_COMPUTE_53 = 53;
    CU_TARGET_COMPUTE_60 = 60;
    CU_TARGET_COMPUTE_61 = 61;
    CU_TARGET_COMPUTE_62 = 62;
    CU_TARGET_COMPUTE_70 = 70;
    CU_TARGET_COMPUTE_72 = 72;
    CU_TARGET_COMPUTE_75 = 75;
    CU_TARGET_COMPUTE_80 = 80;
    CU_TARGET_COMPUTE_86 = 86;
    CU_TARGET_COMPUTE_87 = 87;
    CU_TARGET_COMPUTE_89 = 89;
    CU_TARGET_COMPUTE_90 = 90;
    CU_TARGET_COMPUTE_100 = 100;
    CU_TARGET_COMPUTE_110 = 110;
    CU_TARGET_COMPUTE_103 = 103;
    CU_TARGET_COMPUTE_120 = 120;
    CU_TARGET_COMPUTE_121 = 121;
    CU_TARGET_COMPUTE_90A = CU_COMPUTE_ACCELERATED_TARGET_BASE + 90;
    CU_TARGET_COMPUTE_100A = CU_COMPUTE_ACCELERATED_TARGET_BASE + 100;
    CU_TARGET_COMPUTE_110A = CU_COMPUTE_ACCELERATED_TARGET_BASE + 110;
    CU_TARGET_COMPUTE_103A = CU_COMPUTE_ACCELERATED_TARGET_BASE + 103;
    CU_TARGET_COMPUTE_120A = CU_COMPUTE_ACCELERATED_TARGET_BASE + 120;
    CU_TARGET_COMPUTE_121A = CU_COMPUTE_ACCELERATED_TARGET_BASE + 121;
    CU_TARGET_COMPUTE_100F = CU_COMPUTE_FAMILY_TARGET_BASE + 100;
    CU_TARGET_COMPUTE_110F = CU_COMPUTE_FAMILY_TARGET_BASE + 110;
    CU_TARGET_COMPUTE_103F = CU_COMPUTE_FAMILY_TARGET_BASE + 103;
    CU_TARGET_COMPUTE_120F = CU_COMPUTE_FAMILY_TARGET_BASE + 120;
    CU_TARGET_COMPUTE_121F = CU_COMPUTE_FAMILY_TARGET_BASE + 121;
}

/// `CUjit_fallback`: value of `CU_JIT_FALLBACK_STRATEGY`.
pub type CUjit_fallback = c_int;
c_consts! {
    CUjit_fallback;
    CU_PREFER_PTX = 0;
    CU_PREFER_BINARY = 1;
}

/// `CUjit_cacheMode`: value of `CU_JIT_CACHE_MODE`.
pub type CUjit_cacheMode = c_int;
c_consts! {
    CUjit_cacheMode;
    CU_JIT_CACHE_OPTION_NONE = 0;
    CU_JIT_CACHE_OPTION_CG = 1;
    CU_JIT_CACHE_OPTION_CA = 2;
}

/// `CUjitInputType`: what `cuLinkAddData` is given.
pub type CUjitInputType = c_int;
c_consts! {
    CUjitInputType;
    CU_JIT_INPUT_CUBIN = 0;
    CU_JIT_INPUT_PTX = 1;
    CU_JIT_INPUT_FATBINARY = 2;
    CU_JIT_INPUT_OBJECT = 3;
    CU_JIT_INPUT_LIBRARY = 4;
}
/// Deprecated in CUDA 12.0 (high-level NVVM IR is rejected by current drivers).
pub const CU_JIT_INPUT_NVVM: CUjitInputType = 5;
c_consts! {
    CUjitInputType;
    CU_JIT_NUM_INPUT_TYPES = 6;
}

/// Ends the `extra` argument of `cuLaunchKernel` (markers are pointer-valued in C).
pub const CU_LAUNCH_PARAM_END: *mut c_void = ptr::null_mut();
/// Precedes a pointer to the packed-parameter buffer in `extra`.
#[allow(clippy::manual_dangling_ptr)] // the C value is the integer 1, not "dangling"
pub const CU_LAUNCH_PARAM_BUFFER_POINTER: *mut c_void = 0x01 as *mut c_void;
/// Precedes a pointer to the size of the packed-parameter buffer in `extra`.
pub const CU_LAUNCH_PARAM_BUFFER_SIZE: *mut c_void = 0x02 as *mut c_void;

c_consts! {
    CUdevice;
    // Special device ordinals.
    CU_DEVICE_CPU = -1;
    CU_DEVICE_INVALID = -2;
}

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
        cuDeviceGetPCIBusId @ 4010 : fn(pci_bus_id: *mut c_char, len: c_int, dev: CUdevice);
        cuDeviceCanAccessPeer @ 4000 : fn(can_access_peer: *mut c_int, dev: CUdevice, peer_dev: CUdevice);
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
        cuCtxEnablePeerAccess @ 4000 : fn(peer_context: CUcontext, flags: c_uint);
        cuCtxDisablePeerAccess @ 4000 : fn(peer_context: CUcontext);
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
        cuFuncGetModule @ 11000 : fn(hmod: *mut CUmodule, hfunc: CUfunction);
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
        cuMemAllocManaged @ 6000 : fn(dptr: *mut CUdeviceptr, bytesize: usize, flags: c_uint);
        cuMemGetAddressRange_v2 @ 3020 : fn(
            pbase: *mut CUdeviceptr,
            psize: *mut usize,
            dptr: CUdeviceptr,
        );
        cuMemcpyPeer @ 4000 : fn(
            dst_device: CUdeviceptr,
            dst_context: CUcontext,
            src_device: CUdeviceptr,
            src_context: CUcontext,
            byte_count: usize,
        );
        cuMemcpyPeerAsync @ 4000 : fn(
            dst_device: CUdeviceptr,
            dst_context: CUcontext,
            src_device: CUdeviceptr,
            src_context: CUcontext,
            byte_count: usize,
            stream: CUstream,
        );
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
        cuEventRecordWithFlags @ 11010 : fn(hevent: CUevent, hstream: CUstream, flags: c_uint);
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
        cuLaunchCooperativeKernel @ 9000 : fn(
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
        );
        cuOccupancyMaxActiveBlocksPerMultiprocessor @ 6050 : fn(
            num_blocks: *mut c_int,
            func: CUfunction,
            block_size: c_int,
            dynamic_smem_size: usize,
        );
    }
    optional {
        cuCtxSetFlags @ 12010 : fn(flags: c_uint);
        cuModuleGetFunctionCount @ 12040 : fn(count: *mut c_uint, hmod: CUmodule);
        cuModuleEnumerateFunctions @ 12040 : fn(
            functions: *mut CUfunction,
            num_functions: c_uint,
            hmod: CUmodule,
        );
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

    /// A fake libcuda built for one test, deleted (with its directory) when dropped; the
    /// loaded copy stays valid after the file is gone.
    #[cfg(target_os = "linux")]
    struct FakeLib {
        dir: std::path::PathBuf,
        path: std::path::PathBuf,
    }

    #[cfg(target_os = "linux")]
    impl Drop for FakeLib {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// Builds `tests/fake_libcuda/fake_libcuda.c` with `defines`; `None` (test skipped) when no
    /// C compiler is available.
    #[cfg(target_os = "linux")]
    fn fake_libcuda(variant: &str, defines: &[&str]) -> Option<FakeLib> {
        let src = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fake_libcuda/fake_libcuda.c"
        );
        let dir = std::env::temp_dir().join(format!(
            "ferrocuda-fake-libcuda-{}-{variant}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let lib = FakeLib {
            path: dir.join("libcuda.so"),
            dir,
        };
        let status = std::process::Command::new("cc")
            .args(["-shared", "-fPIC", "-o"])
            .arg(&lib.path)
            .args(defines.iter().map(|d| format!("-D{d}")))
            .arg(src)
            .status();
        match status {
            Ok(s) if s.success() => Some(lib),
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
            Driver::load_from(&[lib.path.clone().into()]).unwrap_err(),
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
            Driver::load_from(&[lib.path.clone().into()]).unwrap_err(),
            LoadError::SymbolNotFound {
                symbol: "cuInit".into(),
                version: 2000
            }
        );
        let Some(lib) = fake_libcuda("noproc", &["FAKE_VERSION=12000"]) else {
            return;
        };
        assert_eq!(
            Driver::load_from(&[lib.path.clone().into()]).unwrap_err(),
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
            let d = Driver::load_from(&[lib.path.clone().into()]).unwrap();
            assert_eq!(d.version(), 12020);
            assert!(d.cuFuncGetParamInfo.is_none());
            assert!(d.cuFuncGetName.is_none());
            assert!(d.cuLinkCreate_v2.is_some());
            let expected: Vec<(String, i32)> = SYMBOLS
                .iter()
                .map(|(name, version, _)| (lookup_name(name).to_owned(), *version))
                .collect();
            assert_eq!(fake_requests(&lib.path), expected, "{variant}");
            assert_eq!(
                d.entry_points()
                    .iter()
                    .filter(|(_, address)| address.is_none())
                    .count(),
                4
            );
            assert!(d.cuCtxSetFlags.is_some());
            assert!(d.cuModuleGetFunctionCount.is_none());
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
