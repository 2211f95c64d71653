//! Streams and events of the CPU device: each stream is a worker thread running its jobs in
//! order; events are completion counters with timestamps.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Instant;

use crate::error::{Error, ErrorCode, Result};

use super::CtxState;

/// A unit of stream work. `failed` tells it the context already has a sticky error (most
/// jobs then do nothing; host callbacks and event records still run so waiters never hang).
pub(crate) type Job = Box<dyn FnOnce(bool) -> Result<()> + Send>;

thread_local! {
    static IN_WORKER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the calling thread is a stream worker (running a job, e.g. a host function).
pub(crate) fn in_worker() -> bool {
    IN_WORKER.with(|w| w.get())
}

struct Queue {
    jobs: VecDeque<Job>,
    submitted: u64,
    completed: u64,
    worker: bool,
    closed: bool,
}

/// The shared core of a stream: its queue, counters and worker.
pub(crate) struct StreamCore {
    q: Mutex<Queue>,
    cv: Condvar,
    pub(crate) blocking: bool,
    pub(crate) null: bool,
    pub(crate) priority: i32,
    ctx: Weak<CtxState>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A job panicking cannot poison these locks (jobs run outside them); recover anyway.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl StreamCore {
    pub(crate) fn new(
        ctx: Weak<CtxState>,
        blocking: bool,
        null: bool,
        priority: i32,
    ) -> Arc<StreamCore> {
        Arc::new(StreamCore {
            q: Mutex::new(Queue {
                jobs: VecDeque::new(),
                submitted: 0,
                completed: 0,
                worker: false,
                closed: false,
            }),
            cv: Condvar::new(),
            blocking,
            null,
            priority,
            ctx,
        })
    }

    /// Appends a job; returns its sequence number (completed once `completed >= seq`).
    pub(crate) fn push(self: &Arc<Self>, job: Job) -> Result<u64> {
        let mut q = lock(&self.q);
        q.jobs.push_back(job);
        q.submitted += 1;
        let seq = q.submitted;
        if !q.worker {
            q.worker = true;
            let me = Arc::clone(self);
            let spawned = std::thread::Builder::new()
                .name("ferrocuda-stream".into())
                .spawn(move || me.run());
            if let Err(e) = spawned {
                q.worker = false;
                q.jobs.pop_back();
                q.submitted -= 1;
                return Err(Error::new(
                    ErrorCode::OutOfMemory,
                    format!("cannot start a stream worker thread: {e}"),
                ));
            }
        }
        self.cv.notify_all();
        Ok(seq)
    }

    fn run(self: Arc<Self>) {
        IN_WORKER.with(|w| w.set(true));
        loop {
            let job = {
                let mut q = lock(&self.q);
                loop {
                    if let Some(j) = q.jobs.pop_front() {
                        break Some(j);
                    }
                    if q.closed {
                        q.worker = false;
                        break None;
                    }
                    q = self.cv.wait(q).unwrap_or_else(|p| p.into_inner());
                }
            };
            let Some(job) = job else { return };
            let ctx = self.ctx.upgrade();
            let failed = ctx.as_ref().is_some_and(|c| c.sticky().is_some());
            if let Err(e) = job(failed) {
                if let Some(c) = &ctx {
                    c.set_sticky(e);
                }
            }
            drop(ctx);
            let mut q = lock(&self.q);
            q.completed += 1;
            self.cv.notify_all();
        }
    }

    /// Number of jobs submitted so far.
    pub(crate) fn submitted(&self) -> u64 {
        lock(&self.q).submitted
    }

    /// Whether every submitted job has completed.
    pub(crate) fn idle(&self) -> bool {
        let q = lock(&self.q);
        q.completed == q.submitted
    }

    /// Blocks until job `seq` has completed.
    pub(crate) fn wait_for(&self, seq: u64) {
        let mut q = lock(&self.q);
        while q.completed < seq {
            q = self.cv.wait(q).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Blocks until every job submitted so far has completed.
    pub(crate) fn drain(&self) {
        let seq = self.submitted();
        self.wait_for(seq);
    }

    /// Lets the worker exit once the queue is empty (the stream was destroyed).
    pub(crate) fn close(&self) {
        let mut q = lock(&self.q);
        q.closed = true;
        self.cv.notify_all();
    }
}

struct EventState {
    /// Number of records made.
    recorded: u64,
    /// Highest record that has completed.
    done: u64,
    /// When the latest completed record completed.
    time: Option<Instant>,
}

/// The shared state of an event.
pub(crate) struct EventCore {
    st: Mutex<EventState>,
    cv: Condvar,
    pub(crate) timing: bool,
}

impl EventCore {
    pub(crate) fn new(timing: bool) -> Arc<EventCore> {
        Arc::new(EventCore {
            st: Mutex::new(EventState {
                recorded: 0,
                done: 0,
                time: None,
            }),
            cv: Condvar::new(),
            timing,
        })
    }

    /// Starts a new record; the returned job completes it.
    pub(crate) fn record_job(self: &Arc<Self>) -> Job {
        let gen = {
            let mut st = lock(&self.st);
            st.recorded += 1;
            st.recorded
        };
        let me = Arc::clone(self);
        Box::new(move |_failed| {
            let mut st = lock(&me.st);
            if gen > st.done {
                st.done = gen;
                st.time = Some(Instant::now());
            }
            me.cv.notify_all();
            Ok(())
        })
    }

    /// The record a waiter started now must wait for (0: never recorded, nothing to wait).
    pub(crate) fn latest(&self) -> u64 {
        lock(&self.st).recorded
    }

    pub(crate) fn wait_gen(&self, gen: u64) {
        let mut st = lock(&self.st);
        while st.done < gen {
            st = self.cv.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    pub(crate) fn complete(&self) -> bool {
        let st = lock(&self.st);
        st.done >= st.recorded
    }

    /// Timestamp of the latest record: `Err(NOT_READY)` while pending,
    /// `Err(INVALID_HANDLE)` when never recorded.
    pub(crate) fn time(&self) -> Result<Instant> {
        let st = lock(&self.st);
        if st.recorded == 0 {
            return Err(Error::new(
                ErrorCode::InvalidHandle,
                "elapsed_ms: event was never recorded",
            ));
        }
        if st.done < st.recorded {
            return Err(Error::new(
                ErrorCode::NotReady,
                "elapsed_ms: event not complete",
            ));
        }
        st.time
            .ok_or_else(|| Error::new(ErrorCode::InvalidHandle, "event has no timestamp"))
    }
}
