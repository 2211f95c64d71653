//! Fast copies between pageable host memory and device memory, staged through page-locked
//! buffers by several host threads at once.
//!
//! A pageable copy cannot be handed to the DMA engine directly: the bytes must first land in
//! page-locked memory. Doing that with one thread and small buffers (what a plain pageable
//! `cuMemcpyHtoD` does) caps the copy at the speed of one host `memcpy`. Here a
//! [`StagedCopier`] splits the copy into chunks and gives them to up to [`MAX_LANES`]
//! "lanes": each lane is a host thread with its own stream and a few page-locked slots, so
//! several host `memcpy`s run in parallel while earlier chunks are on the bus.
//!
//! The driver's page-locked copies move whole buffers (a [`PinnedHostBuffer`] to a
//! [`DeviceBuffer`] of the same length), so each slot pairs a page-locked buffer with a
//! device staging buffer of the same size, and a small copy kernel moves each chunk between
//! the staging buffer and its place in the destination at device-memory speed. Staging data
//! is placed so that it has the same alignment modulo 16 as the user's device address, which
//! lets the kernel move 16 bytes per load and store whatever the offsets.
//!
//! Copies are synchronous, like `cudaMemcpy`: they are ordered after earlier work of the
//! legacy default stream (and, through it, of the context's blocking streams), and return
//! once every byte has arrived, successfully or not; no asynchronous work is left behind.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use driver::bytemuck::Pod;
use driver::{
    Context, DeviceBuffer, DevicePtr, DeviceSlice, DeviceSliceMut, Error, ErrorCode, Event,
    EventFlags, Function, MemoryKind, Module, PinnedHostBuffer, Platform, Result, Stream,
    StreamFlags,
};
use ferrocuda_driver as driver;

/// Most host threads (and streams) one copy uses: beyond eight, the host `memcpy`s already
/// outrun a PCIe 5 link, and more page-locked memory would only sit idle.
pub const MAX_LANES: usize = 8;

/// Whole-buffer copies below this size use the driver's plain copy: one round trip is
/// quicker than waking the lanes.
pub const STAGED_MIN_BYTES: usize = 1 << 21;

/// How a [`StagedCopier`] splits copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StagingConfig {
    /// Smallest chunk (a multiple of 16): small copies and tails use slots of this size.
    pub min_chunk: usize,
    /// Largest chunk (`min_chunk` times a power of 4): large copies use slots of this size.
    pub max_chunk: usize,
    /// Most lanes (threads and streams) used by one copy, at least 1.
    pub lanes: usize,
    /// Page-locked slots per lane and chunk size, at least 1: with 2, a lane fills one slot
    /// while the other is on the bus.
    pub slots: usize,
}

impl StagingConfig {
    /// 64 KiB to 4 MiB chunks, one lane per core up to [`MAX_LANES`], two slots per lane.
    ///
    /// 4 MiB chunks keep the per-chunk driver calls (a few microseconds) under 10% of a
    /// chunk's time on the bus (~75 µs at 55 GB/s), while 8 lanes × 2 slots of them (64 MiB
    /// page-locked at most) keep the copy engine fed.
    pub fn default_for_host() -> StagingConfig {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        StagingConfig {
            min_chunk: 64 << 10,
            max_chunk: 4 << 20,
            lanes: cores.clamp(1, MAX_LANES),
            slots: 2,
        }
    }

    fn check(&self) -> Result<()> {
        let ok = self.min_chunk >= 16
            && self.min_chunk % 16 == 0
            && self.max_chunk >= self.min_chunk
            && self.max_chunk % self.min_chunk == 0
            && (self.max_chunk / self.min_chunk).is_power_of_two()
            && (self.max_chunk / self.min_chunk).trailing_zeros() % 2 == 0
            && self.lanes >= 1
            && self.slots >= 1;
        if ok {
            Ok(())
        } else {
            Err(Error::invalid_value(format!(
                "staging configuration {self:?}: chunks must be multiples of 16, the largest the \
                 smallest times a power of 4, and lanes and slots at least 1"
            )))
        }
    }

    /// Chunk sizes from the smallest to the largest, each 4 times the previous.
    fn classes(&self) -> Vec<usize> {
        let mut v = vec![self.min_chunk];
        let mut size = self.min_chunk;
        while size < self.max_chunk {
            size *= 4;
            v.push(size);
        }
        v
    }
}

/// The copy kernel: `dst[i] = src[i]` for `i < n`, where `dst ≡ src (mod 16)`. Head and tail
/// bytes go one per thread; the aligned body 16 bytes per thread in a grid-stride loop.
const COPY_PTX: &str = r#"
.version 7.0
.target sm_50
.address_size 64

