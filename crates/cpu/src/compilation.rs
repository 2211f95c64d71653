//! When kernels are compiled to machine code: a policy per device, with a process-wide default.
//!
//! Compiling a kernel takes a few milliseconds (up to tens for large ones), which a kernel
//! launched a handful of times on small grids never earns back: a test suite's kernels run
//! faster in the interpreter than they compile. So by default the device *tiers*, as
//! JavaScript and WebAssembly engines do: a kernel starts in the interpreter, and once its
//! launches have taken [`HOT`] there, a background thread compiles it while launches go on
//! interpreted. One thread per process compiles, hot kernels in the order they got hot, so
//! that many kernels turning hot at once do not crowd the cores the launches run on.
//!
//! Compiled code is not faster for every kernel: it runs one thread (or four) at a time, which wins
//! on divergent, memory-bound and shared-memory code, while the interpreter's lockstep warps run
//! uniform arithmetic loops over 32 lanes with vector instructions. So once the compiled code is
//! ready, the blocks of the next launches alternate between the two paths (blocks of one launch run
//! the same code on the same sizes, so their times compare fairly) until they have run for
//! [`TRIAL`] between them, four blocks each at least. (Waiting for a fixed time on each path
//! instead would make a path many times slower costly.) From then on the kernel runs on the path
//! that cost less per thread, and after [`RECHECK`] of launches there it compares again, since a
//! kernel's launches may change their sizes or data, and with them the winner. A long launch does
//! all of this between its own blocks. Both paths give the same results, so the choice changes only
//! the speed.

use crate::Kernel;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
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

/// Block time the two paths accumulate between them while tiered compilation compares them.
pub const TRIAL: Duration = Duration::from_millis(10);

/// Blocks each path runs at least while tiered compilation compares them.
const TRIAL_BLOCKS: u64 = 4;

/// Launch time on the chosen path after which tiered compilation compares the paths again
/// (fifty times [`TRIAL`], so comparing costs at most a few percent).
pub const RECHECK: Duration = Duration::from_millis(500);

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

/// A kernel's state under tiered compilation.
#[derive(Default)]
pub(crate) struct Tiering {
    /// Nanoseconds its launches spent in the interpreter before it was compiled.
    interpreted_ns: AtomicU64,
    /// Queued for compilation (or found not to be compilable).
    requested: AtomicBool,
    /// Alternates the paths of compared blocks.
    turn: AtomicU64,
    /// Nanoseconds, threads and blocks of the compared blocks: interpreted, compiled.
    trial_ns: [AtomicU64; 2],
    trial_threads: [AtomicU64; 2],
    trial_blocks: [AtomicU64; 2],
    /// [`UNDECIDED`], or which path ran the compared blocks faster.
    choice: AtomicU8,
    /// Nanoseconds of launches on the chosen path since the choice.
    since_choice_ns: AtomicU64,
}

const UNDECIDED: u8 = 0;
const INTERPRETER: u8 = 1;
const COMPILED: u8 = 2;

/// Where a block runs under tiered compilation.
pub(crate) enum BlockPath {
    Interpreter,
    Compiled,
    /// On this path (`true`: compiled), timed for the comparison.
    Trial(bool),
}

impl Tiering {
    /// Adds an interpreted launch's time; whether the kernel is now hot.
    pub(crate) fn interpreted_for(&self, t: Duration) -> bool {
        let ns = t.as_nanos().min(u64::MAX as u128) as u64;
        let total = self.interpreted_ns.fetch_add(ns, Ordering::Relaxed) + ns;
        total >= HOT.as_nanos() as u64
    }

    /// Whether the kernel is hot counting a launch under way since `started`.
    pub(crate) fn hot_since(&self, started: std::time::Instant) -> bool {
        self.interpreted_ns.load(Ordering::Relaxed) as u128 + started.elapsed().as_nanos()
            >= HOT.as_nanos()
    }

    /// True the first time only: the caller queues the kernel.
    pub(crate) fn request(&self) -> bool {
        !self.requested.load(Ordering::Relaxed) && !self.requested.swap(true, Ordering::Relaxed)
    }

    pub(crate) fn requested(&self) -> bool {
        self.requested.load(Ordering::Relaxed)
    }

    /// Which path ran the compared blocks faster (`Some(true)`: compiled), once measured.
    pub(crate) fn choice(&self) -> Option<bool> {
        match self.choice.load(Ordering::Relaxed) {
            UNDECIDED => None,
            c => Some(c == COMPILED),
        }
    }

    /// Where the next block runs, the compiled code being ready.
    pub(crate) fn path(&self) -> BlockPath {
        match self.choice() {
            Some(true) => BlockPath::Compiled,
            Some(false) => BlockPath::Interpreter,
            None => BlockPath::Trial(self.turn.fetch_add(1, Ordering::Relaxed) % 2 == 1),
        }
    }

