//! The device, loaded modules and kernels: the public face of the executor.

use crate::compilation::{default_compilation, BlockPath, Compilation, Tiering};
use crate::exec::Launch;
use crate::heap::{DeviceHeap, DEFAULT_HEAP_BYTES};
use crate::lower::{self, Layout, Program, FUNC_WINDOW, SHARED_WINDOW};
use crate::memory::{configured_total, Memory};
use crate::{DeviceProperties, Error};
use ferrocuda_ptx::ir::{self, StateSpace};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The CPU device: a worker pool that runs kernel grids, and the device memory they use.
///
/// One per process is enough; it is `Send + Sync` and meant to be shared behind an `Arc`.
pub struct Device {
    props: DeviceProperties,
    memory: Memory,
    pool: rayon::ThreadPool,
    grids: AtomicU64,
    /// Run the x86-64-v3 build of the executor (see `exec::simd`).
    vector_isa: bool,
    /// When kernels are compiled to machine code (see `compilation`); `None` follows the
    /// process-wide default.
    compilation: Option<Compilation>,
    /// Kernels' `malloc`/`free` blocks.
    heap: DeviceHeap,
    /// Kernels' output kept for [`Device::take_output`], or `None`: written to the process's
    /// standard output and error.
    captured: Mutex<Option<KernelOutput>>,
}

/// The default size of a CUDA context's printf FIFO (`cudaLimitPrintfFifoSize`).
pub const PRINTF_FIFO_BYTES: usize = 1 << 20;

/// The least call stack each thread may grow to (`cudaLimitStackSize` on this device): the
/// executor grows stacks on demand, up to the larger of this and the context's limit.
pub const STACK_BYTES: usize = 1 << 20;

/// What a context sets aside for its kernels (its `CUlimit`s), for [`Device::launch_in`].
#[derive(Debug, Clone, Copy)]
pub struct LaunchResources<'a> {
    /// The heap of `malloc`/`free`.
    pub heap: &'a DeviceHeap,
    /// Bytes of `printf` output one launch may print.
    pub printf_fifo: usize,
    /// Bytes each thread's call stack may grow to (at least [`STACK_BYTES`]).
    pub stack: usize,
}

/// What kernels printed with `printf` (standard output) and the messages of their failed
/// assertions (standard error), launch by launch, each launch's in block order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelOutput {
    /// `printf` output.
    pub stdout: Vec<u8>,
    /// Failed assertions, one line per thread, as a GPU prints them.
    pub stderr: Vec<u8>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("workers", &self.pool.current_num_threads())
            .finish()
    }
}

impl Default for Device {
    fn default() -> Self {
        Device::new()
    }
}

/// Launch shape of a kernel, as `cuLaunchKernel` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaunchConfig {
    /// Blocks in x, y, z.
    pub grid: [u32; 3],
    /// Threads per block in x, y, z.
    pub block: [u32; 3],
    /// Bytes of dynamic shared memory per block.
    pub dynamic_shared: u32,
}

/// Per-kernel attributes, as `cuFuncGetAttribute` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KernelAttributes {
    /// 32-bit registers per thread (declared registers, 64-bit ones counting twice).
    pub num_regs: u32,
    /// Static shared memory bytes per block.
    pub shared_size_bytes: u32,
    /// Local memory bytes per thread (the kernel's `.local` frame and its callees').
    pub local_size_bytes: u32,
    /// Bytes of `.const` variables in the module.
    pub const_size_bytes: u32,
    /// Largest block size the kernel can be launched with (`.maxntid`/`.reqntid`, else 1024).
    pub max_threads_per_block: u32,
    /// Bytes of the kernel's parameter buffer.
    pub param_bytes: u32,
    /// `.reqntid` when the kernel requires an exact block shape.
    pub required_block: Option<[u32; 3]>,
    /// PTX ISA version of the module, as major*10+minor.
    pub ptx_version: u32,
    /// Target architecture the executor reports (90).
    pub binary_version: u32,
}

