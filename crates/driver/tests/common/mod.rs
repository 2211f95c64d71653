//! Helpers shared by the driver tests: every available device, and PTX sources.
#![allow(dead_code)]

use ferrocuda_driver::{self as driver, Context, ContextFlags, Device, Platform};

/// Initialises the driver and returns every device (the CPU device always, NVIDIA GPUs when
/// present), so each test runs on all of them. `FERROCUDA_TEST_PLATFORM=nvidia` (or `cpu`)
/// keeps one platform's devices.
pub fn devices() -> Vec<Device> {
    driver::init().expect("init");
    let all = Device::all().expect("device list");
    assert!(all.iter().any(|d| d.platform() == Platform::Cpu));
    match std::env::var("FERROCUDA_TEST_PLATFORM") {
        Ok(p) if !p.is_empty() => all
            .into_iter()
            .filter(|d| d.platform().name() == p)
            .collect(),
        _ => all,
    }
}

/// A fresh context on each available device.
pub fn contexts() -> Vec<Context> {
    devices()
        .into_iter()
        .map(|d| Context::new(d, ContextFlags::SCHED_AUTO).expect("context"))
        .collect()
}

/// A context on the CPU device.
pub fn cpu_context() -> Context {
    driver::init().expect("init");
    Context::new(Device::from_spec("cpu").unwrap(), ContextFlags::SCHED_AUTO).unwrap()
}

/// The first NVIDIA GPU, or `None` after printing why the calling test skips.
pub fn gpu() -> Option<Device> {
    driver::init().expect("init");
    match Device::from_spec("cuda:0") {
        Ok(d) => Some(d),
        Err(e) => {
            let reason = driver::nvidia_unavailable_reason().unwrap_or_else(|| e.to_string());
            eprintln!("skipping: no NVIDIA device: {reason}");
            None
        }
    }
}

/// `my_kernel(float *data, size_t n)`: `data[i] *= 2` for `i < n`.
pub const DOUBLE_PTX: &str = r#"
.version 7.0
.target sm_50
.address_size 64

.visible .entry my_kernel(
    .param .u64 data,
    .param .u64 n
)
{
    .reg .pred %p<2>;
    .reg .b32 %r<5>;
    .reg .f32 %f<3>;
    .reg .b64 %rd<6>;

    ld.param.u64 %rd1, [data];
    ld.param.u64 %rd2, [n];
    mov.u32 %r1, %ctaid.x;
    mov.u32 %r2, %ntid.x;
    mov.u32 %r3, %tid.x;
    mad.lo.s32 %r4, %r1, %r2, %r3;
    cvt.u64.u32 %rd3, %r4;
    setp.ge.u64 %p1, %rd3, %rd2;
    @%p1 bra DONE;
    cvta.to.global.u64 %rd4, %rd1;
    shl.b64 %rd5, %rd3, 2;
    add.s64 %rd4, %rd4, %rd5;
    ld.global.f32 %f1, [%rd4];
    add.f32 %f2, %f1, %f1;
    st.global.f32 [%rd4], %f2;
DONE:
    ret;
}
"#;

/// Kernels for launch, memory and error tests:
/// - `add_one(u32 *p, u32 n)`: `p[i] += 1` for `i < n` (1-D grid).
/// - `store_at(u64 addr, u32 v)`: thread 0 stores `v` at `addr` (for out-of-bounds faults).
/// - `axpb(u64 out, {f32 a; f32 b} s, u32 n)`: `out[i] = s.a * i + s.b` (struct argument).
/// - `shared_sum(u64 out)`: a block sums its thread ids through dynamic shared memory.
/// - `spin(u64 p, u32 iters)`: a loop of `iters` increments of `*p` by thread 0 (slow work).
/// - `counter` (`.global .u32`, initialised to 7).
pub const KERNELS_PTX: &str = r#"
.version 7.0
.target sm_50
.address_size 64

.visible .global .u32 counter = 7;
.extern .shared .align 4 .b8 dyn_smem[];

.visible .entry add_one(.param .u64 p, .param .u32 n)
{
    .reg .pred %p<2>;
    .reg .b32 %r<8>;
    .reg .b64 %rd<5>;
    ld.param.u64 %rd1, [p];
    ld.param.u32 %r1, [n];
    mov.u32 %r2, %ctaid.x;
    mov.u32 %r3, %ntid.x;
    mov.u32 %r4, %tid.x;
    mad.lo.s32 %r5, %r2, %r3, %r4;
    setp.ge.u32 %p1, %r5, %r1;
    @%p1 bra END;
    cvta.to.global.u64 %rd2, %rd1;
    mul.wide.u32 %rd3, %r5, 4;
    add.s64 %rd4, %rd2, %rd3;
    ld.global.u32 %r6, [%rd4];
    add.s32 %r7, %r6, 1;
    st.global.u32 [%rd4], %r7;
END:
    ret;
}

