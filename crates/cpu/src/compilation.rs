//! When kernels are compiled to machine code: a policy per device, with a process-wide default.
//!
//! Compiling a kernel takes a few milliseconds (up to tens for large ones), which a kernel
//! launched a handful of times on small grids never earns back: a test suite's kernels run
//! faster in the interpreter than they compile. So by default the device *tiers*, as
//! JavaScript and WebAssembly engines do: a kernel starts in the interpreter, and once its
//! launches have taken [`HOT`] there, a background thread compiles it while launches go on
//! interpreted; launches use the compiled code from the moment it is ready. Both paths give
//! the same results, so when the switch happens changes only the speed. One thread per
//! process compiles, hot kernels in the order they got hot, so that many kernels turning hot
//! at once do not crowd the cores the launches run on.

use crate::Kernel;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// When a device compiles the kernels it runs (kernels the compiler does not cover always run
/// in the interpreter; [`crate::Kernel::interpreted_because`] says why).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Compilation {
    /// Never: every kernel runs in the interpreter.
    Off,
    /// In the background, once a kernel has run for [`HOT`] in the interpreter (the default).
    Tiered,
    /// At a kernel's first launch, before it runs (for benchmarks and for testing compiled
    /// code).
    Eager,
}

/// Interpreted launch time after which a kernel is compiled, under [`Compilation::Tiered`]:
/// about what compiling a large kernel takes.
pub const HOT: Duration = Duration::from_millis(10);

const UNSET: u8 = u8::MAX;
static DEFAULT: AtomicU8 = AtomicU8::new(UNSET);

impl Compilation {
    /// The policy named by `FERROCUDA_CPU_JIT`: `0`/`off`, `tiered` (or `1`), `eager`; `None`
    /// for anything else.
    pub fn from_name(name: &str) -> Option<Compilation> {
        match name.trim().to_ascii_lowercase().as_str() {
            "0" | "off" | "never" | "interpret" => Some(Compilation::Off),
            "1" | "on" | "tiered" => Some(Compilation::Tiered),
            "eager" | "always" => Some(Compilation::Eager),
            _ => None,
        }
    }

    fn code(self) -> u8 {
        match self {
            Compilation::Off => 0,
            Compilation::Tiered => 1,
            Compilation::Eager => 2,
        }
    }

    fn from_code(c: u8) -> Compilation {
        match c {
            0 => Compilation::Off,
            2 => Compilation::Eager,
            _ => Compilation::Tiered,
        }
    }
}

/// The policy of devices that have none of their own ([`crate::Device::set_compilation`]):
/// [`set_default_compilation`]'s, else `FERROCUDA_CPU_JIT`'s, else [`Compilation::Tiered`];
/// always [`Compilation::Off`] on hosts the compiler does not support.
pub fn default_compilation() -> Compilation {
    if !crate::jit::available() {
        return Compilation::Off;
    }
    let c = DEFAULT.load(Ordering::Relaxed);
    if c != UNSET {
        return Compilation::from_code(c);
    }
    let env = std::env::var("FERROCUDA_CPU_JIT")
        .ok()
        .and_then(|v| Compilation::from_name(&v))
        .unwrap_or(Compilation::Tiered);
    // A concurrent `set_default_compilation` wins over the environment.
    let _ = DEFAULT.compare_exchange(UNSET, env.code(), Ordering::Relaxed, Ordering::Relaxed);
    Compilation::from_code(DEFAULT.load(Ordering::Relaxed))
}

/// Sets the process-wide policy (over `FERROCUDA_CPU_JIT`) for devices without their own, the
/// driver layer's CPU device among them.
pub fn set_default_compilation(c: Compilation) {
    DEFAULT.store(c.code(), Ordering::Relaxed);
}

/// Queues `k` for the background compiler; it stays interpreted where no thread can be
/// started. The queue holds the kernel (its code and module) until it is compiled.
pub(crate) fn compile_in_background(k: Kernel) {
    static QUEUE: OnceLock<Option<Mutex<Sender<Kernel>>>> = OnceLock::new();
    let queue = QUEUE.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Kernel>();
        std::thread::Builder::new()
            .name("ferrocuda-cpu-jit".into())
            .spawn(move || {
                for k in rx {
                    k.compiled();
                }
            })
            .ok()
            .map(|_| Mutex::new(tx))
    });
    if let Some(q) = queue {
        let _ = q.lock().unwrap_or_else(|p| p.into_inner()).send(k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_names() {
        assert_eq!(Compilation::from_name("0"), Some(Compilation::Off));
        assert_eq!(Compilation::from_name(" OFF "), Some(Compilation::Off));
        assert_eq!(Compilation::from_name("1"), Some(Compilation::Tiered));
        assert_eq!(Compilation::from_name("tiered"), Some(Compilation::Tiered));
        assert_eq!(Compilation::from_name("Eager"), Some(Compilation::Eager));
        assert_eq!(Compilation::from_name("sometimes"), None);
        for c in [Compilation::Off, Compilation::Tiered, Compilation::Eager] {
            assert_eq!(Compilation::from_code(c.code()), c);
        }
    }
}