.visible .entry ferrocuda_staged_copy(
    .param .u64 ferrocuda_staged_copy_dst,
    .param .u64 ferrocuda_staged_copy_src,
    .param .u64 ferrocuda_staged_copy_n
)
{
    .reg .pred %p<4>;
    .reg .b16 %rs<3>;
    .reg .b32 %r<10>;
    .reg .b64 %rd<24>;

    ld.param.u64 %rd1, [ferrocuda_staged_copy_dst];
    ld.param.u64 %rd2, [ferrocuda_staged_copy_src];
    ld.param.u64 %rd3, [ferrocuda_staged_copy_n];
    cvta.to.global.u64 %rd1, %rd1;
    cvta.to.global.u64 %rd2, %rd2;
    mov.u32 %r1, %ctaid.x;
    mov.u32 %r2, %ntid.x;
    mov.u32 %r3, %tid.x;
    mov.u32 %r4, %nctaid.x;
    mul.wide.u32 %rd4, %r1, %r2;
    cvt.u64.u32 %rd5, %r3;
    add.u64 %rd4, %rd4, %rd5;
    mul.wide.u32 %rd6, %r4, %r2;
    neg.s64 %rd7, %rd1;
    and.b64 %rd7, %rd7, 15;
    min.u64 %rd7, %rd7, %rd3;
    sub.u64 %rd8, %rd3, %rd7;
    shr.u64 %rd9, %rd8, 4;
    shl.b64 %rd10, %rd9, 4;
    add.u64 %rd10, %rd10, %rd7;
    sub.u64 %rd11, %rd3, %rd10;
    setp.ge.u64 %p1, %rd4, %rd7;
    @%p1 bra $L_tail;
    add.u64 %rd12, %rd2, %rd4;
    ld.global.u8 %rs1, [%rd12];
    add.u64 %rd13, %rd1, %rd4;
    st.global.u8 [%rd13], %rs1;
$L_tail:
    setp.ge.u64 %p2, %rd4, %rd11;
    @%p2 bra $L_body;
    add.u64 %rd14, %rd10, %rd4;
    add.u64 %rd12, %rd2, %rd14;
    ld.global.u8 %rs2, [%rd12];
    add.u64 %rd13, %rd1, %rd14;
    st.global.u8 [%rd13], %rs2;
$L_body:
    add.u64 %rd15, %rd2, %rd7;
    add.u64 %rd16, %rd1, %rd7;
    mov.u64 %rd17, %rd4;
$L_loop:
    setp.ge.u64 %p3, %rd17, %rd9;
    @%p3 bra $L_done;
    shl.b64 %rd18, %rd17, 4;
    add.u64 %rd19, %rd15, %rd18;
    ld.global.v4.u32 {%r5, %r6, %r7, %r8}, [%rd19];
    add.u64 %rd20, %rd16, %rd18;
    st.global.v4.u32 [%rd20], {%r5, %r6, %r7, %r8};
    add.u64 %rd17, %rd17, %rd6;
    bra $L_loop;
$L_done:
    ret;
}
"#;

const KERNEL_BLOCK: u32 = 256;
const KERNEL_MAX_GRID: u64 = 1024;

/// A page-locked buffer and a device staging buffer of the same size (a chunk plus 16
/// bytes of alignment room).
struct Slot {
    pinned: PinnedHostBuffer<u8>,
    staging: DeviceBuffer<u8>,
}

/// One thread's share of a copy: its stream and its slots, per chunk size.
struct Lane {
    stream: Stream,
    /// `slots[class]`, allocated when a copy first uses that chunk size.
    slots: Vec<Vec<Slot>>,
}

/// The resources of one context, created on first use and reused by later copies.
struct Pool {
    kernel: Function,
    _module: Module,
    /// Recorded on the default stream at the start of a copy; the lanes wait for it.
    start: Event,
    lanes: Vec<Lane>,
}

/// Per-context staging state for fast pageable copies. Create one per context (the runtime
/// keeps one beside each primary context) and drop it before the context is reset: its
/// staging buffers belong to the context.
///
/// `Send + Sync`; concurrent copies through one copier take turns.
pub struct StagedCopier {
    ctx: Context,
    cfg: StagingConfig,
    classes: Vec<usize>,
    pool: Mutex<Option<Pool>>,
    /// Set when the copy kernel cannot be loaded on this device: whole-buffer copies then
    /// keep to the plain path instead of retrying the load each time.
    no_kernel: AtomicBool,
}

/// Why a staged copy failed.
enum Failure {
    /// Before any work was queued (kernel load, slot allocation): a plain copy can stand in.
    Setup(Error),
    /// While copying.
    Copy(Error),
}

impl Failure {
    fn into_error(self) -> Error {
        match self {
            Failure::Setup(e) | Failure::Copy(e) => e,
        }
    }
}

/// One chunk of a copy: bytes `off..off + len` of the host side, through slot class `class`.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    off: usize,
    len: usize,
    class: usize,
}

impl StagedCopier {
    /// A copier for `ctx` with [`StagingConfig::default_for_host`]. Allocates nothing until
    /// the first staged copy.
    pub fn new(ctx: &Context) -> StagedCopier {
        // The default configuration is valid by construction (checked in the tests).
        Self::build(ctx, StagingConfig::default_for_host())
    }

    /// A copier with an explicit configuration (`CUDA_ERROR_INVALID_VALUE` if it is
    /// inconsistent).
    pub fn with_config(ctx: &Context, cfg: StagingConfig) -> Result<StagedCopier> {
        cfg.check()?;
        Ok(Self::build(ctx, cfg))
    }

