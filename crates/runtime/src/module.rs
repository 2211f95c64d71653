//! Kernels embedded in the program at compile time, loaded lazily per device; and modules
//! loaded at run time (`cudaLibraryLoadData`).
//!
//! nvcc embeds a fatbin in the executable and the CUDA runtime loads it into each device's
//! context the first time a kernel runs there. [`embed_module!`](crate::embed_module) does the
//! same with PTX, cubin or fatbin files: the bytes are part of the binary, and each
//! [`EmbeddedModule`] is loaded on first launch into the context the launch runs in. The cache
//! is keyed by context and primary-context generation, so after
//! [`device_reset`](crate::device_reset) the next launch loads the module again. A load keeps
//! its context alive; a module stays loaded in at most eight user contexts at a time (the
//! oldest is unloaded first), so contexts their owners dropped are eventually released.
//!
//! Each thread also remembers, for the last few contexts it worked in, the functions of the
//! kernels it launched there, so a repeated launch takes no lock and searches no shared
//! list. What a thread remembers goes when the thread exits or resets the device, and a
//! context's functions are forgotten at the thread's next launch there after any module load
//! was let go (a user context evicted, a device reset), so a launch never uses a load its
//! module released.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use driver::{Context, JitOptions};
use ferrocuda_driver as driver;

use crate::error::{Error, ErrorCode, Result};
use crate::state::{primary_generation, scope, Scope};

/// A module whose image is embedded in the program (made by
/// [`embed_module!`](crate::embed_module)). Loaded into a context on the first launch there.
pub struct EmbeddedModule {
    name: &'static str,
    path: &'static str,
    image: &'static [u8],
    loaded: Mutex<Vec<Loaded>>,
}

/// One load of an embedded module.
struct Loaded {
    ctx: Context,
    /// `Some(generation)` for a primary context: stale once the device was reset.
    generation: Option<u64>,
    module: driver::Module,
    functions: Vec<driver::Function>,
}

/// How many user (non-primary) contexts an embedded module stays loaded in at once. A load
/// holds its context alive, so the oldest is unloaded when another user context needs it.
const MAX_USER_CONTEXT_LOADS: usize = 8;

/// Every embedded module that has been loaded somewhere, so a device reset can drop their
/// loads in that device's primary context.
static LOADED_MODULES: Mutex<Vec<&'static EmbeddedModule>> = Mutex::new(Vec::new());

/// Bumped whenever an embedded module lets a load go (a user context evicted, loads of a
/// reset device dropped): threads forget the functions they remembered in a scope at their
/// next launch there, so none launches through a load its module no longer holds.
static RELEASES: AtomicU64 = AtomicU64::new(0);

/// How many kernels a scope remembers the functions of.
const SCOPE_FUNCTIONS: usize = 16;

/// A kernel of an embedded module as one thread resolved it in one scope.
struct Resolved {
    module: &'static EmbeddedModule,
    name: &'static str,
    function: driver::Function,
}

impl Resolved {
    fn is(&self, kernel: &Kernel) -> bool {
        std::ptr::eq(self.module, kernel.module) && same_name(self.name, kernel.name)
    }
}

/// Whether two kernel names are equal, comparing the pointers first: the names of one
/// kernel's handles are normally one static string.
fn same_name(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}

/// The functions of embedded kernels a thread launched in one scope (one context and
/// generation), most recent first: the launch fast path, with no lock and no context
/// comparison.
#[derive(Default)]
pub(crate) struct ScopeFunctions {
    /// [`RELEASES`] when the entries were checked against it.
    releases: Cell<u64>,
    entries: RefCell<Vec<Rc<Resolved>>>,
}

impl ScopeFunctions {
    /// The function remembered for `kernel`, if any and no load was let go since `releases`.
    fn get(&self, kernel: &Kernel, releases: u64) -> Option<Rc<Resolved>> {
        if self.releases.get() != releases {
            return None;
        }
        self.entries.borrow().iter().find(|r| r.is(kernel)).cloned()
    }