.visible .entry store_at(.param .u64 addr, .param .u32 v)
{
    .reg .pred %p<2>;
    .reg .b32 %r<3>;
    .reg .b64 %rd<2>;
    mov.u32 %r1, %tid.x;
    setp.ne.u32 %p1, %r1, 0;
    @%p1 bra END;
    ld.param.u64 %rd1, [addr];
    ld.param.u32 %r2, [v];
    st.global.u32 [%rd1], %r2;
END:
    ret;
}

.visible .entry axpb(.param .u64 out, .param .align 4 .b8 s[8], .param .u32 n)
{
    .reg .pred %p<2>;
    .reg .b32 %r<3>;
    .reg .f32 %f<6>;
    .reg .b64 %rd<5>;
    ld.param.u64 %rd1, [out];
    ld.param.f32 %f1, [s];
    ld.param.f32 %f2, [s+4];
    ld.param.u32 %r1, [n];
    mov.u32 %r2, %tid.x;
    setp.ge.u32 %p1, %r2, %r1;
    @%p1 bra END;
    cvt.rn.f32.u32 %f3, %r2;
    fma.rn.f32 %f4, %f1, %f3, %f2;
    cvta.to.global.u64 %rd2, %rd1;
    mul.wide.u32 %rd3, %r2, 4;
    add.s64 %rd4, %rd2, %rd3;
    st.global.f32 [%rd4], %f4;
END:
    ret;
}

.visible .entry shared_sum(.param .u64 out)
{
    .reg .pred %p<3>;
    .reg .b32 %r<8>;
    .reg .b64 %rd<3>;
    mov.u32 %r1, %tid.x;
    mov.u32 %r2, dyn_smem;
    shl.b32 %r3, %r1, 2;
    add.s32 %r4, %r2, %r3;
    st.shared.u32 [%r4], %r1;
    bar.sync 0;
    setp.ne.u32 %p1, %r1, 0;
    @%p1 bra END;
    mov.u32 %r5, 0;
    mov.u32 %r6, 0;
LOOP:
    shl.b32 %r3, %r6, 2;
    add.s32 %r4, %r2, %r3;
    ld.shared.u32 %r7, [%r4];
    add.s32 %r5, %r5, %r7;
    add.s32 %r6, %r6, 1;
    mov.u32 %r7, %ntid.x;
    setp.lt.u32 %p2, %r6, %r7;
    @%p2 bra LOOP;
    ld.param.u64 %rd1, [out];
    cvta.to.global.u64 %rd2, %rd1;
    st.global.u32 [%rd2], %r5;
END:
    ret;
}

.visible .entry spin(.param .u64 p, .param .u32 iters)
{
    .reg .pred %p<3>;
    .reg .b32 %r<6>;
    .reg .b64 %rd<3>;
    mov.u32 %r1, %tid.x;
    setp.ne.u32 %p1, %r1, 0;
    @%p1 bra END;
    ld.param.u64 %rd1, [p];
    cvta.to.global.u64 %rd2, %rd1;
    ld.param.u32 %r2, [iters];
    mov.u32 %r3, 0;
LOOP:
    setp.ge.u32 %p2, %r3, %r2;
    @%p2 bra END;
    ld.global.u32 %r4, [%rd2];
    add.s32 %r4, %r4, 1;
    st.global.u32 [%rd2], %r4;
    add.s32 %r3, %r3, 1;
    bra LOOP;
END:
    ret;
}
"#;

/// Loads `KERNELS_PTX` in `ctx`.
pub fn kernels(ctx: &Context) -> driver::Module {
    ctx.load_ptx(KERNELS_PTX).expect("KERNELS_PTX loads")
}

/// `f16` bits of a small integer (exact up to 2048).
pub fn half(v: i64) -> u16 {
    if v == 0 {
        return 0;
    }
    let sign = if v < 0 { 0x8000 } else { 0 };
    let a = v.unsigned_abs();
    let e = 63 - a.leading_zeros() as u16;
    sign | ((e + 15) << 10) | ((a << (10 - e)) & 0x3ff) as u16
}