    fn build(ctx: &Context, cfg: StagingConfig) -> StagedCopier {
        StagedCopier {
            ctx: ctx.clone(),
            cfg,
            classes: cfg.classes(),
            pool: Mutex::new(None),
            no_kernel: AtomicBool::new(false),
        }
    }

    /// The context the copier stages for.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// Copies `src` into `dst`, device memory of the same length (a whole buffer is
    /// `buf.slice_mut(..)`), as `cuMemcpyHtoD`: small copies and the CPU device use the
    /// driver's plain copy, large ones the staged path (falling back to the plain copy when
    /// staging cannot be set up, e.g. out of page-locked memory).
    pub fn upload<T: Pod>(&self, mut dst: DeviceSliceMut<'_, T>, src: &[T]) -> Result<()> {
        let bytes: &[u8] = driver::bytemuck::cast_slice(src);
        if dst.len() != src.len() || !self.use_staging(dst.context(), bytes.len()) {
            return dst.copy_from_host(src);
        }
        match self.htod_unchecked(dst.device_ptr(), bytes) {
            Err(Failure::Setup(_)) => dst.copy_from_host(src),
            r => r.map_err(Failure::into_error),
        }
    }

    /// Copies `src`, device memory, into `dst` of the same length, as `cuMemcpyDtoH`, choosing
    /// the path as [`upload`](Self::upload) does.
    pub fn download<T: Pod>(&self, dst: &mut [T], src: DeviceSlice<'_, T>) -> Result<()> {
        if dst.len() != src.len() || !self.use_staging(src.context(), std::mem::size_of_val(dst)) {
            return src.copy_to_host(dst);
        }
        match self.dtoh_unchecked(driver::bytemuck::cast_slice_mut(dst), src.device_ptr()) {
            Err(Failure::Setup(_)) => src.copy_to_host(dst),
            r => r.map_err(Failure::into_error),
        }
    }

    fn use_staging(&self, ctx: &Context, bytes: usize) -> bool {
        *ctx == self.ctx
            && self.ctx.platform() == Platform::Nvidia
            && bytes >= STAGED_MIN_BYTES
            && !self.no_kernel.load(Ordering::Relaxed)
    }

    /// Copies `src` to device address `dst` (any alignment), always through the staging
    /// buffers. The range must lie in device memory of the copier's device
    /// (`CUDA_ERROR_INVALID_VALUE` otherwise, checked before any work is queued).
    pub fn copy_htod(&self, dst: DevicePtr, src: &[u8]) -> Result<()> {
        if src.is_empty() {
            return Ok(());
        }
        self.check_range(dst, src.len(), "copy_htod destination")?;
        self.htod_unchecked(dst, src).map_err(Failure::into_error)
    }

    /// Copies `dst.len()` bytes from device address `src` into `dst`, always through the
    /// staging buffers; the range is checked as for [`copy_htod`](Self::copy_htod).
    pub fn copy_dtoh(&self, dst: &mut [u8], src: DevicePtr) -> Result<()> {
        if dst.is_empty() {
            return Ok(());
        }
        self.check_range(src, dst.len(), "copy_dtoh source")?;
        self.dtoh_unchecked(dst, src).map_err(Failure::into_error)
    }