    /// Remembers a resolved function, forgetting every entry when loads were let go since
    /// they were made (`releases` was read before resolving), and the oldest beyond
    /// [`SCOPE_FUNCTIONS`].
    fn remember(&self, r: Resolved, releases: u64) -> Rc<Resolved> {
        let r = Rc::new(r);
        let mut dropped = Vec::new();
        {
            let mut entries = self.entries.borrow_mut();
            if self.releases.get() != releases {
                dropped = std::mem::take(&mut *entries);
                self.releases.set(releases);
            }
            entries.insert(0, Rc::clone(&r));
            if entries.len() > SCOPE_FUNCTIONS {
                dropped.extend(entries.drain(SCOPE_FUNCTIONS..));
            }
        }
        // Handles dropped here may be the last of a module: outside the borrow.
        drop(dropped);
        r
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update under these locks is a single push/retain, so a panic elsewhere cannot
    // leave them inconsistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Drops every embedded module loaded in `ordinal`'s primary context (before a reset).
pub(crate) fn forget_device(ordinal: usize) {
    RELEASES.fetch_add(1, Ordering::AcqRel);
    let modules: Vec<&'static EmbeddedModule> = lock(&LOADED_MODULES).clone();
    for m in modules {
        lock(&m.loaded)
            .retain(|l| !(l.generation.is_some() && l.ctx.device().ordinal() == ordinal));
    }
}

impl EmbeddedModule {
    /// An embedded module named `name` (the static's name) holding `image` read from `path`.
    /// Use [`embed_module!`](crate::embed_module) rather than calling this.
    #[doc(hidden)]
    pub const fn new(name: &'static str, path: &'static str, image: &'static [u8]) -> Self {
        EmbeddedModule {
            name,
            path,
            image,
            loaded: Mutex::new(Vec::new()),
        }
    }

    /// The name given in `embed_module!`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The file the image came from, as written in `embed_module!`.
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// The embedded bytes (PTX text, cubin or fatbin).
    pub fn image(&self) -> &'static [u8] {
        self.image
    }

    /// How many contexts the module is loaded in now (for diagnostics and tests).
    pub fn loaded_in(&self) -> usize {
        lock(&self.loaded).len()
    }

    /// A handle to one of its kernels, for `launch!(k<<<…>>>(…))` or [`crate::launch_kernel`].
    /// The name is checked at the first launch (`cudaErrorInvalidDeviceFunction` if absent).
    pub const fn kernel(&'static self, name: &'static str) -> Kernel {
        Kernel { module: self, name }
    }

    /// Loads the module into the runtime's current context now instead of at the first
    /// launch (reports PTX errors early).
    pub fn load(&'static self) -> Result<()> {
        let s = scope()?;
        s.run_rt(|ctx| self.with_loaded(ctx, s.primary.map(|p| p.1), |_| Ok(())))
    }

    /// Address and size of a module-scope variable in the runtime's current context
    /// (`cudaGetSymbolAddress` / `cudaGetSymbolSize`), loading the module if needed.
    pub fn global(&'static self, name: &str) -> Result<(driver::DevicePtr, u64)> {
        let s = scope()?;
        s.run_rt(|ctx| {
            self.with_loaded(ctx, s.primary.map(|p| p.1), |l| {
                l.module.global(name).map_err(|e| {
                    let mut e = Error::from(e);
                    if e.code() == ErrorCode::SymbolNotFound || e.code() == ErrorCode::InvalidValue
                    {
                        e = Error::with_detail(
                            ErrorCode::InvalidSymbol,
                            format!("module {} has no global `{name}`", self.name),
                        );
                    }
                    e
                })
            })
        })
    }

    fn with_loaded<T>(
        &'static self,
        ctx: &Context,
        generation: Option<u64>,
        f: impl FnOnce(&mut Loaded) -> Result<T>,
    ) -> Result<T> {
        let mut loaded = lock(&self.loaded);
        // The launch path: the module is already loaded in this context and generation.
        if let Some(l) = loaded
            .iter_mut()
            .find(|l| l.generation == generation && l.ctx == *ctx)
        {
            return f(l);
        }
        // Loads in a primary context of an older generation are gone with the reset.
        let before = loaded.len();
        loaded.retain(|l| match l.generation {
            Some(g) => g == primary_generation(l.ctx.device().ordinal()),
            None => true,
        });
        if loaded.len() != before {
            RELEASES.fetch_add(1, Ordering::AcqRel);
        }
        let module = ctx
            .load_module_data(self.image, &JitOptions::default())
            .map_err(|e| {
                let e = Error::from(e);
                let detail = match e.detail() {
                    Some(d) => format!("module {} ({}): {d}", self.name, self.path),
                    None => format!("module {} ({})", self.name, self.path),
                };
                Error::with_detail(e.code(), detail)
            })?;
        if loaded.is_empty() {
            let mut all = lock(&LOADED_MODULES);
            if !all.iter().any(|m| std::ptr::eq(*m, self)) {
                all.push(self);
            }
        }
        // A load keeps its context alive; keep only the most recent user contexts so
        // contexts their owners dropped are released eventually.
        if generation.is_none() {
            let users = loaded.iter().filter(|l| l.generation.is_none()).count();
            if users >= MAX_USER_CONTEXT_LOADS {
                if let Some(oldest) = loaded.iter().position(|l| l.generation.is_none()) {
                    loaded.remove(oldest);
                    RELEASES.fetch_add(1, Ordering::AcqRel);
                }
            }
        }
        loaded.push(Loaded {
            ctx: ctx.clone(),
            generation,
            module,
            functions: Vec::new(),
        });
        let last = loaded.len() - 1;
        f(&mut loaded[last])
    }

    fn function(
        &'static self,
        ctx: &Context,
        generation: Option<u64>,
        name: &str,
    ) -> Result<driver::Function> {
        self.with_loaded(ctx, generation, |l| {
            if let Some(f) = l.functions.iter().find(|f| f.name() == name) {
                return Ok(f.clone());
            }
            let f = l.module.function(name).map_err(|e| {
                let e = Error::from(e);
                if e.code() == ErrorCode::SymbolNotFound {
                    Error::with_detail(
                        ErrorCode::InvalidDeviceFunction,
                        format!(
                            "module {} ({}) has no kernel `{name}`",
                            self.name, self.path
                        ),
                    )
                } else {
                    e
                }
            })?;
            l.functions.push(f.clone());
            Ok(f)
        })
    }
}

impl fmt::Debug for EmbeddedModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedModule")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("bytes", &self.image.len())
            .finish()
    }
}

