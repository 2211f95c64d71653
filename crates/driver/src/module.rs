//! Modules (loaded PTX, cubin or fatbin images), their kernels, globals and launches.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::context::Context;
use crate::error::{Error, ErrorCode, Result};
use crate::launch::{
    check_config, pack_args, param_bytes, DeviceRepr, Dim3, LaunchConfig, PackedArgs,
};
use crate::memory::DevicePtr;
use crate::platform::{FunctionBackend, ModuleBackend};
use crate::stream::Stream;

pub use ferrocuda_ptx::ir::{KernelSignature, ParamLayout};

use ferrocuda_ptx::container::{Image, ImageKind};

/// Options for the JIT that turns PTX into machine code (`CUjit_option`). The CPU device
/// accepts and ignores them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JitOptions {
    /// Cap on registers per thread (`CU_JIT_MAX_REGISTERS`).
    pub max_registers: Option<u32>,
    /// Compile for at least this many threads per block (`CU_JIT_THREADS_PER_BLOCK`).
    pub threads_per_block: Option<u32>,
    /// 0–4 (`CU_JIT_OPTIMIZATION_LEVEL`; 4 is the default).
    pub optimization_level: Option<u32>,
    /// Device debug information (`CU_JIT_GENERATE_DEBUG_INFO`).
    pub generate_debug_info: bool,
    /// Line-number information (`CU_JIT_GENERATE_LINE_INFO`).
    pub generate_line_info: bool,
    /// Verbose JIT log (`CU_JIT_LOG_VERBOSE`).
    pub log_verbose: bool,
}

/// The container format of a module image (`ptx::container`'s detection), or
/// `CUDA_ERROR_INVALID_IMAGE` for bytes that are none of PTX, cubin, fatbin or a host ELF
/// embedding fatbins.
pub(crate) fn detect_image(image: &[u8]) -> Result<ImageKind> {
    Image::detect(image).map_err(|e| Error::new(ErrorCode::InvalidImage, e.to_string()))
}

/// A container error as the driver reports it: code missing for the device is
/// `CUDA_ERROR_NO_BINARY_FOR_GPU`, valid but unsupported layouts `CUDA_ERROR_NOT_SUPPORTED`,
/// anything malformed `CUDA_ERROR_INVALID_IMAGE`.
pub(crate) fn container_error(e: ferrocuda_ptx::container::Error) -> Error {
    use ferrocuda_ptx::container::Error as C;
    match e {
        C::NoPtx { .. } | C::NoCompatiblePtx { .. } => Error::new(
            ErrorCode::NoBinaryForGpu,
            format!(
                "{e}: load the PTX, or a fatbin that embeds PTX \
                 (nvcc -gencode arch=compute_XX,code=compute_XX)"
            ),
        ),
        C::NotUtf8 { .. } => Error::new(ErrorCode::InvalidPtx, e.to_string()),
        C::Unsupported(_) | C::MultipleModules { .. } => {
            Error::new(ErrorCode::NotSupported, e.to_string())
        }
        other => Error::new(ErrorCode::InvalidImage, other.to_string()),
    }
}

/// What a GPU driver loads for `image`: host executables and objects give their embedded
/// fatbin (`ptx::container::native_image`); everything else is passed on as it is.
pub(crate) fn native_image(image: &[u8]) -> Result<&[u8]> {
    if Image::detect(image).ok() != Some(ImageKind::HostElf) {
        return Ok(image);
    }
    ferrocuda_ptx::container::native_image(image).map_err(container_error)
}

/// The PTX text of an image, when it is PTX.
pub(crate) fn image_ptx(image: &[u8]) -> Option<String> {
    if Image::detect(image).ok()? != ImageKind::Ptx {
        return None; // not worth parsing (and decompressing) a binary container
    }
    match Image::parse(image) {
        Ok(Image::Ptx(text)) => Some(text.to_owned()),
        _ => None,
    }
}

impl Context {
    /// Loads a module from an image in memory: PTX text, a cubin or a fatbin, told apart by
    /// content (`cuModuleLoadDataEx`). JIT errors carry the JIT's log.
    pub fn load_module_data(&self, image: &[u8], opts: &JitOptions) -> Result<Module> {
        detect_image(image)?;
        let backend = self.backend().load_module(image, opts)?;
        Ok(Module {
            inner: Arc::new(ModuleInner {
                ctx: self.clone(),
                backend,
            }),
        })
    }

    /// Loads a module from a file (`cuModuleLoad`); `CUDA_ERROR_FILE_NOT_FOUND` when the
    /// file cannot be read.
    pub fn load_module_file(&self, path: impl AsRef<Path>, opts: &JitOptions) -> Result<Module> {
        let path = path.as_ref();
        let image = std::fs::read(path).map_err(|e| {
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                ErrorCode::FileNotFound
            } else {
                ErrorCode::OperatingSystem
            };
            Error::new(code, format!("{}: {e}", path.display()))
        })?;
        self.load_module_data(&image, opts)
            .map_err(|e| e.context(path.display()))
    }

    /// Loads PTX text with default JIT options.
    pub fn load_ptx(&self, ptx: &str) -> Result<Module> {
        if ptx.is_empty() {
            return Err(Error::new(ErrorCode::InvalidPtx, "empty PTX text"));
        }
        self.load_module_data(ptx.as_bytes(), &JitOptions::default())
    }
}