/// A module loaded onto the device: its lowered code and its `.global`/`.const` variables.
///
/// Dropping it frees the variables' device memory.
pub struct LoadedModule {
    memory: Memory,
    globals: Vec<(String, u64, u64)>,
    kernels: Vec<Kernel>,
}

impl std::fmt::Debug for LoadedModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModule")
            .field("globals", &self.globals)
            .field(
                "kernels",
                &self.kernels.iter().map(|k| k.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

pub(crate) struct KernelInner {
    pub(crate) prog: Arc<Program>,
    pub(crate) fid: u32,
    /// The compiled kernel once compiled, or why the compiler does not cover it.
    pub(crate) compiled: std::sync::OnceLock<Result<crate::jit::JitKernel, String>>,
    /// Where it stands under tiered compilation.
    tiering: Tiering,
    pub(crate) name: String,
    pub(crate) signature: ir::KernelSignature,
    pub(crate) attrs: KernelAttributes,
}

/// A kernel of a loaded module; cheap to clone.
#[derive(Clone)]
pub struct Kernel {
    pub(crate) inner: Arc<KernelInner>,
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("name", &self.name())
            .finish()
    }
}

impl Kernel {
    /// The kernel's (mangled) name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The parameter layout launches are checked against.
    pub fn signature(&self) -> &ir::KernelSignature {
        &self.inner.signature
    }

    /// Registers, shared/local/const sizes and block-size limits of the kernel.
    pub fn attributes(&self) -> KernelAttributes {
        self.inner.attrs
    }

    /// Why launches of this kernel run in the interpreter rather than as compiled machine
    /// code (a warp-wide instruction, a call, …), or `None` when the compiler covers it. This
    /// compiles the kernel if it is not yet, so that from then on launches on a device that
    /// compiles kernels at all ([`Device::set_compilation`]) run the compiled code.
    pub fn interpreted_because(&self) -> Option<String> {
        if !crate::jit::available() {
            return Some("this host has no kernel compiler".into());
        }
        if let Some(r) = crate::jit::unsupported_reason(&self.inner.prog, self.inner.fid) {
            return Some(r);
        }
        if self.compiled().is_some() {
            return None;
        }
        match self.inner.compiled.get() {
            Some(Err(why)) => Some(why.clone()),
            _ => Some("the kernel compiler failed".into()),
        }
    }

    /// Whether compiled code for the kernel exists now (launches on a device that compiles
    /// kernels run it).
    pub fn is_compiled(&self) -> bool {
        self.ready().is_some()
    }

    /// Whether the compiled code also runs four threads at a time with vector instructions
    /// (kernels without calls, in blocks whose x size is a multiple of four).
    pub fn is_vectorized(&self) -> bool {
        self.ready().is_some_and(|k| k.quads.is_some())
    }

    /// The compiled kernel if it is compiled, without waiting for a compilation under way.
    fn ready(&self) -> Option<&crate::jit::JitKernel> {
        self.inner.compiled.get().and_then(|c| c.as_ref().ok())
    }

    /// What tiered compilation measured: whether the compiled code ran this kernel's blocks
    /// at a lower cost per thread than the interpreter (from then on launches on a tiering
    /// device run the faster), or `None` before both were measured.
    pub fn compiled_is_faster(&self) -> Option<bool> {
        self.inner.tiering.choice()
    }

    /// Counts an interpreted launch's time; once the kernel is hot, queues it for the
    /// background compiler.
    fn interpreted_for(&self, t: std::time::Duration) {
        if self.inner.tiering.interpreted_for(t) {
            self.request_compilation();
        }
    }

    /// Queues the kernel for the background compiler, once, where the compiler covers it.
    fn request_compilation(&self) {
        if self.inner.compiled.get().is_some()
            || !self.inner.tiering.request()
            || crate::jit::unsupported_reason(&self.inner.prog, self.inner.fid).is_some()
        {
            return;
        }
        crate::compilation::compile_in_background(self.clone());
    }

    /// Where the next block of a tiering launch (under way since `started`) runs: the
    /// compiled kernel, or `None` for the interpreter; and whether it is timed for the
    /// comparison of the two. A launch long enough to make the kernel hot queues it here, so
    /// that one long launch tiers up too.
    pub(crate) fn block_path(
        &self,
        started: std::time::Instant,
    ) -> (Option<&crate::jit::JitKernel>, bool) {
        let t = &self.inner.tiering;
        match self.inner.compiled.get() {
            None => {
                if !t.requested() && t.hot_since(started) {
                    self.request_compilation();
                }
                (None, false)
            }
            Some(Err(_)) => (None, false),
            Some(Ok(k)) => match t.path() {
                BlockPath::Compiled => (Some(k), false),
                BlockPath::Interpreter => (None, false),
                BlockPath::Trial(true) => (Some(k), true),
                BlockPath::Trial(false) => (None, true),
            },
        }
    }

    /// Records a block timed for the comparison.
    pub(crate) fn record_trial(&self, compiled: bool, t: std::time::Duration, threads: u64) {
        self.inner.tiering.trial(compiled, t, threads);
    }

    /// The compiled kernel, compiled at the first call (or waiting for a compilation under
    /// way).
    pub(crate) fn compiled(&self) -> Option<&crate::jit::JitKernel> {
        self.inner
            .compiled
            .get_or_init(|| {
                let (prog, fid) = (&self.inner.prog, self.inner.fid);
                let bytes = self.inner.attrs.param_bytes;
                // A compiler failure, even a panic, leaves the kernel to the interpreter.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    crate::jit::compile(prog, fid, bytes)
                }))
                .unwrap_or_else(|_| Err("the kernel compiler failed".into()))
            })
            .as_ref()
            .ok()
    }
}

