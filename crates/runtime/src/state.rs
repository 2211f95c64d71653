//! The runtime's process and thread state: implicit initialisation, the current device per
//! thread, primary contexts, sticky errors and the last-error slot.
//!
//! # Which context a runtime call uses
//! As in CUDA (seed 004): when the calling thread has a current context set through the
//! driver layer ([`ferrocuda_driver::Context::push_current`] / `set_current`), the runtime
//! works in that context. Otherwise it uses the primary context of the thread's current
//! device, retained on first use and shared by every runtime user in the process (and by
//! driver-layer users who retain the primary context themselves).
//!
//! As cudart does, the runtime makes the primary context it uses current to the calling thread
//! (`cuCtxSetCurrent`), so driver-layer calls that follow work in it too: on the first call that
//! needs a context when none is current, and in [`set_device`], which makes the chosen device's
//! primary context current (replacing whatever context was current). After [`device_reset`] the
//! old primary context stays current in name until the next runtime call, which initialises
//! the device's new primary context and makes that current.

use std::cell::{Cell, OnceCell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use driver::{Context, Device, Platform};
use ferrocuda_driver as driver;

use crate::error::{Error, ErrorCode, Result};
use crate::module::ScopeFunctions;
use crate::staged_copy::{StagedCopier, STAGED_MIN_BYTES};
use crate::version;

/// Process-wide state, created by the first runtime call.
struct Runtime {
    device_count: usize,
    default_device: usize,
    driver_version: i32,
    primaries: Mutex<Vec<PrimarySlot>>,
    /// Each slot's `generation`, readable without the lock: kernel arguments check it on
    /// every launch. Written only under the `primaries` lock, together with the slot.
    generations: Vec<AtomicU64>,
    /// Whether each slot holds a sticky error, readable without the lock: a thread's cached
    /// [`Scope`] is only reused while it is clear. Written only under the `primaries` lock.
    sticky: Vec<AtomicBool>,
}

/// The runtime's hold on one device's primary context.
#[derive(Default)]
struct PrimarySlot {
    /// The runtime's retain of the primary context; `None` until first use and after a reset.
    ctx: Option<Context>,
    /// Bumped by every [`device_reset`]: modules and state of an older generation are gone.
    generation: u64,
    /// A sticky error hit in the primary context: returned by every call until a reset.
    sticky: Option<Error>,
    /// Page-locked staging for pageable `memcpy`s in this primary context, made on first use
    /// and dropped by a reset (it holds device and page-locked memory of the context).
    copier: Option<Arc<StagedCopier>>,
}

static RUNTIME: OnceLock<Result<Runtime>> = OnceLock::new();

thread_local! {
    /// The device `set_device` chose on this thread (`None`: the process default).
    static CURRENT_DEVICE: Cell<Option<usize>> = const { Cell::new(None) };
    /// The last error a runtime call on this thread returned (`cudaGetLastError`).
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
    /// The scopes this thread's runtime calls resolved last, most recent first: reused while
    /// nothing they depend on has changed (see [`Scope::still_current`]).
    static SCOPES: RefCell<Vec<Rc<Scope>>> = const { RefCell::new(Vec::new()) };
}

/// A recorded error and, for sticky errors of a primary context, where it lives.
#[derive(Clone)]
struct LastError {
    error: Error,
    /// `(device ordinal, generation)` of the primary context a sticky error corrupted.
    sticky_in: Option<(usize, u64)>,
}

fn init() -> Result<Runtime> {
    driver::init().map_err(Error::from)?;
    let reported = driver::driver_version().map_err(Error::from)?;
    let driver_version = version::driver_version_override()?.unwrap_or(reported);
    version::check_compatibility(version::RUNTIME_VERSION, driver_version)?;
    let device_count = Device::count().map_err(Error::from)?;
    if device_count == 0 {
        return Err(Error::with_detail(
            ErrorCode::NoDevice,
            "no device on any platform",
        ));
    }
    let default_device = Device::default().map_err(Error::from)?.ordinal();
    let primaries = (0..device_count).map(|_| PrimarySlot::default()).collect();
    Ok(Runtime {
        device_count,
        default_device,
        driver_version,
        primaries: Mutex::new(primaries),
        generations: (0..device_count).map(|_| AtomicU64::new(0)).collect(),
        sticky: (0..device_count).map(|_| AtomicBool::new(false)).collect(),
    })
}

/// The runtime, initialised on first use. A failed initialisation (no driver, a driver older
/// than the runtime) is returned by every call, as CUDA does.
fn runtime() -> Result<&'static Runtime> {
    RUNTIME.get_or_init(init).as_ref().map_err(Clone::clone)
}