    /// Both ends of `ptr..ptr + len` must be device memory of this context's device: a copy
    /// kernel touching anything else would fault and poison the context.
    fn check_range(&self, ptr: DevicePtr, len: usize, what: &str) -> Result<()> {
        let last = (len as u64)
            .checked_sub(1)
            .and_then(|l| ptr.as_raw().checked_add(l))
            .ok_or_else(|| Error::invalid_value(format!("{what}: {len} bytes at {ptr} wrap")))?;
        for addr in [ptr.as_raw(), last] {
            let info = driver::pointer_info(addr)?;
            if info.kind != MemoryKind::Device || info.device != Some(self.ctx.device()) {
                return Err(Error::invalid_value(format!(
                    "{what}: {len} bytes at {ptr} are not all device memory of {:?} \
                     ({addr:#x} is not)",
                    self.ctx.device()
                )));
            }
        }
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Option<Pool>> {
        // A panic mid-copy leaves no queued work the slots do not already wait for.
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The chunks of an `n`-byte copy whose device end is `align` bytes past a 16-byte
    /// boundary, and how many lanes to spread them over.
    fn plan(&self, n: usize, align: usize) -> (Vec<Chunk>, usize) {
        let lanes = self.cfg.lanes;
        // The largest chunk size that still gives every lane work; the smallest otherwise.
        let top = (0..self.classes.len())
            .rev()
            .find(|&c| n >= self.classes[c] * lanes)
            .unwrap_or(0);
        let size = self.classes[top];
        let mut chunks = Vec::with_capacity(n.div_ceil(size));
        let mut off = 0;
        while off < n {
            let len = size.min(n - off);
            // A short tail uses the smallest slot it fits in.
            let class = (0..=top)
                .find(|&c| len + align <= self.classes[c] + 16)
                .unwrap_or(top);
            chunks.push(Chunk { off, len, class });
            off += len;
        }
        let used = lanes.min(chunks.len()).max(1);
        (chunks, used)
    }

    /// Loads the kernel, creates lanes up to `lanes` and the slots `chunks` need.
    fn prepare<'p>(
        &self,
        pool: &'p mut Option<Pool>,
        lanes: usize,
        chunks: &[Chunk],
    ) -> Result<&'p mut Pool> {
        if pool.is_none() {
            let loaded = self
                .ctx
                .load_ptx(COPY_PTX)
                .and_then(|m| m.function("ferrocuda_staged_copy").map(|f| (m, f)));
            let (module, kernel) = loaded.inspect_err(|_| {
                self.no_kernel.store(true, Ordering::Relaxed);
            })?;
            let start = self.ctx.create_event(EventFlags::DISABLE_TIMING)?;
            *pool = Some(Pool {
                kernel,
                _module: module,
                start,
                lanes: Vec::new(),
            });
        }
        let Some(p) = pool.as_mut() else {
            return Err(Error::new(ErrorCode::Unknown, "staging pool missing"));
        };
        while p.lanes.len() < lanes {
            p.lanes.push(Lane {
                stream: self.ctx.create_stream(StreamFlags::DEFAULT, 0)?,
                slots: (0..self.classes.len()).map(|_| Vec::new()).collect(),
            });
        }
        for (i, ch) in chunks.iter().enumerate() {
            let lane = &mut p.lanes[i % lanes];
            let have = &mut lane.slots[ch.class];
            if have.len() < self.cfg.slots {
                let bytes = self.classes[ch.class] + 16;
                have.push(Slot {
                    pinned: PinnedHostBuffer::new(&self.ctx, bytes)?,
                    staging: self.ctx.alloc::<u8>(bytes)?,
                });
            }
        }
        Ok(p)
    }

    /// Orders the lanes after earlier default-stream work (as a `cudaMemcpy` on the legacy
    /// default stream is).
    fn order_after_default(&self, p: &Pool, lanes: usize) -> Result<()> {
        p.start.record(&self.ctx.default_stream())?;
        for lane in &p.lanes[..lanes] {
            lane.stream.wait_event(&p.start)?;
        }
        Ok(())
    }

    fn htod_unchecked(&self, dst: DevicePtr, src: &[u8]) -> std::result::Result<(), Failure> {
        let align = (dst.as_raw() % 16) as usize;
        let (chunks, lanes) = self.plan(src.len(), align);
        let mut guard = self.lock();
        let pool = self
            .prepare(&mut guard, lanes, &chunks)
            .map_err(Failure::Setup)?;
        self.order_after_default(pool, lanes)
            .map_err(Failure::Copy)?;
        let kernel = &pool.kernel;
        let abort = AtomicBool::new(false);
        let run = |lane: &mut Lane, mine: Vec<Chunk>| -> Result<()> {
            let mut next = vec![0usize; self.classes.len()];
            for ch in mine {
                if abort.load(Ordering::Relaxed) {
                    break;
                }
                let r = htod_chunk(lane, &mut next, kernel, dst, src, ch, align);
                if r.is_err() {
                    abort.store(true, Ordering::Relaxed);
                    return r;
                }
            }
            Ok(())
        };
        let results = run_lanes(&mut pool.lanes[..lanes], &chunks, &run);
        finish(&mut pool.lanes[..lanes], results).map_err(Failure::Copy)
    }

    fn dtoh_unchecked(&self, dst: &mut [u8], src: DevicePtr) -> std::result::Result<(), Failure> {
        let align = (src.as_raw() % 16) as usize;
        let (chunks, lanes) = self.plan(dst.len(), align);
        let mut guard = self.lock();
        let pool = self
            .prepare(&mut guard, lanes, &chunks)
            .map_err(Failure::Setup)?;
        self.order_after_default(pool, lanes)
            .map_err(Failure::Copy)?;
        let kernel = &pool.kernel;
        let abort = AtomicBool::new(false);
        // Hand each lane the destination pieces of its chunks.
        let mut pieces: Vec<Vec<(Chunk, &mut [u8])>> = (0..lanes).map(|_| Vec::new()).collect();
        let mut rest = dst;
        for (i, ch) in chunks.iter().enumerate() {
            let (piece, tail) = rest.split_at_mut(ch.len);
            pieces[i % lanes].push((*ch, piece));
            rest = tail;
        }
        let results: Vec<Result<()>> = std::thread::scope(|s| {
            let mut handles = Vec::new();
            let mut first = None;
            for (lane, mine) in pool.lanes[..lanes].iter_mut().zip(pieces) {
                let abort = &abort;
                let job = move || {
                    let r = dtoh_lane(lane, kernel, src, mine, align, abort);
                    if r.is_err() {
                        abort.store(true, Ordering::Relaxed);
                    }
                    r
                };
                if first.is_none() {
                    first = Some(job);
                } else {
                    handles.push(s.spawn(job));
                }
            }
            let mut out = Vec::new();
            if let Some(job) = first {
                out.push(job());
            }
            out.extend(handles.into_iter().map(join));
            out
        });
        finish(&mut pool.lanes[..lanes], results).map_err(Failure::Copy)
    }
}