    /// Adds a launch's time on the chosen path; after [`RECHECK`], forgets the choice (and the
    /// comparison it came from) so that the next blocks compare the paths again.
    pub(crate) fn ran_chosen(&self, t: Duration) {
        let ns = t.as_nanos().min(u64::MAX as u128) as u64;
        let total = self.since_choice_ns.fetch_add(ns, Ordering::Relaxed) + ns;
        if total < RECHECK.as_nanos() as u64 {
            return;
        }
        for a in self
            .trial_ns
            .iter()
            .chain(&self.trial_threads)
            .chain(&self.trial_blocks)
        {
            a.store(0, Ordering::Relaxed);
        }
        self.since_choice_ns.store(0, Ordering::Relaxed);
        self.choice.store(UNDECIDED, Ordering::Relaxed);
    }

    /// Records a compared block; decides once the paths have run for [`TRIAL`] between them,
    /// [`TRIAL_BLOCKS`] blocks each.
    pub(crate) fn trial(&self, compiled: bool, t: Duration, threads: u64) {
        let p = compiled as usize;
        let ns = t.as_nanos().min(u64::MAX as u128) as u64;
        self.trial_ns[p].fetch_add(ns, Ordering::Relaxed);
        self.trial_threads[p].fetch_add(threads, Ordering::Relaxed);
        self.trial_blocks[p].fetch_add(1, Ordering::Relaxed);
        let ns = self.trial_ns.each_ref().map(|a| a.load(Ordering::Relaxed));
        let blocks = self
            .trial_blocks
            .each_ref()
            .map(|a| a.load(Ordering::Relaxed));
        if (ns[0] as u128 + ns[1] as u128) < TRIAL.as_nanos()
            || blocks.iter().any(|&b| b < TRIAL_BLOCKS)
        {
            return;
        }
        let threads = self
            .trial_threads
            .each_ref()
            .map(|a| a.load(Ordering::Relaxed));
        let c = if compiled_is_faster((ns[0], threads[0]), (ns[1], threads[1])) {
            COMPILED
        } else {
            INTERPRETER
        };
        let _ = self
            .choice
            .compare_exchange(UNDECIDED, c, Ordering::Relaxed, Ordering::Relaxed);
    }
}

/// Compiled code wins when its blocks cost no more per thread than the interpreter's
/// (`(nanoseconds, threads)` of each).
fn compiled_is_faster(interpreted: (u64, u64), compiled: (u64, u64)) -> bool {
    // ns_c / threads_c <= ns_i / threads_i, without dividing.
    compiled.0 as u128 * interpreted.1 as u128 <= interpreted.0 as u128 * compiled.1 as u128
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

    #[test]
    fn the_path_with_the_lower_cost_per_thread_wins() {
        assert!(compiled_is_faster((1000, 10), (500, 10)));
        assert!(!compiled_is_faster((500, 10), (1000, 10)));
        // Per thread, whatever the number of blocks each path ran.
        assert!(compiled_is_faster((1000, 10), (1800, 20)));
        assert!(!compiled_is_faster((1000, 10), (2200, 20)));
        assert!(compiled_is_faster((7, 7), (7, 7)));
        assert!(compiled_is_faster(
            (u64::MAX, 1 << 40),
            (u64::MAX / 2, 1 << 40)
        ));
    }

    #[test]
    fn comparison_alternates_then_decides_once_both_paths_ran_long_enough() {
        let t = Tiering::default();
        let mut paths = Vec::new();
        for _ in 0..4 {
            match t.path() {
                BlockPath::Trial(c) => paths.push(c),
                _ => panic!("decided before measuring"),
            }
        }
        assert_eq!(paths, [false, true, false, true]);
        let block = TRIAL / 8;
        for _ in 0..4 {
            t.trial(false, block, 256);
            assert_eq!(t.choice(), None);
        }
        // Past `TRIAL` in all, but three compiled blocks are too few.
        for _ in 0..3 {
            t.trial(true, block * 2, 256);
            assert_eq!(t.choice(), None);
        }
        t.trial(true, block * 2, 256);
        // The compiled blocks cost twice as much per thread.
        assert_eq!(t.choice(), Some(false));
        assert!(matches!(t.path(), BlockPath::Interpreter));
        // Later samples do not change a decision.
        t.trial(true, Duration::ZERO, 1 << 30);
        assert_eq!(t.choice(), Some(false));
        // After `RECHECK` on the chosen path, the paths are compared afresh.
        t.ran_chosen(RECHECK / 2);
        assert_eq!(t.choice(), Some(false));
        t.ran_chosen(RECHECK / 2);
        assert_eq!(t.choice(), None);
        assert!(matches!(t.path(), BlockPath::Trial(_)));
        for _ in 0..4 {
            assert_eq!(t.choice(), None);
            t.trial(false, TRIAL / 4, 256);
            t.trial(true, TRIAL / 8, 256);
        }
        assert_eq!(t.choice(), Some(true));
    }
}