impl Runtime {
    /// Drops the runtime's state of device `ordinal`'s primary context (held under the
    /// `primaries` lock as `slot`) and starts a new generation: after a reset.
    fn forget_primary(&self, ordinal: usize, slot: &mut PrimarySlot) {
        slot.ctx = None;
        slot.sticky = None;
        slot.copier = None;
        slot.generation += 1;
        self.generations[ordinal].store(slot.generation, Ordering::Release);
        self.sticky[ordinal].store(false, Ordering::Release);
    }

    fn slots(&self) -> MutexGuard<'_, Vec<PrimarySlot>> {
        // A panic while holding the lock cannot leave the slots inconsistent (every update
        // is a single assignment), so a poisoned lock is still usable.
        self.primaries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Runs a runtime call and records its error as the thread's last error.
pub(crate) fn record<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    let r = f();
    if let Err(e) = &r {
        set_last_error(e.clone(), None);
    }
    r
}

fn set_last_error(error: Error, sticky_in: Option<(usize, u64)>) {
    LAST_ERROR.with(|l| *l.borrow_mut() = Some(LastError { error, sticky_in }));
}

/// Initialises the runtime explicitly (every other call does it implicitly). Useful to get
/// an initialisation failure, such as [`ErrorCode::InsufficientDriver`], at a chosen point.
pub fn init_runtime() -> Result<()> {
    record(|| runtime().map(|_| ()))
}

/// Number of devices over all platforms, the CPU device included (`cudaGetDeviceCount`).
pub fn get_device_count() -> Result<usize> {
    record(|| Ok(runtime()?.device_count))
}

/// Chooses the device this thread's runtime calls use when no driver context is current
/// (`cudaSetDevice`). `cudaErrorInvalidDevice` for an ordinal out of range.
pub fn set_device(ordinal: usize) -> Result<()> {
    record(|| {
        let rt = runtime()?;
        if ordinal >= rt.device_count {
            return Err(Error::with_detail(
                ErrorCode::InvalidDevice,
                format!("device {ordinal} (there are {})", rt.device_count),
            ));
        }
        CURRENT_DEVICE.with(|c| c.set(Some(ordinal)));
        // As `cudaSetDevice`: the device's primary context, initialised and current.
        observe_driver_reset(rt, ordinal);
        let ctx = primary_context(rt, ordinal)?;
        if !Context::is_current_handle(Some(&ctx)) {
            Context::set_current(Some(&ctx)).map_err(Error::from)?;
        }
        Ok(())
    })
}

/// Catches up with a reset of device `ordinal`'s primary context made through the driver
/// layer (`Device::reset_primary_context`) rather than [`device_reset`]: the runtime lets go of
/// the old context's state (its handle, sticky error, copier, embedded modules, and through
/// the generation its memory) as `device_reset` would.
fn observe_driver_reset(rt: &Runtime, ordinal: usize) {
    let stale = {
        let mut slots = rt.slots();
        let slot = &mut slots[ordinal];
        if slot.ctx.as_ref().is_some_and(Context::is_reset) {
            rt.forget_primary(ordinal, slot);
            true
        } else {
            false
        }
    };
    if stale {
        crate::module::forget_device(ordinal);
    }
}

/// The runtime's primary context of device `ordinal`, retained on first use.
fn primary_context(rt: &Runtime, ordinal: usize) -> Result<Context> {
    let mut slots = rt.slots();
    let slot = &mut slots[ordinal];
    if let Some(c) = &slot.ctx {
        return Ok(c.clone());
    }
    let c = Device::get(ordinal)
        .and_then(|d| d.retain_primary_context())
        .map_err(Error::from)?;
    slot.ctx = Some(c.clone());
    Ok(c)
}

/// Chooses the device by spec: `cpu`, `cuda:N` or an ordinal (as `FERROCUDA_DEVICE` takes).
pub fn set_device_spec(spec: &str) -> Result<()> {
    let ordinal = record(|| {
        runtime()?;
        Ok(Device::from_spec(spec).map_err(Error::from)?.ordinal())
    })?;
    set_device(ordinal)
}