/// A kernel of an embedded module, resolved in whatever context a launch runs in.
#[derive(Clone, Copy)]
pub struct Kernel {
    module: &'static EmbeddedModule,
    name: &'static str,
}

impl Kernel {
    /// The kernel's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The module it belongs to.
    pub fn module(&self) -> &'static EmbeddedModule {
        self.module
    }
}

impl fmt::Debug for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}::{}", self.module.name, self.name)
    }
}

/// Something `launch!` can launch: a [`Kernel`] of an embedded module or a [`Function`] of a
/// module loaded at run time.
pub trait Launchable {
    /// The kernel's name (for messages).
    fn kernel_name(&self) -> &str;

    /// The driver function for the scope a launch runs in.
    #[doc(hidden)]
    fn function<'a>(&'a self, scope: &LaunchScope<'_>) -> Result<FunctionRef<'a>>;
}

/// Where a launch runs, as the runtime resolved it for the calling thread. Only the runtime
/// makes one.
#[doc(hidden)]
pub struct LaunchScope<'a> {
    pub(crate) scope: &'a Scope,
}

/// A driver function a launch goes through: borrowed from a [`Function`], or the one the
/// thread remembers for an embedded kernel. Only the runtime makes one.
#[doc(hidden)]
pub struct FunctionRef<'a>(FunctionRefInner<'a>);

enum FunctionRefInner<'a> {
    Borrowed(&'a driver::Function),
    Remembered(Rc<Resolved>),
}

impl std::ops::Deref for FunctionRef<'_> {
    type Target = driver::Function;

    fn deref(&self) -> &driver::Function {
        match &self.0 {
            FunctionRefInner::Borrowed(f) => f,
            FunctionRefInner::Remembered(r) => &r.function,
        }
    }
}

impl Launchable for Kernel {
    fn kernel_name(&self) -> &str {
        self.name
    }

    fn function<'a>(&'a self, scope: &LaunchScope<'_>) -> Result<FunctionRef<'a>> {
        let s = scope.scope;
        // Read before resolving: a load let go meanwhile makes the entry stale at once.
        let releases = RELEASES.load(Ordering::Acquire);
        let resolved = match s.functions.get(self, releases) {
            Some(r) => r,
            None => {
                let generation = s.primary.map(|p| p.1);
                let function = self.module.function(&s.ctx, generation, self.name)?;
                s.functions.remember(
                    Resolved {
                        module: self.module,
                        name: self.name,
                        function,
                    },
                    releases,
                )
            }
        };
        Ok(FunctionRef(FunctionRefInner::Remembered(resolved)))
    }
}

impl<K: Launchable + ?Sized> Launchable for &K {
    fn kernel_name(&self) -> &str {
        (**self).kernel_name()
    }

    fn function<'a>(&'a self, scope: &LaunchScope<'_>) -> Result<FunctionRef<'a>> {
        (**self).function(scope)
    }
}

/// A module loaded at run time into the runtime's current context (`cudaLibraryLoadData`).
#[derive(Clone, Debug)]
pub struct Module {
    inner: driver::Module,
}

/// Loads PTX text, a cubin or a fatbin from memory into the runtime's current context.
pub fn module_load_data(image: &[u8]) -> Result<Module> {
    let s = scope()?;
    let inner = s.run(|c| c.load_module_data(image, &JitOptions::default()))?;
    Ok(Module { inner })
}