/// A loaded module (`CUmodule`), unloaded when the last handle and the last [`Function`]
/// from it are dropped. Holds its context alive. `Send + Sync`.
#[derive(Clone)]
pub struct Module {
    inner: Arc<ModuleInner>,
}

struct ModuleInner {
    backend: Box<dyn ModuleBackend>,
    /// Declared last: fields drop in order, and the context must outlive the handles above.
    ctx: Context,
}

impl Module {
    /// The kernel named `name` (`cuModuleGetFunction`); `CUDA_ERROR_NOT_FOUND` when absent.
    pub fn function(&self, name: &str) -> Result<Function> {
        let backend = self.inner.backend.function(name)?;
        let layout = backend.param_layout().map(Arc::new);
        let param_bytes = layout.as_deref().map_or(0, param_bytes);
        Ok(Function {
            module: self.clone(),
            name: Arc::from(name),
            backend,
            layout,
            param_bytes,
        })
    }

    /// Address and size in bytes of the module-scope variable `name` (`cuModuleGetGlobal`).
    pub fn global(&self, name: &str) -> Result<(DevicePtr, u64)> {
        let (addr, bytes) = self.inner.backend.global(name)?;
        Ok((DevicePtr::from_raw(addr), bytes))
    }

    /// Copies `src` into the start of the variable `name` (`cudaMemcpyToSymbol`);
    /// `CUDA_ERROR_INVALID_VALUE` when it does not fit.
    pub fn copy_to_global<T: bytemuck::Pod>(&self, name: &str, src: &[T]) -> Result<()> {
        let (addr, bytes) = self.global_span(name, std::mem::size_of_val(src))?;
        if bytes == 0 {
            return Ok(());
        }
        self.inner
            .ctx
            .backend()
            .memcpy_htod(addr, bytemuck::cast_slice(src))
    }

    /// Copies the start of the variable `name` into `dst` (`cudaMemcpyFromSymbol`);
    /// `CUDA_ERROR_INVALID_VALUE` when `dst` is larger than the variable.
    pub fn copy_from_global<T: bytemuck::Pod>(&self, name: &str, dst: &mut [T]) -> Result<()> {
        let (addr, bytes) = self.global_span(name, std::mem::size_of_val(dst))?;
        if bytes == 0 {
            return Ok(());
        }
        self.inner
            .ctx
            .backend()
            .memcpy_dtoh(bytemuck::cast_slice_mut(dst), addr)
    }

    fn global_span(&self, name: &str, want: usize) -> Result<(u64, usize)> {
        let (addr, size) = self.inner.backend.global(name)?;
        if want as u64 > size {
            return Err(Error::invalid_value(format!(
                "global `{name}` has {size} bytes, {want} requested"
            )));
        }
        Ok((addr, want))
    }

    /// The context the module is loaded in.
    pub fn context(&self) -> &Context {
        &self.inner.ctx
    }
}

impl fmt::Debug for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Module")
            .field("context", &self.inner.ctx)
            .finish()
    }
}

/// Kernel attributes (`CUfunction_attribute`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
#[non_exhaustive]
pub enum FunctionAttribute {
    /// Largest block this kernel can be launched with (registers and `.maxntid` permitting).
    MaxThreadsPerBlock = 0,
    /// Static shared memory per block, bytes.
    SharedSizeBytes = 1,
    /// User constant memory, bytes.
    ConstSizeBytes = 2,
    /// Local memory per thread, bytes.
    LocalSizeBytes = 3,
    /// Registers per thread.
    NumRegs = 4,
    /// Virtual architecture the PTX targets (`.target sm_80` → 80).
    PtxVersion = 5,
    /// Architecture of the binary, `major * 10 + minor`.
    BinaryVersion = 6,
    /// Whether the kernel was compiled with `-Xptxas --dlcm=ca`.
    CacheModeCa = 7,
    /// Largest dynamic shared memory a launch may ask for (settable: the opt-in).
    MaxDynamicSharedSizeBytes = 8,
    /// Preferred shared memory carveout, percent (settable).
    PreferredSharedMemoryCarveout = 9,
}

impl FunctionAttribute {
    /// The raw `CUfunction_attribute` number.
    pub fn as_raw(self) -> i32 {
        self as i32
    }
}

/// A kernel of a loaded module (`CUfunction`). Cheap to clone; holds its module alive.
/// `Send + Sync`.
#[derive(Clone)]
pub struct Function {
    name: Arc<str>,
    backend: Arc<dyn FunctionBackend>,
    layout: Option<Arc<KernelSignature>>,
    /// The bytes of the layout's `.param` space, worked out once.
    param_bytes: usize,
    /// Declared last: fields drop in order, and the module (with its context) must outlive
    /// the handles above.
    module: Module,
}