/// The result of a scoped lane thread; a panic becomes an error rather than crossing over.
fn join(h: std::thread::ScopedJoinHandle<'_, Result<()>>) -> Result<()> {
    h.join().unwrap_or_else(|_| {
        Err(Error::new(
            ErrorCode::Unknown,
            "a staging thread panicked during a copy",
        ))
    })
}

/// Runs `run` for each lane with its chunks (chunk `i` goes to lane `i % lanes`), the first
/// lane on the calling thread.
fn run_lanes<F>(lanes: &mut [Lane], chunks: &[Chunk], run: &F) -> Vec<Result<()>>
where
    F: Fn(&mut Lane, Vec<Chunk>) -> Result<()> + Sync,
{
    let n = lanes.len();
    let mut shares: Vec<Vec<Chunk>> = (0..n).map(|_| Vec::new()).collect();
    for (i, ch) in chunks.iter().enumerate() {
        shares[i % n].push(*ch);
    }
    std::thread::scope(|s| {
        let mut it = lanes.iter_mut().zip(shares);
        let first = it.next();
        let handles: Vec<_> = it.map(|(l, c)| s.spawn(move || run(l, c))).collect();
        let mut out = Vec::new();
        if let Some((l, c)) = first {
            out.push(run(l, c));
        }
        out.extend(handles.into_iter().map(join));
        out
    })
}

/// Waits for everything the lanes queued (so nothing is left running against the caller's
/// memory or the slots) and returns the first error.
fn finish(lanes: &mut [Lane], results: Vec<Result<()>>) -> Result<()> {
    let mut first: Result<()> = Ok(());
    for r in results {
        if first.is_ok() {
            first = r;
        }
    }
    for lane in lanes {
        let r = lane.stream.synchronize();
        if first.is_ok() {
            first = r;
        }
        for slot in lane.slots.iter_mut().flatten() {
            let r = slot.pinned.synchronize();
            if first.is_ok() {
                first = r;
            }
        }
    }
    first
}

/// The launch shape for moving `n` bytes: one 16-byte vector per thread, at most
/// `KERNEL_MAX_GRID` blocks (the kernel loops over the rest).
fn grid_for(n: usize) -> u32 {
    let vecs = (n as u64).div_ceil(16);
    let blocks = vecs
        .div_ceil(u64::from(KERNEL_BLOCK))
        .clamp(1, KERNEL_MAX_GRID);
    blocks as u32
}

/// Next slot of `class` in the lane's rotation.
fn take_slot<'l>(lane: &'l mut Lane, next: &mut [usize], class: usize) -> Result<&'l mut Slot> {
    let slots = &mut lane.slots[class];
    if slots.is_empty() {
        return Err(Error::new(ErrorCode::Unknown, "staging slot missing"));
    }
    let i = next[class] % slots.len();
    next[class] = next[class].wrapping_add(1);
    Ok(&mut slots[i])
}

/// Host → page-locked slot → staging buffer → `dst + off`, queued on the lane's stream.
fn htod_chunk(
    lane: &mut Lane,
    next: &mut [usize],
    kernel: &Function,
    dst: DevicePtr,
    src: &[u8],
    ch: Chunk,
    align: usize,
) -> Result<()> {
    let stream = lane.stream.clone();
    let slot = take_slot(lane, next, ch.class)?;
    // Waits until the slot's previous upload has left the page-locked buffer.
    let host = slot.pinned.as_mut_slice()?;
    host[align..align + ch.len].copy_from_slice(&src[ch.off..ch.off + ch.len]);
    stream.memcpy_htod_pinned_async(&mut slot.staging, &mut slot.pinned)?;
    let to = dst.offset(ch.off as u64);
    let from = slot.staging.device_ptr().offset(align as u64);
    let n = ch.len as u64;
    kernel.launch(
        grid_for(ch.len),
        KERNEL_BLOCK,
        0,
        &stream,
        &[&to, &from, &n],
    )
}