/// Loads a module file (`.ptx`, `.cubin`, `.fatbin`) into the runtime's current context.
pub fn module_load(path: impl AsRef<std::path::Path>) -> Result<Module> {
    let s = scope()?;
    let inner = s.run(|c| c.load_module_file(path.as_ref(), &JitOptions::default()))?;
    Ok(Module { inner })
}

impl Module {
    /// One of its kernels (`cudaLibraryGetKernel`); `cudaErrorInvalidDeviceFunction` if absent.
    pub fn function(&self, name: &str) -> Result<Function> {
        let s = scope()?;
        s.run_rt(|_| {
            let inner = self.inner.function(name).map_err(|e| {
                let e = Error::from(e);
                if e.code() == ErrorCode::SymbolNotFound {
                    Error::with_detail(
                        ErrorCode::InvalidDeviceFunction,
                        format!("the module has no kernel `{name}`"),
                    )
                } else {
                    e
                }
            })?;
            Ok(Function { inner })
        })
    }

    /// Address and size of a module-scope variable (`cudaLibraryGetGlobal`);
    /// `cudaErrorInvalidSymbol` if absent.
    pub fn global(&self, name: &str) -> Result<(driver::DevicePtr, u64)> {
        let s = scope()?;
        s.run_rt(|_| {
            self.inner.global(name).map_err(|e| {
                let e = Error::from(e);
                if e.code() == ErrorCode::SymbolNotFound || e.code() == ErrorCode::InvalidValue {
                    Error::with_detail(
                        ErrorCode::InvalidSymbol,
                        format!("the module has no global `{name}`"),
                    )
                } else {
                    e
                }
            })
        })
    }

    /// The driver-layer module underneath.
    pub fn as_driver(&self) -> &driver::Module {
        &self.inner
    }
}

/// A kernel of a [`Module`] loaded at run time.
#[derive(Clone, Debug)]
pub struct Function {
    inner: driver::Function,
}

impl Function {
    /// The parameter layout launches are checked against, when known.
    pub fn signature(&self) -> Option<&driver::KernelSignature> {
        self.inner.signature()
    }

    /// The driver-layer function underneath.
    pub fn as_driver(&self) -> &driver::Function {
        &self.inner
    }
}

impl Launchable for Function {
    fn kernel_name(&self) -> &str {
        self.inner.name()
    }

    fn function<'a>(&'a self, scope: &LaunchScope<'_>) -> Result<FunctionRef<'a>> {
        if *self.inner.module().context() != scope.scope.ctx {
            return Err(Error::with_detail(
                ErrorCode::InvalidResourceHandle,
                format!(
                    "kernel `{}` was loaded in another context than the one current",
                    self.inner.name()
                ),
            ));
        }
        Ok(FunctionRef(FunctionRefInner::Borrowed(&self.inner)))
    }
}

/// Embeds PTX, cubin or fatbin files in the program and declares a static
/// [`EmbeddedModule`] for each, loaded lazily per device on first launch — the counterpart of
/// the fatbin nvcc links into a CUDA executable.
///
/// A path is relative to the source file that invokes the macro, as with `include_bytes!`;
/// for a path relative to the crate root write
/// `concat!(env!("CARGO_MANIFEST_DIR"), "/kernels/vector_add.ptx")`.
///
/// ```ignore
/// ferrocuda_runtime::embed_module!(KERNELS = "kernels/vector_add.ptx");
/// launch!(KERNELS::vector_add<<<grid, block>>>(&d_a, &d_b, &mut d_c, n))?;
/// ```
#[macro_export]
macro_rules! embed_module {
    ($($(#[$meta:meta])* $vis:vis $name:ident = $path:expr),+ $(,)?) => {
        $(
            $(#[$meta])*
            #[allow(non_upper_case_globals)]
            $vis static $name: $crate::EmbeddedModule =
                $crate::EmbeddedModule::new(stringify!($name), $path, include_bytes!($path));
        )+
    };
}

/// Declares kernels of an embedded module as statics, so launches read exactly like CUDA:
/// `launch!(add_one<<<1, 256>>>(d_a, n))`.
///
/// ```ignore
/// ferrocuda_runtime::embed_module!(KERNELS = "kernels/add_one.ptx");
/// ferrocuda_runtime::kernel!(add_one in KERNELS);
/// launch!(add_one<<<1, 256>>>(d_a, 256i32))?;
/// ```
///
/// The name is the kernel's symbol in the module (`extern "C"` kernels keep their C name); it
/// is checked at the first launch.
#[macro_export]
macro_rules! kernel {
    ($($(#[$meta:meta])* $vis:vis $name:ident in $module:path);+ $(;)?) => {
        $(
            $(#[$meta])*
            #[allow(non_upper_case_globals)]
            $vis static $name: $crate::Kernel = $module.kernel(stringify!($name));
        )+
    };
}