impl LoadedModule {
    /// The kernel named `name`.
    pub fn kernel(&self, name: &str) -> Option<Kernel> {
        self.kernels.iter().find(|k| k.name() == name).cloned()
    }

    /// Names of every kernel in the module, in source order.
    pub fn kernel_names(&self) -> impl Iterator<Item = &str> {
        self.kernels.iter().map(|k| k.name())
    }

    /// `(device address, bytes)` of the module-scope `.global` or `.const` variable `name`.
    pub fn global(&self, name: &str) -> Option<(u64, u64)> {
        self.globals
            .iter()
            .find(|g| g.0 == name)
            .map(|g| (g.1, g.2))
    }
}

impl Drop for LoadedModule {
    fn drop(&mut self) {
        for g in &self.globals {
            let _ = self.memory.free(g.1);
        }
    }
}

impl Device {
    /// A device with one worker per available core and the configured memory size.
    pub fn new() -> Device {
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Device::with_workers(workers)
    }

    /// A device with `workers` worker threads (at least one).
    pub fn with_workers(workers: usize) -> Device {
        let workers = workers.max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(|i| format!("ferrocuda-cpu-{i}"))
            .build()
            .or_else(|_| rayon::ThreadPoolBuilder::new().num_threads(1).build())
            .expect("a one-thread pool can always be built");
        let total = configured_total();
        Device {
            props: DeviceProperties::new(workers as u32, total),
            memory: Memory::with_capacity(total),
            pool,
            grids: AtomicU64::new(1),
            vector_isa: crate::exec::vector_isa_available(),
            compilation: None,
            heap: DeviceHeap::new(DEFAULT_HEAP_BYTES),
            captured: Mutex::new(None),
        }
    }

    /// When launches on this device compile kernels to machine code, where the compiler
    /// covers them (see [`Compilation`]); without this, the process-wide default
    /// ([`crate::default_compilation`]). Both paths give the same results: the interpreter runs
    /// the warps of a block in lockstep, compiled code one thread (or four) at a time. Hosts the
    /// compiler does not support always interpret.
    pub fn set_compilation(&mut self, c: Compilation) {
        self.compilation = Some(c);
    }