impl Function {
    /// The kernel's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The module it belongs to.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// The parameter layout launches are checked against, when known (always on the CPU
    /// device; on NVIDIA from `cuFuncGetParamInfo` on CUDA 12.4+, or from the PTX loaded).
    pub fn signature(&self) -> Option<&KernelSignature> {
        self.layout.as_deref()
    }

    /// One attribute (`cuFuncGetAttribute`).
    pub fn attribute(&self, attr: FunctionAttribute) -> Result<i32> {
        self.backend.attribute(attr)
    }

    /// Sets an attribute (`cuFuncSetAttribute`): `MaxDynamicSharedSizeBytes` (to opt in to
    /// more than 48 KiB of dynamic shared memory) or `PreferredSharedMemoryCarveout`.
    pub fn set_attribute(&self, attr: FunctionAttribute, value: i32) -> Result<()> {
        self.backend.set_attribute(attr, value)
    }

    /// Launches the kernel on `stream` (`cuLaunchKernel`).
    ///
    /// Arguments are checked against the kernel's parameter layout where known: a wrong
    /// count or a wrong size is `CUDA_ERROR_INVALID_VALUE` naming the parameter. Zero or
    /// oversized dimensions are `CUDA_ERROR_INVALID_VALUE`; too much shared memory too.
    pub fn launch(
        &self,
        grid: impl Into<Dim3>,
        block: impl Into<Dim3>,
        shared_bytes: u32,
        stream: &Stream,
        args: &[&dyn DeviceRepr],
    ) -> Result<()> {
        let cfg = LaunchConfig {
            grid: grid.into(),
            block: block.into(),
            shared_bytes,
        };
        self.launch_with(&cfg, stream, args)
    }

    /// [`Function::launch`] with a [`LaunchConfig`].
    pub fn launch_with(
        &self,
        cfg: &LaunchConfig,
        stream: &Stream,
        args: &[&dyn DeviceRepr],
    ) -> Result<()> {
        let ctx = self.module.context();
        ctx.check_same(stream.context(), "launch")?;
        check_config(&self.name, cfg, &ctx.device().launch_limits()?)?;
        let mut packed = PackedArgs::new();
        let layout = self.layout.as_deref().map(|l| (l, self.param_bytes));
        pack_args(&self.name, layout, args, &mut packed)?;
        stream.backend().launch(self.backend.as_ref(), cfg, &packed)
    }

    /// A builder for a launch on `stream`, collecting arguments one by one.
    pub fn builder<'a>(&'a self, stream: &'a Stream) -> LaunchBuilder<'a> {
        LaunchBuilder {
            func: self,
            stream,
            cfg: LaunchConfig {
                grid: Dim3::from(1),
                block: Dim3::from(1),
                shared_bytes: 0,
            },
            args: Vec::new(),
        }
    }
}

impl fmt::Debug for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Function")
            .field("name", &self.name)
            .field("signature", &self.layout)
            .finish()
    }
}

/// Builds one launch: `f.builder(&stream).grid(4).block(256).arg(&buf).arg(&n).launch()`.
pub struct LaunchBuilder<'a> {
    func: &'a Function,
    stream: &'a Stream,
    cfg: LaunchConfig,
    args: Vec<&'a dyn DeviceRepr>,
}

impl<'a> LaunchBuilder<'a> {
    /// Grid dimensions (default 1).
    pub fn grid(mut self, grid: impl Into<Dim3>) -> Self {
        self.cfg.grid = grid.into();
        self
    }

    /// Block dimensions (default 1).
    pub fn block(mut self, block: impl Into<Dim3>) -> Self {
        self.cfg.block = block.into();
        self
    }

    /// Dynamic shared memory per block in bytes (default 0).
    pub fn shared_bytes(mut self, bytes: u32) -> Self {
        self.cfg.shared_bytes = bytes;
        self
    }

    /// Grid, block and shared memory at once.
    pub fn config(mut self, cfg: LaunchConfig) -> Self {
        self.cfg = cfg;
        self
    }

    /// Appends an argument.
    pub fn arg(mut self, arg: &'a dyn DeviceRepr) -> Self {
        self.args.push(arg);
        self
    }

    /// Launches with the collected configuration and arguments.
    pub fn launch(self) -> Result<()> {
        self.func.launch_with(&self.cfg, self.stream, &self.args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_image_kinds() {
        let ptx = b".version 8.0\n.target sm_80\n.address_size 64\n";
        assert_eq!(detect_image(ptx).unwrap(), ImageKind::Ptx);
        assert_eq!(
            image_ptx(ptx).as_deref(),
            Some(std::str::from_utf8(ptx).unwrap())
        );
        let mut fatbin = vec![0x50, 0xED, 0x55, 0xBA, 1, 0, 0x10, 0];
        fatbin.resize(16, 0);
        assert_eq!(detect_image(&fatbin).unwrap(), ImageKind::Fatbin);
        assert_eq!(image_ptx(&fatbin), None);
        for bad in [&b""[..], &[0xff, 0xfe, 0x00, 0x01], b"\x7fELF\x02\x01\x01"] {
            assert_eq!(
                detect_image(bad).unwrap_err().code(),
                ErrorCode::InvalidImage,
                "{bad:?}"
            );
        }
    }
}