/// The device the thread's runtime calls use (`cudaGetDevice`): the device of the current
/// driver context when there is one, else the device chosen by [`set_device`], else the
/// default (`FERROCUDA_DEVICE`, or the first GPU, or the CPU device).
pub fn get_device() -> Result<usize> {
    record(|| Ok(thread_device(runtime()?)))
}

/// [`get_device`] once the runtime is up.
fn thread_device(rt: &Runtime) -> usize {
    Context::current().map_or_else(|| chosen_device(rt), |c| c.device().ordinal())
}

/// The device chosen by [`set_device`] on this thread, else the default.
fn chosen_device(rt: &Runtime) -> usize {
    CURRENT_DEVICE
        .with(|c| c.get())
        .unwrap_or(rt.default_device)
}

/// The driver-layer device the runtime is using on this thread.
pub fn current_driver_device() -> Result<Device> {
    let ordinal = get_device()?;
    Device::get(ordinal).map_err(Error::from)
}

/// The CUDA version of the driver in use (`cudaDriverGetVersion`); the CPU device reports
/// the runtime's own version.
pub fn driver_version() -> Result<i32> {
    record(|| Ok(runtime()?.driver_version))
}

/// Where the runtime is working: the context, and how to find its sticky state.
pub(crate) struct Scope {
    pub ctx: Context,
    /// `Some((ordinal, generation))` when `ctx` is a primary context.
    pub primary: Option<(usize, u64)>,
    /// `ctx`'s default stream, made on first use.
    default_stream: OnceCell<driver::Stream>,
    /// The launch limits of `ctx`'s device, read on first use.
    limits: OnceCell<driver::LaunchLimits>,
    /// The functions of embedded kernels this thread launched in this scope.
    pub functions: ScopeFunctions,
}

impl Scope {
    fn new(ctx: Context, primary: Option<(usize, u64)>) -> Scope {
        Scope {
            ctx,
            primary,
            default_stream: OnceCell::new(),
            limits: OnceCell::new(),
            functions: ScopeFunctions::default(),
        }
    }

    /// Whether [`scope`] would resolve this same scope now: the thread's current driver
    /// context is unchanged, and a primary context has been
    /// neither reset nor hit by a sticky error since. Takes no lock.
    #[inline]
    fn still_current(&self) -> bool {
        let Some(Ok(rt)) = RUNTIME.get() else {
            return false;
        };
        // The scope's context is the thread's current one (the runtime makes its primary
        // context current).
        let here = Context::is_current_handle(Some(&self.ctx)) && !self.ctx.is_reset();
        here && self.primary.is_none_or(|(ordinal, generation)| {
            rt.generations[ordinal].load(Ordering::Acquire) == generation
                && !rt.sticky[ordinal].load(Ordering::Acquire)
        })
    }

    /// The launch limits of the scope's device.
    #[inline]
    pub fn launch_limits(&self) -> Result<&driver::LaunchLimits> {
        if let Some(l) = self.limits.get() {
            return Ok(l);
        }
        let l = self.ctx.device().launch_limits().map_err(Error::from)?;
        Ok(self.limits.get_or_init(|| l))
    }

    /// The default stream of the scope's context (`cudaStreamLegacy`).
    #[inline]
    pub fn default_stream(&self) -> &driver::Stream {
        self.default_stream
            .get_or_init(|| self.ctx.default_stream())
    }

    /// Records an error from this scope: a sticky error of a primary context is kept until
    /// [`device_reset`], as CUDA keeps it with the context.
    pub fn fail<T>(&self, e: Error) -> Result<T> {
        if e.code().is_sticky() {
            if let Some((ordinal, generation)) = self.primary {
                if let Ok(rt) = runtime() {
                    let mut slots = rt.slots();
                    if let Some(s) = slots.get_mut(ordinal) {
                        if s.generation == generation && s.sticky.is_none() {
                            s.sticky = Some(e.clone());
                            rt.sticky[ordinal].store(true, Ordering::Release);
                        }
                    }
                }
            }
            set_last_error(e.clone(), self.primary);
        } else {
            set_last_error(e.clone(), None);
        }
        Err(e)
    }

    /// Runs a driver call in this scope, converting and recording its error.
    pub fn run<T>(&self, f: impl FnOnce(&Context) -> driver::Result<T>) -> Result<T> {
        match f(&self.ctx) {
            Ok(v) => Ok(v),
            Err(e) => self.fail(Error::from(e)),
        }
    }