/// Device → staging → page-locked slot → host, with up to `slots` chunks in flight.
fn dtoh_lane(
    lane: &mut Lane,
    kernel: &Function,
    src: DevicePtr,
    mine: Vec<(Chunk, &mut [u8])>,
    align: usize,
    abort: &AtomicBool,
) -> Result<()> {
    let stream = lane.stream.clone();
    let mut next = vec![0usize; lane.slots.len()];
    // Chunks on their way: (class, slot index, piece).
    let mut queued: VecDeque<(usize, usize, &mut [u8])> = VecDeque::new();
    let mut result = Ok(());
    for (ch, piece) in mine {
        if abort.load(Ordering::Relaxed) {
            break;
        }
        let per_class = lane.slots[ch.class].len().max(1);
        let in_class = queued.iter().filter(|q| q.0 == ch.class).count();
        if in_class >= per_class {
            // The slot about to be reused holds the oldest chunk of this class: drain up to it.
            while let Some((class, i, out)) = queued.pop_front() {
                drain(&mut lane.slots[class][i], out, align)?;
                if class == ch.class {
                    break;
                }
            }
        }
        let i = next[ch.class] % per_class;
        next[ch.class] = next[ch.class].wrapping_add(1);
        let Some(slot) = lane.slots[ch.class].get_mut(i) else {
            result = Err(Error::new(ErrorCode::Unknown, "staging slot missing"));
            break;
        };
        let from = src.offset(ch.off as u64);
        let to = slot.staging.device_ptr().offset(align as u64);
        let n = ch.len as u64;
        let r = kernel
            .launch(
                grid_for(ch.len),
                KERNEL_BLOCK,
                0,
                &stream,
                &[&to, &from, &n],
            )
            .and_then(|()| stream.memcpy_dtoh_pinned_async(&mut slot.pinned, &slot.staging));
        if let Err(e) = r {
            result = Err(e);
            break;
        }
        queued.push_back((ch.class, i, piece));
    }
    if result.is_ok() && !abort.load(Ordering::Relaxed) {
        while let Some((class, i, out)) = queued.pop_front() {
            drain(&mut lane.slots[class][i], out, align)?;
        }
    }
    result
}

/// Copies a finished chunk out of its slot (waiting for it to arrive).
fn drain(slot: &mut Slot, out: &mut [u8], align: usize) -> Result<()> {
    let host = slot.pinned.as_slice()?;
    out.copy_from_slice(&host[align..align + out.len()]);
    Ok(())
}

/// Times staged copies of `bytes` bytes, `reps` times each way, on `ctx`'s device:
/// `(host-to-device GB/s, device-to-host GB/s)`, after one warm-up copy each way that also
/// checks the data arrives intact. For benchmarks against plain pageable copies.
#[doc(hidden)]
pub fn bench_staged(ctx: &Context, bytes: usize, reps: usize) -> Result<(f64, f64)> {
    let copier = StagedCopier::new(ctx);
    let src: Vec<u8> = (0..bytes)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761) as u8)
        .collect();
    let mut back = vec![0u8; bytes];
    let dev = ctx.alloc::<u8>(bytes)?;
    let ptr = dev.device_ptr();
    copier.copy_htod(ptr, &src)?;
    copier.copy_dtoh(&mut back, ptr)?;
    if back != src {
        return Err(Error::new(
            ErrorCode::Unknown,
            "staged copy benchmark: data came back different",
        ));
    }
    let reps = reps.max(1);
    let gbps = |secs: f64| (bytes * reps) as f64 / secs.max(1e-12) / 1e9;
    let t = Instant::now();
    for _ in 0..reps {
        copier.copy_htod(ptr, &src)?;
    }
    let h2d = gbps(t.elapsed().as_secs_f64());
    let t = Instant::now();
    for _ in 0..reps {
        copier.copy_dtoh(&mut back, ptr)?;
    }
    let d2h = gbps(t.elapsed().as_secs_f64());
    Ok((h2d, d2h))
}