    /// The policy launches on this device follow.
    pub fn compilation(&self) -> Compilation {
        match self.compilation {
            Some(_) if !crate::jit::available() => Compilation::Off,
            Some(c) => c,
            None => default_compilation(),
        }
    }

    /// Attribute values (warp size, limits, memory size, …).
    pub fn properties(&self) -> &DeviceProperties {
        &self.props
    }

    /// The device memory.
    pub fn memory(&self) -> &Memory {
        &self.memory
    }

    /// From now on keeps what kernels print for [`Device::take_output`] instead of writing it
    /// to the process's standard output and error (where a GPU's driver writes it).
    pub fn capture_output(&self) {
        let mut c = self.captured.lock().unwrap_or_else(|p| p.into_inner());
        c.get_or_insert_with(KernelOutput::default);
    }

    /// What kernels printed since the last call, once [`Device::capture_output`] was called.
    pub fn take_output(&self) -> KernelOutput {
        let mut c = self.captured.lock().unwrap_or_else(|p| p.into_inner());
        c.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Writes a launch's output in block order.
    fn emit_output(&self, mut blocks: Vec<(u64, Vec<u8>, Vec<u8>)>) {
        if blocks.is_empty() {
            return;
        }
        blocks.sort_by_key(|b| b.0);
        let mut c = self.captured.lock().unwrap_or_else(|p| p.into_inner());
        match c.as_mut() {
            Some(k) => {
                for (_, out, err) in blocks {
                    k.stdout.extend_from_slice(&out);
                    k.stderr.extend_from_slice(&err);
                }
            }
            None => {
                use std::io::Write;
                let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
                for (_, o, e) in blocks {
                    // Output is best effort, as a GPU's: a closed stream loses it.
                    let _ = out.write_all(&o);
                    let _ = err.write_all(&e);
                }
                let _ = out.flush();
            }
        }
    }

    /// Loads a module: allocates and initializes its `.global`/`.const` variables (with the
    /// addresses of other symbols patched into their initializers), lowers each kernel with the
    /// functions it can call into a program of its own, and computes each kernel's attributes. PTX the executor cannot run is reported here, as
    /// [`Error::Unsupported`] with its source position, rather than at launch.
    pub fn load_module(&self, m: &ir::Module) -> Result<LoadedModule, Error> {
        if m.address_size == 32 {
            return Err(Error::Unsupported {
                what: "32-bit addressing (.address_size 32)".into(),
                at: crate::Site::default(),
            });
        }
        let mut loaded = LoadedModule {
            memory: self.memory.clone(),
            globals: Vec::new(),
            kernels: Vec::new(),
        };
        let (shared, func_shared, shared_end) = lower::shared_layout(m);
        let mut addrs: Vec<Option<u64>> = shared;
        let mut const_ranges = Vec::new();
        let mut const_bytes = 0u64;
        for (i, g) in m.globals.iter().enumerate() {
            match g.space {
                StateSpace::Global | StateSpace::Const => {
                    let size = g.size.max(1);
                    let a = self.memory.alloc(size)?;
                    loaded.globals.push((g.name.clone(), a, g.size));
                    addrs[i] = Some(a);
                    if g.space == StateSpace::Const {
                        const_ranges.push((a, size));
                        const_bytes += g.size;
                    }
                }
                StateSpace::Shared | StateSpace::SharedCluster => {}
                s => {
                    return Err(Error::Unsupported {
                        what: format!("module-scope {} variable `{}`", s.name(), g.name),
                        at: crate::Site::new("", g.loc),
                    })
                }
            }
        }
        for (i, g) in m.globals.iter().enumerate() {
            let Some(init) = &g.init else { continue };
            let (Some(a), StateSpace::Global | StateSpace::Const) = (addrs[i], g.space) else {
                continue;
            };
            let mut bytes = init.clone();
            for r in &g.relocations {
                let target = match r.target {
                    ir::SymbolRef::Global(t) => {
                        let tv = m.globals.get(t).ok_or_else(|| {
                            Error::InvalidModule(format!(
                                "relocation in `{}` to a missing variable",
                                g.name
                            ))
                        })?;
                        let base = match (tv.space, addrs[t]) {
                            (StateSpace::Shared | StateSpace::SharedCluster, Some(o)) => {
                                if r.generic {
                                    SHARED_WINDOW + o
                                } else {
                                    o
                                }
                            }
                            (_, Some(a)) => a,
                            _ => {
                                return Err(Error::Unsupported {
                                    what: format!(
                                        "address of `{}` in the initializer of `{}`",
                                        tv.name, g.name
                                    ),
                                    at: crate::Site::new("", g.loc),
                                })
                            }
                        };
                        base
                    }
                    ir::SymbolRef::Function(f) => FUNC_WINDOW + 16 * f as u64,
                    _ => {
                        return Err(Error::InvalidModule(format!(
                            "relocation in `{}` to a function-scope symbol",
                            g.name
                        )))
                    }
                };
                let v = target.wrapping_add(r.addend as u64);
                let o = r.offset as usize;
                let n = (r.size as usize).min(8);
                if let Some(dst) = bytes.get_mut(o..o + n) {
                    dst.copy_from_slice(&v.to_le_bytes()[..n]);
                } else {
                    return Err(Error::InvalidModule(format!(
                        "relocation at byte {o} outside the initializer of `{}`",
                        g.name
                    )));
                }
            }
            bytes.truncate(g.size as usize);
            self.memory.write(a, &bytes)?;
        }
        let layout = Layout {
            globals: addrs,
            func_shared,
            shared_end,
            const_ranges,
            functions: lower::FunctionFacts::new(m),
        };
        let mut reached = vec![false; m.functions.len()];
        for (fid, f) in m.functions.iter().enumerate() {
            if f.kind != ir::FunctionKind::Entry || f.body.is_none() {
                continue;
            }
            let prog = Arc::new(lower::lower_program(m, &layout, &[fid as u32])?);
            for (r, info) in reached.iter_mut().zip(&prog.funcs) {
                *r |= info.has_body;
            }
            let info = &prog.funcs[fid];
            let b = f.bounds;
            let prod = |d: [u32; 3]| d.iter().map(|&x| x as u64).product::<u64>().min(1024) as u32;
            let max_threads = b.reqntid.map(prod).or(b.maxntid.map(prod)).unwrap_or(1024);
            let attrs = KernelAttributes {
                num_regs: info.reg_count32.min(255),
                shared_size_bytes: info.static_shared,
                local_size_bytes: info.local_stack,
                const_size_bytes: const_bytes.min(u32::MAX as u64) as u32,
                max_threads_per_block: max_threads,
                param_bytes: f.param_bytes(),
                required_block: b.reqntid,
                ptx_version: m.version.0 * 10 + m.version.1,
                binary_version: 90,
            };
            loaded.kernels.push(Kernel {
                inner: Arc::new(KernelInner {
                    prog,
                    fid: fid as u32,
                    compiled: std::sync::OnceLock::new(),
                    tiering: Tiering::default(),
                    name: f.name.clone(),
                    signature: f.signature(),
                    attrs,
                }),
            });
        }
        // Functions no kernel reaches are checked all the same: PTX the executor cannot run
        // fails the load wherever it is, as with the GPU's compiler.
        let unreached: Vec<u32> = (0..m.functions.len() as u32)
            .filter(|&f| !reached[f as usize] && m.functions[f as usize].body.is_some())
            .collect();
        if !unreached.is_empty() {
            lower::lower_program(m, &layout, &unreached)?;
        }
        Ok(loaded)
    }

    /// Checks a launch configuration the way CUDA does.
    fn validate(&self, k: &Kernel, cfg: &LaunchConfig, params: &[u8]) -> Result<(), Error> {
        let p = &self.props;
        let bad = |m: String| Err(Error::InvalidConfiguration(m));
        if cfg.grid.contains(&0) || cfg.block.contains(&0) {
            return bad(format!(
                "zero dimension in grid {:?} / block {:?}",
                cfg.grid, cfg.block
            ));
        }
        for d in 0..3 {
            if cfg.block[d] > p.max_block_dim[d] {
                return bad(format!(
                    "block dimension {} is {} (limit {})",
                    "xyz".as_bytes()[d] as char,
                    cfg.block[d],
                    p.max_block_dim[d]
                ));
            }
            if cfg.grid[d] > p.max_grid_dim[d] {
                return bad(format!(
                    "grid dimension {} is {} (limit {})",
                    "xyz".as_bytes()[d] as char,
                    cfg.grid[d],
                    p.max_grid_dim[d]
                ));
            }
        }
        let threads = cfg.block.iter().map(|&x| x as u64).product::<u64>();
        let a = k.attributes();
        if threads > p.max_threads_per_block as u64 {
            return bad(format!(
                "{threads} threads per block (limit {})",
                p.max_threads_per_block
            ));
        }
        if let Some(r) = a.required_block {
            if r != cfg.block {
                return bad(format!(
                    "kernel requires block {r:?} (.reqntid), launched with {:?}",
                    cfg.block
                ));
            }
        }
        if threads > a.max_threads_per_block as u64 {
            return bad(format!(
                "{threads} threads per block exceeds the kernel's .maxntid limit {}",
                a.max_threads_per_block
            ));
        }
        let shared = a.shared_size_bytes as u64 + cfg.dynamic_shared as u64;
        if shared > p.shared_memory_per_block_optin as u64 {
            return Err(Error::SharedMemoryTooLarge {
                requested: shared,
                limit: p.shared_memory_per_block_optin as u64,
            });
        }
        let need = k
            .signature()
            .params
            .iter()
            .map(|p| p.offset + p.size)
            .max()
            .unwrap_or(0) as usize;
        if params.len() < need {
            return Err(Error::InvalidValue(format!(
                "parameter buffer of {} bytes, kernel `{}` needs {need}",
                params.len(),
                k.name()
            )));
        }
        Ok(())
    }

    /// Runs the whole grid of `k` to completion with the packed parameter buffer `params`
    /// (laid out as [`Kernel::signature`] says).
    ///
    /// Blocks run on the worker pool; on the first fault the remaining blocks are skipped and
    /// the error (kernel name, PTX line:col, address) is returned.
    pub fn launch(&self, k: &Kernel, cfg: &LaunchConfig, params: &[u8]) -> Result<(), Error> {
        let own = LaunchResources {
            heap: &self.heap,
            printf_fifo: PRINTF_FIFO_BYTES,
            stack: STACK_BYTES,
        };
        self.launch_in(k, cfg, params, own)
    }

    /// [`Device::launch`] with a context's own heap, printf FIFO and stack limit.
    pub fn launch_in(
        &self,
        k: &Kernel,
        cfg: &LaunchConfig,
        params: &[u8],
        resources: LaunchResources,
    ) -> Result<(), Error> {
        self.validate(k, cfg, params)?;
        let inner = &k.inner;
        let total = cfg.grid.iter().map(|&x| x as u64).product::<u64>();
        // `chosen`: tiered compilation runs the kernel on the path it measured faster.
        let (compiled, tiering, chosen) = match self.compilation() {
            Compilation::Off => (None, false, false),
            Compilation::Eager => (k.compiled(), false, false),
            Compilation::Tiered => match (k.inner.compiled.get(), k.inner.tiering.choice()) {
                (Some(Ok(c)), Some(true)) => (Some(c), false, true),
                (Some(Ok(_)), Some(false)) => (None, false, true),
                (Some(Err(_)), _) => (None, false, false),
                // Not compiled yet, or its blocks are being compared.
                _ => (None, true, false),
            },
        };
        let launch = Launch {
            prog: &inner.prog,
            kernel: inner.fid,
            name: &inner.name,
            mem: &self.memory,
            params,
            grid: cfg.grid,
            block: cfg.block,
            dyn_shared: cfg.dynamic_shared,
            static_shared: inner.attrs.shared_size_bytes,
            nsm: self.props.multiprocessor_count,
            gridid: self.grids.fetch_add(1, Ordering::Relaxed),
            start: std::time::Instant::now(),
            next_cta: AtomicU64::new(0),
            abort: AtomicBool::new(false),
            error: Mutex::new(None),
            vector_isa: self.vector_isa,
            compiled,
            tiering: if tiering { Some(k) } else { None },
            heap: resources.heap,
            output: Mutex::new(Vec::new()),
            printf_room: std::sync::atomic::AtomicUsize::new(resources.printf_fifo),
            stack_limit: resources.stack.max(STACK_BYTES),
        };
        let workers = (self.pool.current_num_threads() as u64).min(total).max(1) as u32;
        if workers == 1 {
            launch.work(0);
        } else {
            let l = &launch;
            self.pool.scope(|s| {
                for i in 0..workers {
                    s.spawn(move |_| l.work(i));
                }
            });
        }
        if tiering && !k.is_compiled() {
            k.interpreted_for(launch.start.elapsed());
        } else if chosen {
            k.inner.tiering.ran_chosen(launch.start.elapsed());
        }
        self.emit_output(std::mem::take(
            &mut *launch.output.lock().unwrap_or_else(|p| p.into_inner()),
        ));
        match launch.error.into_inner() {
            Ok(Some((_, e))) => Err(e),
            Ok(None) => Ok(()),
            Err(_) => Err(Error::InvalidValue("launch state poisoned".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> ir::Module {
        ferrocuda_ptx::parse(&format!(
            ".version 8.0\n.target sm_90\n.address_size 64\n{body}"
        ))
        .unwrap()
    }

    #[test]
    fn kernel_attributes_and_globals() {
        let d = Device::with_workers(1);
        let m = parse(
            ".global .align 4 .u32 g[3] = {1, 2, 3};\n.const .align 8 .b64 c = g;\n\
             .visible .entry k(.param .u64 p, .param .u32 n)\n.maxntid 128, 1, 1\n{\n .reg .b64 %rd<3>;\n .shared .align 4 .b8 s[40];\n ret;\n}\n\
             .func f()\n{\n ret;\n}\n",
        );
        let lm = d.load_module(&m).unwrap();
        assert_eq!(lm.kernel_names().collect::<Vec<_>>(), ["k"]);
        assert!(lm.kernel("f").is_none());
        let k = lm.kernel("k").unwrap();
        let a = k.attributes();
        assert_eq!(a.max_threads_per_block, 128);
        assert_eq!(a.shared_size_bytes, 40);
        assert_eq!(a.param_bytes, 12);
        assert_eq!(a.const_size_bytes, 8);
        assert_eq!(a.num_regs, 6);
        assert_eq!(k.signature().params.len(), 2);
        let (ga, gs) = lm.global("g").unwrap();
        let (ca, _) = lm.global("c").unwrap();
        let mut b = [0u8; 8];
        d.memory().read(ca, &mut b).unwrap();
        assert_eq!(u64::from_le_bytes(b), ga);
        assert_eq!(gs, 12);
        let e = d
            .launch(
                &k,
                &LaunchConfig {
                    grid: [1, 1, 1],
                    block: [256, 1, 1],
                    dynamic_shared: 0,
                },
                &[0; 12],
            )
            .unwrap_err();
        assert!(matches!(e, Error::InvalidConfiguration(_)), "{e}");
        // Dropping the module frees its variables.
        let used = d.memory().info().0;
        drop(lm);
        assert!(d.memory().info().0 > used);
        assert!(d.memory().allocation(ga).is_none());
    }

    #[test]
    fn both_builds_of_the_executor_agree_bit_for_bit() {
        // FMA, shared memory of every width, shifts, divergence and a barrier, over several
        // blocks, on the baseline build and on the vector build where the CPU has it.
        let m = parse(
            ".visible .entry k(.param .u64 out, .param .f32 s)\n{\n .reg .pred %p<3>;\n              .reg .b32 %r<12>;\n .reg .f32 %f<6>;\n .reg .b64 %rd<6>;\n              .shared .align 8 .b8 sh[2048];\n              ld.param.u64 %rd1, [out];\n ld.param.f32 %f1, [s];\n              mov.u32 %r1, %tid.x;\n mov.u32 %r2, %ctaid.x;\n mad.lo.s32 %r3, %r2, 64, %r1;\n              cvt.rn.f32.u32 %f2, %r3;\n mul.rn.f32 %f3, %f2, 0f3DCCCCCD;\n              fma.rn.f32 %f4, %f3, %f1, %f3;\n mov.b32 %r4, %f4;\n              shl.b32 %r5, %r1, 3;\n mov.u32 %r6, sh;\n add.s32 %r7, %r6, %r5;\n              st.shared.u32 [%r7], %r4;\n st.shared.u16 [%r7+4], %r3;\n st.shared.u8 [%r7+6], %r1;\n              bar.sync 0;\n xor.b32 %r8, %r1, 1;\n shl.b32 %r8, %r8, 3;\n add.s32 %r8, %r6, %r8;\n              ld.shared.u32 %r9, [%r8];\n ld.shared.u16 %r10, [%r8+4];\n ld.shared.s8 %r11, [%r8+6];\n              setp.lt.u32 %p1, %r1, 20;\n @%p1 bra L;\n xor.b32 %r9, %r9, %r10;\n              L:\n add.s32 %r9, %r9, %r11;\n mul.wide.u32 %rd2, %r3, 4;\n add.s64 %rd3, %rd1, %rd2;\n              st.global.u32 [%rd3], %r9;\n ret;\n}\n",
        );
        let run = |vector: bool| -> Vec<u8> {
            let mut d = Device::with_workers(2);
            d.vector_isa = vector && crate::exec::vector_isa_available();
            let lm = d.load_module(&m).unwrap();
            let k = lm.kernel("k").unwrap();
            let out = d.memory().alloc(4 * 64 * 5).unwrap();
            let mut p = out.to_le_bytes().to_vec();
            p.extend_from_slice(&1.37f32.to_le_bytes());
            let cfg = LaunchConfig {
                grid: [5, 1, 1],
                block: [64, 1, 1],
                dynamic_shared: 0,
            };
            d.launch(&k, &cfg, &p).unwrap();
            let mut b = vec![0u8; 4 * 64 * 5];
            d.memory().read(out, &mut b).unwrap();
            b
        };
        let base = run(false);
        assert_eq!(base, run(true));
        // Spot check thread 0 of block 1 (index 64): its partner is thread 1.
        let w = |i: usize| u32::from_le_bytes(base[4 * i..4 * i + 4].try_into().unwrap());
        let partner = 65u32;
        let f = partner as f32 * 0.1f32;
        let v = f.mul_add(1.37, f).to_bits();
        assert_eq!(w(64), v.wrapping_add(1));
    }

    #[test]
    fn thirty_two_bit_modules_are_rejected() {
        let d = Device::with_workers(1);
        let m = ferrocuda_ptx::parse(
            ".version 8.0\n.target sm_90\n.address_size 32\n.visible .entry k()\n{\n ret;\n}\n",
        )
        .unwrap();
        assert!(matches!(d.load_module(&m), Err(Error::Unsupported { .. })));
    }

    #[test]
    fn properties_describe_the_device() {
        let d = Device::with_workers(3);
        let p = d.properties();
        assert_eq!(p.name, "ferrocuda CPU device");
        assert_eq!(p.multiprocessor_count, 3);
        assert_eq!(d.memory().info().1, p.total_memory);
    }
}