    /// Like [`Scope::run`] for calls that already return runtime errors.
    pub fn run_rt<T>(&self, f: impl FnOnce(&Context) -> Result<T>) -> Result<T> {
        match f(&self.ctx) {
            Ok(v) => Ok(v),
            Err(e) => self.fail(e),
        }
    }
}

/// The context the calling thread's runtime calls use (see the module documentation),
/// retaining the primary context on first use. A sticky error of that primary context is
/// returned (and recorded) instead.
///
/// The thread keeps the last few scopes it resolved and hands one out again, without taking
/// the runtime's lock, for as long as [`Scope::still_current`] holds: a thread switching
/// between devices or contexts keeps each one's scope, and with it the functions it launched
/// there.
pub(crate) fn scope() -> Result<Rc<Scope>> {
    if let Some(s) = SCOPES.with(|c| c.borrow().first().cloned()) {
        if s.still_current() {
            return Ok(s);
        }
    }
    // Another place the thread worked in before (a device or context switched back to).
    let earlier = SCOPES.with(|c| {
        let mut c = c.borrow_mut();
        let i = c.iter().skip(1).position(|k| k.still_current())? + 1;
        let s = c.remove(i);
        c.insert(0, Rc::clone(&s));
        Some(s)
    });
    if let Some(s) = earlier {
        return Ok(s);
    }
    let s = Rc::new(resolve_scope()?);
    let dropped = SCOPES.with(|c| {
        let mut c = c.borrow_mut();
        c.insert(0, Rc::clone(&s));
        if c.len() > THREAD_SCOPES {
            c.split_off(THREAD_SCOPES)
        } else {
            Vec::new()
        }
    });
    // A scope let go may hold the last handle of a context: dropped outside the borrow.
    drop(dropped);
    Ok(s)
}

/// How many scopes a thread keeps.
const THREAD_SCOPES: usize = 4;

/// [`scope`] without the thread's cache: resolves the scope under the runtime's lock.
fn resolve_scope() -> Result<Scope> {
    let rt = record(runtime)?;
    let (ordinal, user) = match Context::current() {
        Some(ctx) if !ctx.is_primary() => return Ok(Scope::new(ctx, None)),
        // A primary context reset since it was made current: its device's new one replaces it.
        Some(ctx) if ctx.is_reset() => (ctx.device().ordinal(), None),
        Some(ctx) => (ctx.device().ordinal(), Some(ctx)),
        None => (chosen_device(rt), None),
    };
    observe_driver_reset(rt, ordinal);
    let mut slots = rt.slots();
    let slot = &mut slots[ordinal];
    if let Some(e) = &slot.sticky {
        let e = e.clone();
        set_last_error(e.clone(), Some((ordinal, slot.generation)));
        return Err(e);
    }
    let primary = Some((ordinal, slot.generation));
    if let Some(ctx) = user {
        // A primary context made current through the driver layer: the same context the
        // runtime shares, so its sticky state is the runtime's too.
        return Ok(Scope::new(ctx, primary));
    }
    drop(slots);
    let ctx = match primary_context(rt, ordinal) {
        Ok(c) => c,
        Err(e) => {
            set_last_error(e.clone(), None);
            return Err(e);
        }
    };
    // Current to the thread from now on, as cudart makes it (`cuCtxSetCurrent`).
    if let Err(e) = Context::set_current(Some(&ctx)) {
        let e = Error::from(e);
        set_last_error(e.clone(), None);
        return Err(e);
    }
    Ok(Scope::new(ctx, primary))
}

/// The staged copier of `ctx` when it is the runtime's primary context on an NVIDIA device:
/// pageable copies of at least [`STAGED_MIN_BYTES`] go through it. User contexts and the CPU
/// device use the driver's plain copy.
pub(crate) fn staged_copier(ctx: &Context, bytes: usize) -> Option<Arc<StagedCopier>> {
    if bytes < STAGED_MIN_BYTES || !ctx.is_primary() || ctx.platform() != Platform::Nvidia {
        return None;
    }
    let rt = runtime().ok()?;
    let mut slots = rt.slots();
    let slot = slots.get_mut(ctx.device().ordinal())?;
    // The primary context may have been retained and made current through the driver layer
    // rather than by the runtime; a copier made for an earlier primary context is replaced.
    if slot.copier.as_ref().is_some_and(|c| c.context() != ctx) {
        slot.copier = None;
    }
    Some(
        slot.copier
            .get_or_insert_with(|| Arc::new(StagedCopier::new(ctx)))
            .clone(),
    )
}