/// Times the driver's plain pageable copies (`cuMemcpyHtoD` / `cuMemcpyDtoH`, what cudart's
/// pageable `cudaMemcpy` does) the same way as [`bench_staged`], for comparison.
#[doc(hidden)]
pub fn bench_plain(ctx: &Context, bytes: usize, reps: usize) -> Result<(f64, f64)> {
    let src: Vec<u8> = (0..bytes)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761) as u8)
        .collect();
    let mut back = vec![0u8; bytes];
    let mut dev = ctx.alloc::<u8>(bytes)?;
    dev.copy_from_host(&src)?;
    dev.copy_to_host(&mut back)?;
    let reps = reps.max(1);
    let gbps = |secs: f64| (bytes * reps) as f64 / secs.max(1e-12) / 1e9;
    let t = Instant::now();
    for _ in 0..reps {
        dev.copy_from_host(&src)?;
    }
    let h2d = gbps(t.elapsed().as_secs_f64());
    let t = Instant::now();
    for _ in 0..reps {
        dev.copy_to_host(&mut back)?;
    }
    let d2h = gbps(t.elapsed().as_secs_f64());
    Ok((h2d, d2h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use driver::Device;
    use std::sync::Arc;

    fn cpu() -> Context {
        driver::init().unwrap();
        Device::from_spec("cpu")
            .unwrap()
            .retain_primary_context()
            .unwrap()
    }

    /// Small chunks so that the chunking, tails and slot rotation are exercised quickly.
    fn small(ctx: &Context, lanes: usize) -> StagedCopier {
        let cfg = StagingConfig {
            min_chunk: 64,
            max_chunk: 1024,
            lanes,
            slots: 2,
        };
        StagedCopier::with_config(ctx, cfg).unwrap()
    }

    fn pattern(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    #[test]
    fn configurations_are_checked() {
        let ctx = cpu();
        StagingConfig::default_for_host().check().unwrap();
        assert_eq!(
            StagingConfig::default_for_host().classes(),
            vec![64 << 10, 256 << 10, 1 << 20, 4 << 20]
        );
        let bad = [
            (8, 64, 1, 1),
            (64, 100, 1, 1),
            (64, 128, 1, 1),
            (64, 32, 1, 1),
            (64, 256, 0, 1),
            (64, 256, 1, 0),
        ];
        for (min_chunk, max_chunk, lanes, slots) in bad {
            let cfg = StagingConfig {
                min_chunk,
                max_chunk,
                lanes,
                slots,
            };
            let err = StagedCopier::with_config(&ctx, cfg).err().unwrap();
            assert_eq!(err.code(), ErrorCode::InvalidValue, "{cfg:?}");
        }
    }

    #[test]
    fn plans_cover_the_copy_with_fitting_slots() {
        let ctx = cpu();
        let c = small(&ctx, 3);
        for n in [1, 63, 64, 65, 1000, 3 * 1024, 3 * 1024 + 1, 20_000] {
            for align in [0, 5, 15] {
                let (chunks, lanes) = c.plan(n, align);
                assert!((1..=3).contains(&lanes));
                let mut off = 0;
                for ch in &chunks {
                    assert_eq!(ch.off, off);
                    assert!(ch.len > 0);
                    assert!(
                        ch.len + align <= c.classes[ch.class] + 16,
                        "{n} {align} {ch:?}"
                    );
                    off += ch.len;
                }
                assert_eq!(off, n);
            }
        }
        // Large copies use the largest chunks; small ones the smallest.
        assert!(c
            .plan(20_000, 0)
            .0
            .iter()
            .all(|ch| ch.len == 1024 || ch.off == 19 * 1024));
        assert_eq!(c.plan(100, 0).0.len(), 2);
    }

    #[test]
    fn round_trips_at_every_size_and_offset() {
        let ctx = cpu();
        let c = small(&ctx, 3);
        let sizes = [
            0,
            1,
            15,
            16,
            17,
            63,
            64,
            65,
            1023,
            1024,
            1025,
            3 * 1024 + 77,
            9 * 1024 + 5,
        ];
        for &n in &sizes {
            for off in [0usize, 1, 7, 15, 16, 33] {
                let total = n + off + 40;
                let mut dev = ctx.alloc::<u8>(total).unwrap();
                dev.memset_d8(0xAB).unwrap();
                let src = pattern(n, off as u8);
                let ptr = dev.device_ptr().offset(off as u64);
                c.copy_htod(ptr, &src).unwrap();
                let all = dev.to_vec().unwrap();
                assert!(all[..off].iter().all(|&b| b == 0xAB), "n={n} off={off}");
                assert_eq!(&all[off..off + n], &src[..], "n={n} off={off}");
                assert!(all[off + n..].iter().all(|&b| b == 0xAB), "n={n} off={off}");

                // Read back a differently aligned window of the same buffer.
                let mut back = vec![0x11u8; n];
                c.copy_dtoh(&mut back, ptr).unwrap();
                assert_eq!(back, src, "n={n} off={off}");
                if n > 2 {
                    let mut part = vec![0u8; n - 2];
                    c.copy_dtoh(&mut part, ptr.offset(1)).unwrap();
                    assert_eq!(&part[..], &src[1..n - 1], "n={n} off={off}");
                }
            }
        }
    }

    #[test]
    fn one_lane_and_one_slot_still_pipeline_correctly() {
        let ctx = cpu();
        let cfg = StagingConfig {
            min_chunk: 16,
            max_chunk: 64,
            lanes: 1,
            slots: 1,
        };
        let c = StagedCopier::with_config(&ctx, cfg).unwrap();
        let src = pattern(1000, 9);
        let dev = ctx.alloc::<u8>(1003).unwrap();
        let ptr = dev.device_ptr().offset(3);
        c.copy_htod(ptr, &src).unwrap();
        let mut back = vec![0u8; 1000];
        c.copy_dtoh(&mut back, ptr).unwrap();
        assert_eq!(back, src);
    }

    #[test]
    fn copies_are_ordered_after_default_stream_work() {
        let ctx = cpu();
        let c = small(&ctx, 2);
        let mut dev = ctx.alloc::<u8>(5000).unwrap();
        let stream = ctx.default_stream();
        stream.memset_d8_async(&mut dev, 7).unwrap();
        let mut back = vec![0u8; 5000];
        c.copy_dtoh(&mut back, dev.device_ptr()).unwrap();
        assert!(back.iter().all(|&b| b == 7));
    }

    #[test]
    fn concurrent_callers_share_one_copier() {
        let ctx = cpu();
        let c = Arc::new(small(&ctx, 3));
        let handles: Vec<_> = (0..4u8)
            .map(|t| {
                let c = Arc::clone(&c);
                let ctx = ctx.clone();
                std::thread::spawn(move || {
                    let n = 4000 + usize::from(t) * 333;
                    let dev = ctx.alloc::<u8>(n + 8).unwrap();
                    let ptr = dev.device_ptr().offset(u64::from(t));
                    for round in 0..5u8 {
                        let src = pattern(n, t.wrapping_mul(50).wrapping_add(round));
                        c.copy_htod(ptr, &src).unwrap();
                        let mut back = vec![0u8; n];
                        c.copy_dtoh(&mut back, ptr).unwrap();
                        assert_eq!(back, src, "thread {t} round {round}");
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }

    #[test]
    fn bad_device_ranges_are_invalid_value_and_leave_the_context_usable() {
        let ctx = cpu();
        let c = small(&ctx, 2);
        let dev = ctx.alloc::<u8>(1000).unwrap();
        let data = vec![1u8; 2000];
        let mut back = vec![0u8; 2000];
        let cases = [
            DevicePtr::from_raw(0),
            DevicePtr::from_raw(u64::MAX - 10),
            DevicePtr::from_raw(0x10),
            // Starts inside the allocation, runs past its end.
            dev.device_ptr().offset(500),
            // A host address.
            DevicePtr::from_raw(data.as_ptr() as u64),
        ];
        for ptr in cases {
            let e = c.copy_htod(ptr, &data).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidValue, "{ptr}");
            let e = c.copy_dtoh(&mut back, ptr).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidValue, "{ptr}");
        }
        // Nothing was queued and nothing is sticky: a valid copy still works.
        c.copy_htod(dev.device_ptr(), &data[..1000]).unwrap();
        ctx.synchronize().unwrap();
        assert_eq!(dev.to_vec().unwrap(), vec![1u8; 1000]);
    }

    #[test]
    fn memory_of_another_context_device_is_refused() {
        // The range must belong to the copier's device; the CPU device has only itself to
        // compare with, so a freed range stands in for foreign memory.
        let ctx = cpu();
        let c = small(&ctx, 1);
        let ptr = {
            let dev = ctx.alloc::<u8>(300).unwrap();
            dev.device_ptr()
        };
        let e = c.copy_htod(ptr, &[1, 2, 3]).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidValue);
    }

    #[test]
    fn typed_whole_buffer_copies() {
        let ctx = cpu();
        let c = StagedCopier::new(&ctx);
        let src: Vec<u32> = (0..10_000).collect();
        let mut dev = ctx.alloc::<u32>(src.len()).unwrap();
        c.upload(dev.slice_mut(..).unwrap(), &src).unwrap();
        let mut back = vec![0u32; src.len()];
        c.download(&mut back, dev.slice(..).unwrap()).unwrap();
        assert_eq!(back, src);
        let e = c.upload(dev.slice_mut(..).unwrap(), &src[..5]).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidValue);
        let e = c
            .download(&mut back[..5], dev.slice(..).unwrap())
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidValue);
    }

    #[test]
    fn bench_reports_positive_rates() {
        let ctx = cpu();
        let (h2d, d2h) = bench_staged(&ctx, 200_000, 2).unwrap();
        assert!(h2d > 0.0 && d2h > 0.0);
        let (h2d, d2h) = bench_plain(&ctx, 200_000, 2).unwrap();
        assert!(h2d > 0.0 && d2h > 0.0);
    }

    /// Runs on an NVIDIA GPU only (skips elsewhere): default configuration, 256 MiB, data
    /// checked, rates printed (`--nocapture`).
    #[test]
    fn gpu_staged_copies_are_correct_and_fast() {
        driver::init().unwrap();
        let Ok(dev) = Device::from_spec("cuda:0") else {
            eprintln!("no NVIDIA GPU: skipped");
            return;
        };
        if dev.platform() != Platform::Nvidia {
            return;
        }
        let ctx = dev.retain_primary_context().unwrap();
        let c = StagedCopier::new(&ctx);
        // Odd sizes and offsets through the default configuration.
        for (n, off) in [
            (1usize, 0u64),
            (70_001, 3),
            ((5 << 20) + 9, 1),
            (33 << 20, 0),
        ] {
            let buf = ctx.alloc::<u8>(n + 16).unwrap();
            let src = pattern(n, 3);
            let ptr = buf.device_ptr().offset(off);
            c.copy_htod(ptr, &src).unwrap();
            let mut back = vec![0u8; n];
            c.copy_dtoh(&mut back, ptr).unwrap();
            assert!(back == src, "n={n} off={off}");
        }
        // Typed whole-buffer copies above the staging threshold.
        let src: Vec<u32> = (0..(3u32 << 20) + 7).collect();
        let mut buf = ctx.alloc::<u32>(src.len()).unwrap();
        c.upload(buf.slice_mut(..).unwrap(), &src).unwrap();
        let mut back = vec![0u32; src.len()];
        c.download(&mut back, buf.slice(..).unwrap()).unwrap();
        assert!(back == src);
        let (ph, pd) = bench_plain(&ctx, 256 << 20, 5).unwrap();
        let (h2d, d2h) = bench_staged(&ctx, 256 << 20, 5).unwrap();
        eprintln!(
            "pageable copies, 256 MiB: staged H2D {h2d:.1} GB/s, D2H {d2h:.1} GB/s; \
             plain H2D {ph:.1} GB/s, D2H {pd:.1} GB/s"
        );
    }
}