/// The generation of a device's primary context: bumped by every [`device_reset`], so
/// per-device caches (embedded modules) know to reload.
#[inline]
pub(crate) fn primary_generation(ordinal: usize) -> u64 {
    // Before initialisation every generation is 0.
    match RUNTIME.get() {
        Some(Ok(rt)) => rt
            .generations
            .get(ordinal)
            .map_or(0, |g| g.load(Ordering::Acquire)),
        _ => 0,
    }
}

/// Waits for all work of the runtime's context on this thread (`cudaDeviceSynchronize`),
/// returning the first error a kernel hit. A sticky error (`cudaErrorIllegalAddress`,
/// `cudaErrorLaunchFailure`, …) stays: every later call returns it until [`device_reset`].
pub fn device_synchronize() -> Result<()> {
    let s = scope()?;
    s.run(|c| c.synchronize())
}

/// Sets a limit of the current device's context (`cudaDeviceSetLimit`): `MallocHeapSize` for
/// kernels' `malloc`, `PrintfFifoSize`, `StackSize`. `cudaErrorUnsupportedLimit` where the
/// device has no such limit.
pub fn device_set_limit(limit: driver::Limit, value: usize) -> Result<()> {
    let s = scope()?;
    s.run(|c| c.set_limit(limit, value))
}

/// A limit of the current device's context (`cudaDeviceGetLimit`).
pub fn device_get_limit(limit: driver::Limit) -> Result<usize> {
    let s = scope()?;
    s.run(|c| c.limit(limit))
}

/// Destroys the current device's primary context for the whole process (`cudaDeviceReset`):
/// every allocation, module, stream and event in it is gone, its sticky error is cleared,
/// and the next runtime call creates a fresh primary context (embedded modules reload).
///
/// # The plugin hazard (seed 004)
/// The primary context is shared by every runtime user in the process. A plugin that calls
/// `device_reset` when it is done also destroys the memory and modules of every other plugin
/// using the primary context; their next calls fail. Code that shares a process with others
/// should instead create its own context through the driver layer, make it current
/// (`Context::push_current`), and use runtime calls on it: `device_reset` does not touch
/// user contexts. The `contexts` example shows both.
pub fn device_reset() -> Result<()> {
    record(|| {
        let rt = runtime()?;
        let ordinal = thread_device(rt);
        let dev = Device::get(ordinal).map_err(Error::from)?;
        rt.forget_primary(ordinal, &mut rt.slots()[ordinal]);
        // This thread's cached scope and functions may hold the last handles of the old
        // context: let them go before it is reset, as the runtime's own handle was.
        let old = SCOPES.with(|c| std::mem::take(&mut *c.borrow_mut()));
        drop(old);
        crate::module::forget_device(ordinal);
        dev.reset_primary_context().map_err(Error::from)?;
        LAST_ERROR.with(|l| *l.borrow_mut() = None);
        Ok(())
    })
}

/// Returns the last error a runtime call on this thread produced, and resets it to success
/// (`cudaGetLastError`). A sticky error is not reset: it is returned again until
/// [`device_reset`], as in CUDA.
pub fn get_last_error() -> ErrorCode {
    take_last_error().map_or(ErrorCode::Success, |e| e.code())
}

/// [`get_last_error`] with ferrocuda's detail about the cause.
pub fn take_last_error() -> Option<Error> {
    let last = LAST_ERROR.with(|l| l.borrow_mut().take())?;
    if let Some((ordinal, generation)) = last.sticky_in {
        if still_sticky(ordinal, generation) {
            LAST_ERROR.with(|l| *l.borrow_mut() = Some(last.clone()));
        }
    }
    Some(last.error)
}

fn still_sticky(ordinal: usize, generation: u64) -> bool {
    runtime().is_ok_and(|rt| {
        rt.slots()
            .get(ordinal)
            .is_some_and(|s| s.generation == generation && s.sticky.is_some())
    })
}

/// Returns the last error without resetting it (`cudaPeekAtLastError`).
pub fn peek_at_last_error() -> ErrorCode {
    LAST_ERROR.with(|l| {
        l.borrow()
            .as_ref()
            .map_or(ErrorCode::Success, |e| e.error.code())
    })
}

/// The name of an error code (`cudaGetErrorName`).
pub fn get_error_name(code: ErrorCode) -> &'static str {
    code.name()
}

/// The description of an error code (`cudaGetErrorString`).
pub fn get_error_string(code: ErrorCode) -> &'static str {
    code.description()
}
