//! Kernels compiled to machine code against the interpreter: the same results bit for bit,
//! the same faults at the same PTX lines, and progress when a thread waits for a later thread
//! of its block.

use ferrocuda_cpu::{Compilation, Device, Error, LaunchConfig};

#[path = "../benches/ptx_sources.rs"]
mod ptx_sources;
use ptx_sources::{lcg_divergent, LCG};

const MIX: &str = r#"
.version 8.0
.target sm_90
.address_size 64

.visible .entry mix(.param .u64 out, .param .u64 src, .param .u64 counter, .param .f32 s)
{
    .local .align 8 .b8 buf[32];
    .reg .pred %p<8>;
    .reg .b32 %r<64>;
    .reg .f32 %f<16>;
    .reg .b64 %rd<24>;
    ld.param.u64 %rd1, [out];
    ld.param.u64 %rd2, [src];
    ld.param.u64 %rd3, [counter];
    ld.param.f32 %f1, [s];
    mov.u32 %r1, %tid.x;
    mov.u32 %r2, %tid.y;
    mov.u32 %r3, %ntid.x;
    mov.u32 %r4, %ctaid.x;
    mad.lo.s32 %r5, %r2, %r3, %r1;
    mov.u32 %r6, %ntid.y;
    mul.lo.s32 %r7, %r3, %r6;
    mad.lo.s32 %r8, %r4, %r7, %r5;
    mul.wide.u32 %rd4, %r8, 64;
    add.s64 %rd5, %rd1, %rd4;
    mul.wide.u32 %rd6, %r8, 4;
    add.s64 %rd7, %rd2, %rd6;
    ld.global.u32 %r9, [%rd7];
    // Shifts by counts beyond the width, signed and unsigned.
    and.b32 %r10, %r8, 63;
    shl.b32 %r11, %r9, %r10;
    shr.u32 %r12, %r9, %r10;
    neg.s32 %r13, %r9;
    shr.s32 %r14, %r13, %r10;
    xor.b32 %r15, %r11, %r12;
    xor.b32 %r15, %r15, %r14;
    st.global.u32 [%rd5], %r15;
    // Wide and high multiplies, division by zero, remainders, min and max, not.
    mul.wide.s32 %rd8, %r13, %r9;
    mul.hi.u32 %r16, %r9, %r13;
    and.b32 %r17, %r8, 7;
    div.u32 %r18, %r9, %r17;
    rem.s32 %r19, %r13, 5;
    min.s32 %r20, %r13, %r19;
    max.u32 %r21, %r13, %r19;
    not.b32 %r22, %r21;
    add.s32 %r23, %r16, %r18;
    add.s32 %r23, %r23, %r20;
    add.s32 %r23, %r23, %r22;
    cvt.u32.u64 %r24, %rd8;
    shr.u64 %rd9, %rd8, 32;
    cvt.u32.u64 %r25, %rd9;
    st.global.v4.u32 [%rd5+16], {%r23, %r24, %r25, %r19};
    // Floats: NaN from inf - inf, fused multiply-add, conversions, square roots.
    cvt.rn.f32.u32 %f2, %r9;
    mul.rn.f32 %f3, %f2, %f1;
    div.rn.f32 %f4, %f1, 0f00000000;
    sub.rn.f32 %f5, %f4, %f4;
    setp.lt.u32 %p1, %r10, 32;
    selp.f32 %f6, %f5, %f3, %p1;
    fma.rn.f32 %f7, %f3, %f2, %f1;
    sqrt.rn.f32 %f8, %f7;
    add.rn.f32 %f9, %f8, %f6;
    cvt.rzi.s32.f32 %r26, %f8;
    mov.b32 %r27, %f9;
    st.global.v2.u32 [%rd5+8], {%r27, %r26};
    // Divergent loop: tid % 7 iterations.
    rem.u32 %r28, %r8, 7;
    mov.u32 %r29, 0;
    mov.u32 %r30, %r9;
L1:
    setp.ge.u32 %p2, %r29, %r28;
    @%p2 bra L2;
    mad.lo.s32 %r30, %r30, 1664525, 1013904223;
    add.s32 %r29, %r29, 1;
    bra L1;
L2:
    st.global.u32 [%rd5+32], %r30;
    // Local memory indexed per thread, and generic addressing.
    mov.u64 %rd10, buf;
    and.b32 %r31, %r8, 3;
    mul.wide.u32 %rd11, %r31, 4;
    add.s64 %rd12, %rd10, %rd11;
    st.local.u32 [%rd10], 0;
    st.local.u32 [%rd10+4], 0;
    st.local.u32 [%rd10+8], 0;
    st.local.u32 [%rd10+12], 0;
    st.local.u32 [%rd12], %r9;
    ld.local.u32 %r32, [%rd10+4];
    cvta.to.global.u64 %rd13, %rd7;
    cvta.global.u64 %rd14, %rd13;
    ld.u32 %r33, [%rd14];
    add.s32 %r34, %r32, %r33;
    st.global.u32 [%rd5+36], %r34;
    // Lane registers, predicates and 64-bit shifts.
    mov.u32 %r35, %laneid;
    mov.u32 %r36, %warpid;
    mov.u32 %r37, %lanemask_lt;
    setp.ne.u32 %p3, %r35, 3;
    not.pred %p4, %p3;
    and.pred %p5, %p4, %p1;
    selp.u32 %r38, %r37, %r36, %p5;
    @%p3 add.s32 %r38, %r38, %r35;
    st.global.u32 [%rd5+40], %r38;
    cvt.u64.u32 %rd15, %r9;
    shl.b64 %rd16, %rd15, 40;
    shr.s64 %rd17, %rd16, %r10;
    st.global.u64 [%rd5+48], %rd17;
    add.s32 %r42, %r10, 30;
    shl.b64 %rd18, %rd15, %r42;
    shr.u64 %rd19, %rd16, %r42;
    xor.b64 %rd20, %rd18, %rd19;
    cvt.u32.u64 %r43, %rd20;
    shr.u64 %rd21, %rd20, 32;
    cvt.u32.u64 %r44, %rd21;
    xor.b32 %r45, %r43, %r44;
    st.global.u32 [%rd5+56], %r45;
    // Atomics: a count of threads and a maximum.
    atom.global.add.u32 %r39, [%rd3], 1;
    atom.global.max.u32 %r40, [%rd3+4], %r9;
    setp.lt.u32 %p6, %r39, 1000000;
    selp.u32 %r41, 1, 0, %p6;
    st.global.u32 [%rd5+44], %r41;
    ret;
}
"#;

fn device(compiled: bool) -> Device {
    let mut d = Device::with_workers(2);
    d.set_compilation(if compiled {
        Compilation::Eager
    } else {
        Compilation::Off
    });
    d
}

/// Compiled kernels that qualify get a quad function (unless `FERROCUDA_CPU_JIT_QUADS=0`
/// turns them off, to test the one-thread function alone).
fn quads() -> bool {
    std::env::var_os("FERROCUDA_CPU_JIT_QUADS").is_none_or(|v| v != "0")
}

fn load(d: &Device, src: &str) -> ferrocuda_cpu::LoadedModule {
    d.load_module(&ferrocuda_ptx::parse(src).unwrap()).unwrap()
}

/// Device memory holding `bytes`.
fn upload(d: &Device, bytes: &[u8]) -> u64 {
    let a = d.memory().alloc(bytes.len() as u64).unwrap();
    d.memory().write(a, bytes).unwrap();
    a
}

fn cfg(grid: u32, block: [u32; 3]) -> LaunchConfig {
    LaunchConfig {
        grid: [grid, 1, 1],
        block,
        dynamic_shared: 0,
    }
}

fn run_mix(compiled: bool) -> (Vec<u8>, Vec<u8>) {
    let d = device(compiled);
    let m = load(&d, MIX);
    let k = m.kernel("mix").unwrap();
    if compiled {
        assert_eq!(k.interpreted_because(), None);
    }
    let threads = 4 * 64;
    let src: Vec<u8> = (0..threads as u32)
        .flat_map(|i| (i.wrapping_mul(0x9e37_79b9) ^ (i << 3)).to_le_bytes())
        .collect();
    let mem = d.memory();
    let out = mem.alloc(64 * threads).unwrap();
    let s = upload(&d, &src);
    let counter = upload(&d, &[0; 8]);
    let mut p = Vec::new();
    for a in [out, s, counter] {
        p.extend_from_slice(&a.to_le_bytes());
    }
    p.extend_from_slice(&1.75f32.to_le_bytes());
    d.launch(&k, &cfg(4, [16, 4, 1]), &p).unwrap();
    let mut o = vec![0u8; 64 * threads as usize];
    mem.read(out, &mut o).unwrap();
    let mut c = vec![0u8; 8];
    mem.read(counter, &mut c).unwrap();
    (o, c)
}

#[test]
fn compiled_kernels_match_the_interpreter_bit_for_bit() {
    let (compiled, count) = run_mix(true);
    let (interpreted, count2) = run_mix(false);
    assert_eq!(count, count2);
    assert_eq!(u32::from_le_bytes(count[..4].try_into().unwrap()), 256);
    for (t, (a, b)) in compiled.chunks(64).zip(interpreted.chunks(64)).enumerate() {
        assert_eq!(a, b, "thread {t}");
    }
    // Spot checks against the host: thread 5's shift mix and its loop.
    let x = 5u32.wrapping_mul(0x9e37_79b9) ^ (5 << 3);
    let w = |i: usize| u32::from_le_bytes(compiled[5 * 64 + i..5 * 64 + i + 4].try_into().unwrap());
    let neg = x.wrapping_neg() as i32;
    assert_eq!(w(0), (x << 5) ^ (x >> 5) ^ ((neg >> 5) as u32));
    let mut r = x;
    for _ in 0..5 {
        r = r.wrapping_mul(1664525).wrapping_add(1013904223);
    }
    assert_eq!(w(32), r);
    // 64-bit shifts by 35: thread 5; by 70 (every bit shifted out): thread 40.
    let v = (x as u64) << 35 ^ ((x as u64) << 40 >> 35);
    assert_eq!(w(56), (v as u32) ^ ((v >> 32) as u32));
    // Thread 40 shifts by 40: every 32-bit shift result is 0 or the sign.
    let x40 = 40u32.wrapping_mul(0x9e37_79b9) ^ (40 << 3);
    let s40 = ((x40.wrapping_neg() as i32) >> 31) as u32;
    let w40 =
        |i: usize| u32::from_le_bytes(compiled[40 * 64 + i..40 * 64 + i + 4].try_into().unwrap());
    assert_eq!(w40(0), s40);
    assert_eq!(w40(56), 0);
}

const FAULTS: &str = r#"
.version 8.0
.target sm_90
.address_size 64

.visible .entry read_at(.param .u64 p, .param .u64 out)
{
    .reg .b32 %r<3>;
    .reg .b64 %rd<6>;
    .reg .pred %p<2>;
    ld.param.u64 %rd1, [p];
    ld.param.u64 %rd2, [out];
    mov.u32 %r1, %tid.x;
    setp.eq.u32 %p1, %r1, 77;
    @!%p1 bra DONE;
    ld.global.u32 %r2, [%rd1];
    st.global.u32 [%rd2], %r2;
DONE:
    ret;
}

.visible .entry local_oob(.param .u32 i)
{
    .local .align 4 .b8 buf[16];
    .reg .b32 %r<3>;
    .reg .b64 %rd<4>;
    ld.param.u32 %r1, [i];
    mov.u64 %rd1, buf;
    mul.wide.u32 %rd2, %r1, 4;
    add.s64 %rd3, %rd1, %rd2;
    st.local.u32 [%rd3], 1;
    ret;
}

.visible .entry traps()
{
    trap;
}
"#;

fn fault(compiled: bool, kernel: &str, p: &[u8]) -> Error {
    let d = device(compiled);
    let m = load(&d, FAULTS);
    let k = m.kernel(kernel).unwrap();
    if compiled {
        assert_eq!(k.interpreted_because(), None, "{kernel}");
    }
    d.launch(&k, &cfg(3, [128, 1, 1]), p)
        .expect_err("the launch faults")
}

#[test]
fn compiled_kernels_fault_as_the_interpreter_does() {
    let d = device(true);
    let good = d.memory().alloc(4).unwrap();
    let out = d.memory().alloc(4).unwrap();
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    for addr in [0u64, good + 4, good + 2, 0x7f00_0000_0000] {
        let mut p = addr.to_le_bytes().to_vec();
        p.extend_from_slice(&out.to_le_bytes());
        cases.push(("read_at", p));
    }
    cases.push(("local_oob", 4u32.to_le_bytes().to_vec()));
    cases.push(("local_oob", 1000u32.to_le_bytes().to_vec()));
    cases.push(("traps", Vec::new()));
    for (k, p) in cases {
        let a = fault(true, k, &p);
        let b = fault(false, k, &p);
        assert_eq!(a.to_string(), b.to_string(), "{k}");
        assert_eq!(a.site(), b.site(), "{k}");
        assert!(
            matches!(
                a,
                Error::IllegalAddress { .. } | Error::MisalignedAddress { .. } | Error::Trap { .. }
            ),
            "{k}: {a}"
        );
    }
    // Faults are sticky per launch only: a good launch after them works.
    let m = load(&d, FAULTS);
    let k = m.kernel("read_at").unwrap();
    let mut p = good.to_le_bytes().to_vec();
    p.extend_from_slice(&out.to_le_bytes());
    d.memory().write(good, &7u32.to_le_bytes()).unwrap();
    d.launch(&k, &cfg(1, [128, 1, 1]), &p).unwrap();
    let mut b = [0u8; 4];
    d.memory().read(out, &mut b).unwrap();
    assert_eq!(u32::from_le_bytes(b), 7);
}

#[test]
fn a_thread_waiting_for_a_later_thread_of_its_block_makes_progress() {
    // Thread 0 spins until the block's last thread raises a flag: one thread at a time, it
    // must stop after its slice and let the others run.
    let src = r#"
.version 8.0
.target sm_90
.address_size 64
.visible .entry wait(.param .u64 flag, .param .u64 out)
{
    .reg .b32 %r<5>;
    .reg .b64 %rd<4>;
    .reg .pred %p<3>;
    ld.param.u64 %rd1, [flag];
    ld.param.u64 %rd2, [out];
    mov.u32 %r1, %tid.x;
    setp.eq.u32 %p1, %r1, 63;
    @%p1 st.volatile.global.u32 [%rd1], 1;
    setp.ne.u32 %p2, %r1, 0;
    @%p2 bra DONE;
    mov.u32 %r3, 0;
SPIN:
    add.s32 %r3, %r3, 1;
    ld.volatile.global.u32 %r2, [%rd1];
    setp.eq.u32 %p1, %r2, 0;
    @%p1 bra SPIN;
    st.global.u32 [%rd2], %r3;
DONE:
    ret;
}
"#;
    // The same with the spin loop in a called function: a thread stopped inside a call
    // resumes there and still returns to its caller.
    let in_call = r#"
.version 8.0
.target sm_90
.address_size 64
.func (.param .b32 ret) spin(.param .b64 flag)
{
    .reg .b32 %r<4>;
    .reg .b64 %rd<2>;
    .reg .pred %p<2>;
    ld.param.u64 %rd1, [flag];
    mov.u32 %r3, 0;
SPIN:
    add.s32 %r3, %r3, 1;
    ld.volatile.global.u32 %r2, [%rd1];
    setp.eq.u32 %p1, %r2, 0;
    @%p1 bra SPIN;
    st.param.b32 [ret], %r3;
    ret;
}
.visible .entry wait(.param .u64 flag, .param .u64 out)
{
    .reg .b32 %r<5>;
    .reg .b64 %rd<4>;
    .reg .pred %p<3>;
    ld.param.u64 %rd1, [flag];
    ld.param.u64 %rd2, [out];
    mov.u32 %r1, %tid.x;
    setp.eq.u32 %p1, %r1, 63;
    @%p1 st.volatile.global.u32 [%rd1], 1;
    setp.ne.u32 %p2, %r1, 0;
    @%p2 bra DONE;
    {
    .param .b64 f;
    .param .b32 r;
    st.param.b64 [f], %rd1;
    call (r), spin, (f);
    ld.param.b32 %r3, [r];
    }
    add.s32 %r3, %r3, 1000000;
    st.global.u32 [%rd2], %r3;
DONE:
    ret;
}
"#;
    // The same with the flag raised after the loop: the first four threads spin together
    // until their slice ends, then the other quads run.
    let raised_last = r#"
.version 8.0
.target sm_90
.address_size 64
.visible .entry wait(.param .u64 flag, .param .u64 out)
{
    .reg .b32 %r<5>;
    .reg .b64 %rd<4>;
    .reg .pred %p<3>;
    ld.param.u64 %rd1, [flag];
    ld.param.u64 %rd2, [out];
    mov.u32 %r1, %tid.x;
    setp.eq.u32 %p1, %r1, 63;
    @%p1 bra RAISE;
    mov.u32 %r3, 0;
SPIN:
    add.s32 %r3, %r3, 1;
    ld.volatile.global.u32 %r2, [%rd1];
    setp.eq.u32 %p1, %r2, 0;
    @%p1 bra SPIN;
    setp.ne.u32 %p2, %r1, 0;
    @%p2 bra DONE;
    st.global.u32 [%rd2], %r3;
    bra.uni DONE;
RAISE:
    st.volatile.global.u32 [%rd1], 1;
DONE:
    ret;
}
"#;
    for (compiled, src, least) in [
        // Thread 0 runs first and spins a whole slice (4096 turns) before the others run;
        // compiled, its quad leaves it at the branch, and the other quads run first.
        (true, src, 1),
        (false, src, 4097),
        (true, in_call, 1_004_097),
        (false, in_call, 1_004_097),
        (true, raised_last, 4097),
        (false, raised_last, 4097),
    ] {
        let d = device(compiled);
        let m = load(&d, src);
        let k = m.kernel("wait").unwrap();
        if compiled {
            assert_eq!(k.interpreted_because(), None);
            assert_eq!(k.is_vectorized(), quads() && src != in_call);
        }
        let flag = upload(&d, &[0; 4]);
        let out = d.memory().alloc(4).unwrap();
        let mut p = flag.to_le_bytes().to_vec();
        p.extend_from_slice(&out.to_le_bytes());
        d.launch(&k, &cfg(1, [64, 1, 1]), &p).unwrap();
        let mut b = [0u8; 4];
        d.memory().read(out, &mut b).unwrap();
        assert!(u32::from_le_bytes(b) >= least);
    }
}

#[test]
fn kernels_that_need_a_whole_warp_or_block_stay_in_the_interpreter() {
    let src = r#"
.version 8.0
.target sm_90
.address_size 64
.visible .entry with_barrier()
{
    .reg .b32 %r<3>;
    .reg .pred %p<2>;
    mov.u32 %r1, %tid.x;
    setp.eq.u32 %p1, %r1, 0;
    bar.red.popc.u32 %r2, 0, %p1;
    ret;
}
.visible .entry with_shuffle()
{
    .reg .b32 %r<3>;
    mov.u32 %r1, %laneid;
    shfl.sync.bfly.b32 %r2, %r1, 1, 31, -1;
    ret;
}
"#;
    let d = device(true);
    let m = load(&d, src);
    for (k, why) in [("with_barrier", "bar"), ("with_shuffle", "shfl")] {
        let r = m.kernel(k).unwrap().interpreted_because();
        assert!(r.as_deref().is_some_and(|r| r.contains(why)), "{k}: {r:?}");
    }
}

#[test]
fn kernels_that_would_take_long_to_compile_stay_in_the_interpreter() {
    // 60 registers live across each of 80 barriers: every stop saves them and every resume
    // point loads them.
    let mut src = String::from(
        ".version 8.0\n.target sm_90\n.address_size 64\n.visible .entry many(.param .u64 out)\n{\n\
         .reg .b32 %r<70>;\n.reg .b64 %rd<4>;\n.shared .align 4 .b32 buf[1024];\n\
         mov.u32 %r0, %tid.x;\nmov.u32 %r1, buf;\nshl.b32 %r2, %r0, 2;\nadd.s32 %r3, %r1, %r2;\n",
    );
    for i in 4..64 {
        src += &format!("add.s32 %r{i}, %r{}, {i};\n", i - 1);
    }
    for b in 0..80 {
        let j = 4 + b % 60;
        src +=
            &format!("st.shared.u32 [%r3], %r{j};\nbar.sync 0;\nld.shared.u32 %r{j}, [%r3+4];\n");
    }
    for i in 5..64 {
        src += &format!("add.s32 %r4, %r4, %r{i};\n");
    }
    src += "ld.param.u64 %rd1, [out];\nmul.wide.u32 %rd2, %r0, 4;\nadd.s64 %rd3, %rd1, %rd2;\n\
            st.global.u32 [%rd3], %r4;\nret;\n}\n";
    let d = device(true);
    let m = load(&d, &src);
    let k = m.kernel("many").unwrap();
    let why = k.interpreted_because();
    assert!(
        why.as_deref().is_some_and(|r| r.contains("registers live")),
        "{why:?}"
    );
    // It still runs, in the interpreter.
    let out = d.memory().alloc(64 * 4).unwrap();
    d.launch(&k, &cfg(1, [64, 1, 1]), &out.to_le_bytes())
        .unwrap();
}

const CALLS: &str = r#"
.version 8.0
.target sm_90
.address_size 64

// A pair passed and returned by value through the frame.
.func (.param .align 8 .b8 ret[16]) swap_scale(.param .align 8 .b8 pair[16], .param .b32 k)
{
    .reg .b64 %rd<4>;
    .reg .b32 %r<2>;
    ld.param.u64 %rd1, [pair];
    ld.param.u64 %rd2, [pair+8];
    ld.param.u32 %r1, [k];
    cvt.u64.u32 %rd3, %r1;
    mul.lo.s64 %rd1, %rd1, %rd3;
    st.param.u64 [ret], %rd2;
    st.param.u64 [ret+8], %rd1;
    ret;
}

// A loop and a local array in the callee, and a nested call.
.func (.param .b32 ret) steps(.param .b32 n)
{
    .local .align 4 .b8 seen[16];
    .reg .b32 %r<8>;
    .reg .b64 %rd<4>;
    .reg .pred %p<3>;
    ld.param.u32 %r1, [n];
    mov.u32 %r2, 0;
    mov.u64 %rd1, seen;
LOOP:
    setp.le.u32 %p1, %r1, 1;
    @%p1 bra DONE;
    and.b32 %r3, %r1, 1;
    setp.eq.u32 %p2, %r3, 0;
    @%p2 shr.u32 %r1, %r1, 1;
    @!%p2 mad.lo.s32 %r1, %r1, 3, 1;
    add.s32 %r2, %r2, 1;
    and.b32 %r4, %r2, 3;
    mul.wide.u32 %rd2, %r4, 4;
    add.s64 %rd3, %rd1, %rd2;
    st.local.u32 [%rd3], %r1;
    bra LOOP;
DONE:
    ld.local.u32 %r5, [%rd1+4];
    {
    .param .b32 a;
    .param .b32 r;
    st.param.b32 [a], %r2;
    call (r), twice, (a);
    ld.param.b32 %r6, [r];
    }
    add.s32 %r7, %r6, %r5;
    st.param.b32 [ret], %r7;
    ret;
}

.func (.param .b32 ret) twice(.param .b32 x)
{
    .reg .b32 %r<3>;
    ld.param.u32 %r1, [x];
    add.s32 %r2, %r1, %r1;
    st.param.b32 [ret], %r2;
    ret;
}

.visible .entry calls(.param .u64 out)
{
    .local .align 8 .b8 mine[16];
    .reg .b32 %r<12>;
    .reg .b64 %rd<12>;
    .reg .pred %p<2>;
    ld.param.u64 %rd1, [out];
    mov.u32 %r1, %tid.x;
    mov.u32 %r2, %ctaid.x;
    mad.lo.s32 %r3, %r2, 64, %r1;
    mul.wide.u32 %rd2, %r3, 32;
    add.s64 %rd3, %rd1, %rd2;
    cvt.u64.u32 %rd4, %r3;
    add.s64 %rd5, %rd4, 1000;
    st.local.u64 [mine], %rd4;
    st.local.u64 [mine+8], %rd5;
    {
    .param .align 8 .b8 p[16];
    .param .b32 k;
    .param .align 8 .b8 r[16];
    ld.local.u64 %rd6, [mine];
    st.param.u64 [p], %rd6;
    ld.local.u64 %rd6, [mine+8];
    st.param.u64 [p+8], %rd6;
    st.param.b32 [k], 3;
    call (r), swap_scale, (p, k);
    ld.param.u64 %rd7, [r];
    ld.param.u64 %rd8, [r+8];
    }
    st.global.u64 [%rd3], %rd7;
    st.global.u64 [%rd3+8], %rd8;
    add.s32 %r4, %r3, 1;
    {
    .param .b32 a;
    .param .b32 r;
    st.param.b32 [a], %r4;
    call (r), steps, (a);
    ld.param.b32 %r5, [r];
    }
    setp.lt.u32 %p1, %r1, 10;
    @%p1 bra SKIP;
    {
    .param .b32 a;
    .param .b32 r;
    st.param.b32 [a], %r5;
    call (r), twice, (a);
    ld.param.b32 %r5, [r];
    }
SKIP:
    st.global.u32 [%rd3+16], %r5;
    ret;
}
"#;

#[test]
fn compiled_calls_match_the_interpreter() {
    let run = |compiled: bool| -> Vec<u8> {
        let d = device(compiled);
        let m = load(&d, CALLS);
        let k = m.kernel("calls").unwrap();
        if compiled {
            assert_eq!(k.interpreted_because(), None);
        }
        let n = 3 * 64;
        let out = upload(&d, &vec![0u8; 32 * n as usize]);
        d.launch(&k, &cfg(3, [64, 1, 1]), &out.to_le_bytes())
            .unwrap();
        let mut o = vec![0u8; 32 * n as usize];
        d.memory().read(out, &mut o).unwrap();
        o
    };
    let a = run(true);
    assert_eq!(a, run(false));
    // Thread 27 by hand.
    let r = |i: usize| u64::from_le_bytes(a[27 * 32 + i..27 * 32 + i + 8].try_into().unwrap());
    assert_eq!(r(0), 1027);
    assert_eq!(r(8), 81);
    let (mut n, mut s, mut seen) = (28u32, 0u32, [0u32; 4]);
    while n > 1 {
        n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
        s += 1;
        seen[(s & 3) as usize] = n;
    }
    assert_eq!(r(16) as u32, 2 * (2 * s + seen[1]));
}

mod random_programs {
    //! Random programs without loops (every ALU form the compiler emits inline, and many it
    //! calls out for, exchanges through shared memory between barriers, and a branch taken by
    //! some threads, all or none), run compiled (four threads at a time) and interpreted: the
    //! results must agree bit for bit.
    use super::*;
    use proptest::prelude::*;

    const U32_OPS: &[&str] = &[
        "add.s32 {d}, {a}, {b};",
        "sub.s32 {d}, {a}, {b};",
        "mul.lo.s32 {d}, {a}, {b};",
        "mul.hi.u32 {d}, {a}, {b};",
        "mul.hi.s32 {d}, {a}, {b};",
        "mad.lo.s32 {d}, {a}, {b}, {c};",
        "shl.b32 {d}, {a}, {b};",
        "shr.u32 {d}, {a}, {b};",
        "shr.s32 {d}, {a}, {b};",
        "and.b32 {d}, {a}, {b};",
        "or.b32 {d}, {a}, {b};",
        "xor.b32 {d}, {a}, {b};",
        "not.b32 {d}, {a};",
        "min.s32 {d}, {a}, {b};",
        "max.u32 {d}, {a}, {b};",
        "min.u32 {d}, {a}, {b};",
        "max.s32 {d}, {a}, {b};",
        "div.u32 {d}, {a}, {b};",
        "rem.s32 {d}, {a}, {b};",
        "div.s32 {d}, {a}, {b};",
        "popc.b32 {d}, {a};",
        "clz.b32 {d}, {a};",
        "brev.b32 {d}, {a};",
        "bfe.u32 {d}, {a}, {b}, {c};",
        "bfe.s32 {d}, {a}, {b}, {c};",
        "prmt.b32 {d}, {a}, {b}, {c};",
        "abs.s32 {d}, {a};",
        "neg.s32 {d}, {a};",
        "selp.b32 {d}, {a}, {b}, {p};",
        "@{p} add.s32 {d}, {a}, 7;",
        "@!{p} xor.b32 {d}, {a}, {b};",
        "mov.b32 {d}, {f};",
        "cvt.rzi.s32.f32 {d}, {f};",
        "cvt.rni.u32.f32 {d}, {f};",
        "cvt.u32.u64 {d}, {l};",
        "setp.lt.s32 {p}, {a}, {b};",
        "setp.ge.u32 {p}, {a}, {b};",
        "setp.eq.u32 {p}, {a}, {b};",
        "setp.lt.f32 {p}, {f}, {g};",
        "setp.nan.f32 {p}, {f}, {g};",
        "setp.ne.f32 {p}, {f}, {g};",
        "setp.equ.f32 {p}, {f}, {g};",
        "setp.gtu.f32 {p}, {f}, {g};",
        "setp.num.f32 {p}, {f}, {g};",
        "setp.le.f32 {p}, {g}, {f};",
        "and.pred {p}, {p}, {q};",
        "not.pred {p}, {q};",
        "add.rn.f32 {f}, {f}, {g};",
        "sub.rn.f32 {f}, {g}, {f};",
        "mul.rn.f32 {f}, {f}, {g};",
        "fma.rn.f32 {f}, {f}, {g}, {h};",
        "div.rn.f32 {f}, {f}, {g};",
        "sqrt.rn.f32 {f}, {g};",
        "cvt.rn.f32.s32 {f}, {a};",
        "cvt.rz.f32.u32 {f}, {a};",
        "mov.b32 {f}, {a};",
        "min.f32 {f}, {f}, {g};",
        "max.f32 {f}, {f}, {g};",
        "add.s64 {l}, {l}, {m};",
        "mul.wide.u32 {l}, {a}, {b};",
        "mul.wide.s32 {l}, {a}, {b};",
        "mad.wide.u32 {l}, {a}, {b}, {m};",
        "shl.b64 {l}, {m}, {a};",
        "shr.s64 {l}, {m}, {a};",
        "shr.u64 {l}, {m}, {a};",
        "cvt.u64.u32 {l}, {a};",
        "cvt.s64.s32 {l}, {a};",
        "mul.hi.u64 {l}, {l}, {m};",
        "add.cc.u32 {d}, {a}, {b};",
        "add.f64 {l}, {l}, {m};",
        "sub.rn.f64 {l}, {m}, {l};",
        "mul.rn.f64 {l}, {l}, {m};",
        "fma.rn.f64 {l}, {m}, {l}, {m};",
        "mov.b64 {l}, {m};",
        "addc.u32 {d}, {a}, {b};",
        // Constant shifts, guarded 64-bit and float forms, lane registers (the forms compiled
        // code runs four threads at a time).
        "shl.b32 {d}, {a}, 3;",
        "shr.u32 {d}, {a}, 31;",
        "shr.s32 {d}, {a}, 35;",
        "shl.b64 {l}, {m}, 40;",
        "shr.s64 {l}, {m}, 70;",
        "shr.u64 {l}, {m}, 64;",
        "mul.wide.s32 {l}, {a}, 4;",
        "@{p} add.s64 {l}, {l}, {m};",
        "@!{q} selp.b64 {l}, {l}, {m}, {p};",
        "@{p} setp.lt.u32 {q}, {a}, {b};",
        "@{p} fma.rn.f32 {f}, {f}, {g}, {h};",
        "cvt.rn.f32.u32 {f}, {a};",
        "setp.lt.u64 {p}, {l}, {m};",
        "setp.ge.s64 {p}, {l}, {m};",
        "mov.u32 {d}, %tid.x;",
        "mov.u32 {d}, %laneid;",
        "mov.u32 {d}, %lanemask_lt;",
        "mov.u32 {d}, %ntid.x;",
        // Exchanges through shared memory between barriers (each thread writes its own
        // element, then reads its own, its neighbour's or one for all): consecutive and
        // uniform addresses, guarded accesses, and barriers some threads never reach.
        "st.shared.u32 [%s1], {a};\n    bar.sync 0;\n    ld.shared.u32 {d}, [%s1+4];\n    bar.sync 0;",
        "st.shared.u32 [%s1], {a};\n    bar.sync 0;\n    ld.shared.u32 {d}, [%s2+8];\n    bar.sync 0;",
        "st.shared.f32 [%s1], {f};\n    bar.sync 0;\n    ld.shared.f32 {g}, [%s1+8];\n    bar.sync 0;",
        "@{p} st.shared.u32 [%s1], {a};\n    bar.sync 0;\n    @{q} ld.shared.u32 {d}, [%s1+4];\n    bar.sync 0;",
        "st.shared.u64 [%s4], {l};\n    bar.sync 0;\n    ld.shared.u64 {m}, [%s4+8];\n    ld.shared.u32 {d}, [%s1];\n    bar.sync 0;",
    ];

    fn program(ops: &[(usize, [u8; 6])]) -> String {
        // (Register operands of the 64-bit forms are also read as doubles: random bits give
        // NaNs with payloads, infinities and subnormals.)
        let mut body = String::new();
        for (i, (op, r)) in ops.iter().enumerate() {
            // Half way: a branch over the second half, taken by some threads (`%p1` compares
            // two input words), by all or none (`%ntid.x`), or by none.
            if i == ops.len() / 2 {
                body += match ops.len() % 3 {
                    0 => "    @%p1 bra SKIP;\n",
                    1 => "    mov.u32 %r8, %ntid.x;\n    setp.gt.u32 %p3, %r8, 32;\n    @%p3 bra SKIP;\n",
                    _ => "",
                };
            }
            let t = U32_OPS[op % U32_OPS.len()];
            let reg = |p: &str, i: u8, n: u8| format!("%{p}{}", 1 + i % n);
            let line = t
                .replace("{d}", &reg("r", r[0], 8))
                .replace("{a}", &reg("r", r[1], 8))
                .replace("{b}", &reg("r", r[2], 8))
                .replace("{c}", &reg("r", r[3], 8))
                .replace("{p}", &reg("p", r[4], 3))
                .replace("{q}", &reg("p", r[5], 3))
                .replace("{f}", &reg("f", r[0], 4))
                .replace("{g}", &reg("f", r[1], 4))
                .replace("{h}", &reg("f", r[2], 4))
                .replace("{l}", &reg("rd", r[3], 4))
                .replace("{m}", &reg("rd", r[4], 4));
            body += "    ";
            body += &line;
            body += "\n";
        }
        format!(
            r#"
.version 8.0
.target sm_90
.address_size 64
.visible .entry k(.param .u64 io)
{{
    .reg .pred %p<4>;
    .reg .b32 %r<9>;
    .reg .f32 %f<5>;
    .reg .b64 %rd<9>;
    .reg .b64 %t<4>;
    .reg .b32 %s<7>;
    .shared .align 8 .b8 buf[1040];
    mov.u32 %s2, buf;
    mov.u32 %s3, %tid.x;
    shl.b32 %s5, %s3, 2;
    add.s32 %s1, %s2, %s5;
    shl.b32 %s6, %s3, 3;
    add.s32 %s4, %s2, %s6;
    add.s32 %s4, %s4, 512;
    ld.param.u64 %t1, [io];
    mov.u32 %r1, %tid.x;
    mul.wide.u32 %t2, %r1, 64;
    add.s64 %t3, %t1, %t2;
    ld.global.v4.u32 {{%r1, %r2, %r3, %r4}}, [%t3];
    ld.global.v4.u32 {{%r5, %r6, %r7, %r8}}, [%t3+16];
    ld.global.v4.f32 {{%f1, %f2, %f3, %f4}}, [%t3+32];
    ld.global.v2.u64 {{%rd1, %rd2}}, [%t3+48];
    mov.u64 %rd3, %rd1;
    mov.u64 %rd4, %rd2;
    setp.lt.u32 %p1, %r1, %r2;
    setp.gt.s32 %p2, %r3, %r4;
    setp.ne.u32 %p3, %r5, 0;
{body}SKIP:
    st.global.v4.u32 [%t3], {{%r1, %r2, %r3, %r4}};
    st.global.v4.u32 [%t3+16], {{%r5, %r6, %r7, %r8}};
    st.global.v4.f32 [%t3+32], {{%f1, %f2, %f3, %f4}};
    xor.b64 %rd5, %rd1, %rd3;
    xor.b64 %rd6, %rd2, %rd4;
    selp.b64 %rd7, %rd5, %rd6, %p1;
    selp.b64 %rd8, %rd6, %rd5, %p2;
    st.global.v2.u64 [%t3+48], {{%rd7, %rd8}};
    ret;
}}
"#
        )
    }

    fn run(src: &str, input: &[u8], compiled: bool) -> Vec<u8> {
        let d = device(compiled);
        let m = load(&d, src);
        let k = m.kernel("k").unwrap();
        if compiled {
            assert_eq!(k.interpreted_because(), None);
            // (Unless most of a long program runs lane by lane.)
            assert!(
                k.is_vectorized() || !quads() || src.lines().count() > 60,
                "not vectorized:\n{src}"
            );
        }
        let io = upload(&d, input);
        d.launch(&k, &cfg(1, [64, 1, 1]), &io.to_le_bytes())
            .unwrap();
        let mut out = vec![0u8; input.len()];
        d.memory().read(io, &mut out).unwrap();
        out
    }

    /// Interesting words: zero, ones, signs, small shift counts, float specials.
    fn word() -> impl Strategy<Value = u32> {
        prop_oneof![
            any::<u32>(),
            0u32..40,
            Just(0),
            Just(u32::MAX),
            Just(0x8000_0000),
            Just(0x7fff_ffff),
            Just(f32::INFINITY.to_bits()),
            Just(f32::NAN.to_bits()),
            Just(0x0000_0001),
            Just(1.5f32.to_bits()),
            Just((-2.5f32).to_bits()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        #[test]
        fn random_programs_agree(
            ops in proptest::collection::vec((0usize..1000, any::<[u8; 6]>()), 1..40),
            words in proptest::collection::vec(word(), 64 * 16),
        ) {
            let src = program(&ops);
            let input: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            let a = run(&src, &input, true);
            let b = run(&src, &input, false);
            prop_assert!(a == b, "compiled and interpreted differ for\n{}", src);
        }
    }
}

#[test]
fn integer_conversions_round_as_the_gpu_does() {
    // cvt.rn.f32.{s32,u32} round to nearest, ties to even; cvt.u32.u64 keeps the low bits.
    let src = r#"
.version 8.0
.target sm_90
.address_size 64
.visible .entry k(.param .u64 io)
{
    .reg .b32 %r<8>;
    .reg .f32 %f<3>;
    .reg .b64 %rd<6>;
    ld.param.u64 %rd1, [io];
    mov.u32 %r1, %tid.x;
    mul.wide.u32 %rd2, %r1, 16;
    add.s64 %rd3, %rd1, %rd2;
    ld.global.u32 %r2, [%rd3];
    ld.global.u64 %rd4, [%rd3+8];
    cvt.rn.f32.s32 %f1, %r2;
    cvt.rn.f32.u32 %f2, %r2;
    cvt.u32.u64 %r3, %rd4;
    st.global.f32 [%rd3], %f1;
    st.global.f32 [%rd3+4], %f2;
    st.global.u32 [%rd3+8], %r3;
    st.global.u32 [%rd3+12], 0;
    ret;
}
"#;
    // (input, f32 from s32, f32 from u32)
    let cases: [(u32, u32, u32); 6] = [
        (16_777_217, 0x4b80_0000, 0x4b80_0000),
        (16_777_219, 0x4b80_0002, 0x4b80_0002),
        (u32::MAX, 0xbf80_0000, 0x4f80_0000),
        (0x8000_0000, 0xcf00_0000, 0x4f00_0000),
        (0, 0, 0),
        (0xfeff_ffff, 0xcb80_0000, 0x4f7f_0000),
    ];
    for compiled in [true, false] {
        let d = device(compiled);
        let m = load(&d, src);
        let k = m.kernel("k").unwrap();
        let mut input = Vec::new();
        for (i, (x, _, _)) in cases.iter().enumerate() {
            input.extend_from_slice(&x.to_le_bytes());
            input.extend_from_slice(&0u32.to_le_bytes());
            input.extend_from_slice(&(0x1234_5678_0000_0000u64 | (i as u64 * 3)).to_le_bytes());
        }
        let io = upload(&d, &input);
        d.launch(&k, &cfg(1, [cases.len() as u32, 1, 1]), &io.to_le_bytes())
            .unwrap();
        let mut out = vec![0u8; input.len()];
        d.memory().read(io, &mut out).unwrap();
        for (i, (x, s, u)) in cases.iter().enumerate() {
            let w =
                |o: usize| u32::from_le_bytes(out[16 * i + o..16 * i + o + 4].try_into().unwrap());
            assert_eq!(
                (w(0), w(4), w(8)),
                (*s, *u, i as u32 * 3),
                "{x:#x} compiled={compiled}"
            );
        }
    }
}

/// Launches [`LCG`] on `blocks` blocks of 256 threads and checks every thread's result.
fn launch_lcg(d: &Device, k: &ferrocuda_cpu::Kernel, out: u64, blocks: u32, n: u32) {
    launch_lcg_with(d, k, out, blocks, n, |_| n)
}

/// [`launch_lcg`] for a kernel whose thread `i` takes `steps(i)` steps.
fn launch_lcg_with(
    d: &Device,
    k: &ferrocuda_cpu::Kernel,
    out: u64,
    blocks: u32,
    n: u32,
    steps: impl Fn(usize) -> u32,
) {
    let mut p = out.to_le_bytes().to_vec();
    p.extend_from_slice(&n.to_le_bytes());
    d.launch(k, &cfg(blocks, [256, 1, 1]), &p).unwrap();
    let mut got = vec![0u8; blocks as usize * 256 * 4];
    d.memory().read(out, &mut got).unwrap();
    for (i, w) in got.chunks(4).enumerate() {
        let want = (0..steps(i)).fold(i as u32, |x, _| {
            x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223)
        });
        assert_eq!(
            u32::from_le_bytes(w.try_into().unwrap()),
            want,
            "thread {i}"
        );
    }
}

fn device_with(c: Compilation) -> Device {
    let mut d = Device::with_workers(2);
    d.set_compilation(c);
    assert_eq!(d.compilation(), c);
    d
}

#[test]
fn tiered_compilation_compiles_hot_kernels_in_the_background() {
    let d = device_with(Compilation::Tiered);
    let m = load(&d, LCG);
    let k = m.kernel("lcg").unwrap();
    let out = d.memory().alloc(64 * 256 * 4).unwrap();
    // A launch far shorter than `HOT` leaves the kernel to the interpreter.
    launch_lcg(&d, &k, out, 1, 3);
    assert!(!k.is_compiled());
    // Launches go on (with the same results) while it compiles, then run compiled code.
    let start = std::time::Instant::now();
    let mut launches = 0;
    while !k.is_compiled() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "not compiled after {launches} launches"
        );
        launch_lcg(&d, &k, out, 64, 200);
        launches += 1;
    }
    launch_lcg(&d, &k, out, 64, 200);
    assert_eq!(k.interpreted_because(), None);
}

#[test]
fn one_long_launch_tiers_up_between_its_blocks() {
    let d = device_with(Compilation::Tiered);
    let m = load(&d, LCG);
    let k = m.kernel("lcg").unwrap();
    let out = d.memory().alloc(2048 * 256 * 4).unwrap();
    // Far longer than `HOT` in the interpreter: the kernel turns hot during the launch, is
    // compiled, and the later blocks compare the two paths and run on the faster (with the
    // same results, checked).
    launch_lcg(&d, &k, out, 2048, 1000);
    assert!(k.is_compiled());
    assert!(k.compiled_is_faster().is_some());
}

#[test]
fn tiered_compilation_keeps_the_faster_path() {
    // Divergent: a compiled thread runs only its own steps, a warp runs its longest lane's.
    let d = device_with(Compilation::Tiered);
    let m = load(&d, &lcg_divergent());
    let k = m.kernel("lcg").unwrap();
    let out = d.memory().alloc(256 * 256 * 4).unwrap();
    let steps = |i: usize| if i % 32 == 0 { 3200 } else { 100 };
    let start = std::time::Instant::now();
    while k.compiled_is_faster().is_none() {
        assert!(start.elapsed() < std::time::Duration::from_secs(60));
        launch_lcg_with(&d, &k, out, 256, 100, steps);
    }
    assert_eq!(k.compiled_is_faster(), Some(true));
    launch_lcg_with(&d, &k, out, 256, 100, steps);
}

#[test]
fn launches_from_several_host_threads_tier_up_with_the_same_results() {
    let d = device_with(Compilation::Tiered);
    let m = load(&d, LCG);
    let k = m.kernel("lcg").unwrap();
    let start = std::time::Instant::now();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let out = d.memory().alloc(16 * 256 * 4).unwrap();
                // Each thread goes on until it has run the compiled code at least once.
                let mut compiled_runs = 0;
                while compiled_runs < 2 {
                    assert!(start.elapsed() < std::time::Duration::from_secs(60));
                    if k.is_compiled() {
                        compiled_runs += 1;
                    }
                    launch_lcg(&d, &k, out, 16, 150);
                }
            });
        }
    });
    assert!(k.is_compiled());
}

#[test]
fn eager_compilation_compiles_at_the_first_launch() {
    let d = device_with(Compilation::Eager);
    let m = load(&d, LCG);
    let k = m.kernel("lcg").unwrap();
    assert!(!k.is_compiled());
    let out = d.memory().alloc(256 * 4).unwrap();
    launch_lcg(&d, &k, out, 1, 3);
    assert!(k.is_compiled());
}

/// Launches `src`'s LCG kernel on `d` for three times [`ferrocuda_cpu::HOT`], waits a little
/// for a compilation that would have started, and asserts none produced code.
fn stays_interpreted_however_hot(d: &Device, src: &str) -> ferrocuda_cpu::Kernel {
    let m = load(d, src);
    let k = m.kernel("lcg").unwrap();
    let out = d.memory().alloc(64 * 256 * 4).unwrap();
    let start = std::time::Instant::now();
    while start.elapsed() < 3 * ferrocuda_cpu::HOT {
        launch_lcg(d, &k, out, 64, 200);
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(!k.is_compiled());
    k
}

#[test]
fn no_compilation_and_uncovered_kernels_stay_interpreted_however_hot() {
    stays_interpreted_however_hot(&device_with(Compilation::Off), LCG);
    // A kernel with a shuffle, hot on a tiering device.
    let src = LCG.replace(
        "DONE:\n",
        "DONE:\n    shfl.sync.bfly.b32 %r7, %r6, 1, 31, -1;\n",
    );
    let k = stays_interpreted_however_hot(&device_with(Compilation::Tiered), &src);
    assert!(k.interpreted_because().is_some());
}

/// Each thread reads from one of two buffers by parity, so the load's site entry (the
/// allocation it touched last) misses on every other thread, and makes an `f64` NaN: both go
/// through the helpers of the slow paths while sixteen integer and floating-point values are
/// live across them.
const SLOW_PATHS: &str = r#"
.version 8.0
.target sm_90
.address_size 64

.visible .entry slow(.param .u64 out, .param .u64 a, .param .u64 b, .param .f32 s, .param .f64 z)
{
    .reg .pred %p<2>;
    .reg .b32 %r<40>;
    .reg .f32 %f<10>;
    .reg .f64 %fd<8>;
    .reg .b64 %rd<12>;
    ld.param.u64 %rd1, [out];
    ld.param.u64 %rd2, [a];
    ld.param.u64 %rd3, [b];
    ld.param.f32 %f1, [s];
    ld.param.f64 %fd1, [z];
    mov.u32 %r1, %tid.x;
    mov.u32 %r2, %ctaid.x;
    mov.u32 %r3, %ntid.x;
    mad.lo.s32 %r4, %r2, %r3, %r1;
    mul.lo.s32 %r5, %r4, 3;
    xor.b32 %r6, %r4, 0x5a5a;
    add.s32 %r7, %r4, 77;
    shl.b32 %r8, %r4, 5;
    mul.lo.s32 %r9, %r4, %r4;
    or.b32 %r10, %r4, 0x100;
    cvt.rn.f32.u32 %f2, %r4;
    mul.rn.f32 %f3, %f2, %f1;
    add.rn.f32 %f4, %f3, %f1;
    cvt.rn.f64.u32 %fd2, %r4;
    mul.rn.f64 %fd3, %fd2, %fd1;
    and.b32 %r11, %r4, 1;
    setp.eq.u32 %p1, %r11, 0;
    selp.b64 %rd4, %rd2, %rd3, %p1;
    mul.wide.u32 %rd5, %r4, 4;
    add.s64 %rd6, %rd4, %rd5;
    ld.global.u32 %r12, [%rd6];
    // inf * 0: a NaN the helper makes the GPU's.
    mul.rn.f64 %fd4, %fd1, 0d7FF0000000000000;
    mul.rn.f64 %fd5, %fd4, %fd2;
    add.s32 %r13, %r12, %r5;
    add.s32 %r13, %r13, %r6;
    add.s32 %r13, %r13, %r7;
    add.s32 %r13, %r13, %r8;
    add.s32 %r13, %r13, %r9;
    add.s32 %r13, %r13, %r10;
    mul.wide.u32 %rd7, %r4, 32;
    add.s64 %rd8, %rd1, %rd7;
    st.global.u32 [%rd8], %r13;
    st.global.f32 [%rd8+4], %f3;
    st.global.f32 [%rd8+8], %f4;
    st.global.u32 [%rd8+12], %r12;
    st.global.f64 [%rd8+16], %fd3;
    st.global.f64 [%rd8+24], %fd5;
    ret;
}
"#;

#[test]
fn values_live_across_the_slow_paths_survive_them() {
    let run = |compiled: bool| {
        let d = device(compiled);
        let m = load(&d, SLOW_PATHS);
        let k = m.kernel("slow").unwrap();
        if compiled {
            assert_eq!(k.interpreted_because(), None);
        }
        let n = 512u32;
        let words = |seed: u32| -> Vec<u8> {
            (0..n)
                .flat_map(|i| (i.wrapping_mul(seed) ^ 0x1234_5678).to_le_bytes())
                .collect()
        };
        let (a, b) = (
            upload(&d, &words(0x9e37_79b9)),
            upload(&d, &words(0x85eb_ca6b)),
        );
        let out = d.memory().alloc(32 * n as u64).unwrap();
        let mut p = Vec::new();
        for x in [out, a, b] {
            p.extend_from_slice(&x.to_le_bytes());
        }
        p.extend_from_slice(&1.5f32.to_le_bytes());
        p.extend_from_slice(&[0; 4]);
        p.extend_from_slice(&(-0.0f64).to_le_bytes());
        d.launch(&k, &cfg(n / 128, [128, 1, 1]), &p).unwrap();
        let mut o = vec![0u8; 32 * n as usize];
        d.memory().read(out, &mut o).unwrap();
        o
    };
    let (compiled, interpreted) = (run(true), run(false));
    // Spot-check one thread against values computed here.
    let t = 7usize;
    let w = |o: usize| u32::from_le_bytes(compiled[32 * t + o..32 * t + o + 4].try_into().unwrap());
    assert_eq!(w(12), (7u32.wrapping_mul(0x85eb_ca6b)) ^ 0x1234_5678);
    assert_eq!(f32::from_bits(w(4)), 10.5);
    let nan = u64::from_le_bytes(compiled[32 * t + 24..32 * t + 32].try_into().unwrap());
    assert!(f64::from_bits(nan).is_nan());
    assert_eq!(compiled, interpreted);
}

/// An elementwise kernel with a bounds check, a gather through an index array (evenly spaced
/// lanes but for the wrap), a branch on the data, `%tid.y`, one element for all threads and
/// a load under a predicate: it runs four threads at a time where the block allows.
const QUADS: &str = r#"
.version 8.0
.target sm_90
.address_size 64

.visible .entry quads(.param .u64 out, .param .u64 x, .param .u64 idx, .param .u32 n)
{
    .reg .pred %p<4>;
    .reg .b32 %r<16>;
    .reg .f32 %f<8>;
    .reg .b64 %rd<16>;
    ld.param.u64 %rd1, [out];
    ld.param.u64 %rd2, [x];
    ld.param.u64 %rd3, [idx];
    ld.param.u32 %r1, [n];
    mov.u32 %r2, %tid.x;
    mov.u32 %r3, %tid.y;
    mov.u32 %r4, %ntid.x;
    mov.u32 %r5, %ctaid.x;
    mov.u32 %r6, %ntid.y;
    mul.lo.s32 %r7, %r4, %r6;
    mad.lo.s32 %r8, %r3, %r4, %r2;
    mad.lo.s32 %r9, %r5, %r7, %r8;
    setp.ge.u32 %p1, %r9, %r1;
    @%p1 bra DONE;
    mul.wide.u32 %rd4, %r9, 4;
    add.s64 %rd5, %rd2, %rd4;
    ld.global.f32 %f1, [%rd5];
    add.s64 %rd6, %rd3, %rd4;
    ld.global.u32 %r10, [%rd6];
    mul.wide.u32 %rd7, %r10, 4;
    add.s64 %rd8, %rd2, %rd7;
    ld.global.f32 %f2, [%rd8];
    // Taken by some threads of a quad where the data says so.
    setp.lt.f32 %p2, %f1, 0f42C80000;
    @%p2 bra SMALL;
    mul.rn.f32 %f3, %f1, %f2;
    bra.uni STORE;
SMALL:
    fma.rn.f32 %f3, %f1, %f2, %f1;
STORE:
    cvt.rn.f32.u32 %f4, %r3;
    add.rn.f32 %f5, %f3, %f4;
    // The same element for every thread, and a load under a predicate false for one thread.
    ld.global.f32 %f6, [%rd2+4];
    add.rn.f32 %f5, %f5, %f6;
    setp.ne.u32 %p3, %r10, 5;
    mov.f32 %f7, 0f3F800000;
    @%p3 ld.global.f32 %f7, [%rd5];
    add.rn.f32 %f5, %f5, %f7;
    mul.wide.u32 %rd9, %r9, 8;
    add.s64 %rd10, %rd1, %rd9;
    st.global.f32 [%rd10], %f5;
    st.global.u32 [%rd10+4], %r9;
DONE:
    ret;
}
"#;

#[test]
fn four_threads_at_a_time_match_the_interpreter() {
    // (block, blocks, elements, x of element i): blocks of 2-D and 1-D shapes, a block size
    // that is not a multiple of four (one thread at a time), a partial last quad, data that
    // diverges within quads now and then or in every quad.
    let xs: [fn(u32) -> f32; 3] = [
        |i| (i % 200) as f32,
        |i| if i % 37 == 0 { 5.0 } else { 500.0 },
        |i| if i % 2 == 0 { 5.0 } else { 500.0 },
    ];
    let shapes = [
        ([8u32, 4, 1], 9u32, 280u32),
        ([64, 1, 1], 5, 318),
        ([6, 2, 1], 7, 80),
    ];
    for (block, blocks, n) in shapes {
        for (xi, x) in xs.iter().enumerate() {
            let run = |compiled: bool| {
                let d = device(compiled);
                let m = load(&d, QUADS);
                let k = m.kernel("quads").unwrap();
                if compiled {
                    assert_eq!(k.interpreted_because(), None);
                    assert_eq!(k.is_vectorized(), quads());
                }
                let xv: Vec<u8> = (0..n).flat_map(|i| x(i).to_le_bytes()).collect();
                let iv: Vec<u8> = (0..n)
                    .flat_map(|i| ((i * 7 + 3) % n).to_le_bytes())
                    .collect();
                let (xa, ia) = (upload(&d, &xv), upload(&d, &iv));
                let out = upload(&d, &vec![0xa5; 8 * n as usize + 64]);
                let mut p = Vec::new();
                for a in [out, xa, ia] {
                    p.extend_from_slice(&a.to_le_bytes());
                }
                p.extend_from_slice(&n.to_le_bytes());
                d.launch(&k, &cfg(blocks, block), &p).unwrap();
                let mut o = vec![0u8; 8 * n as usize + 64];
                d.memory().read(out, &mut o).unwrap();
                o
            };
            let (c, i) = (run(true), run(false));
            assert!(c == i, "block {block:?}, data {xi}");
            // Spot-check an element against a value computed here.
            let e = 11usize;
            let f = |o: usize| f32::from_le_bytes(c[o..o + 4].try_into().unwrap());
            let (x1, x2) = (x(e as u32), x((e as u32 * 7 + 3) % n));
            let ty = ((e as u32 % (block[0] * block[1])) / block[0]) as f32;
            let idx = (e as u32 * 7 + 3) % n;
            let want = if x1 < 100.0 {
                x1.mul_add(x2, x1)
            } else {
                x1 * x2
            } + ty
                + x(1)
                + if idx != 5 { x1 } else { 1.0 };
            assert_eq!(f(8 * e), want, "block {block:?}, data {xi}");
        }
    }
    // Loops before the store: the same trip count in every thread (four at a time to the
    // end), or a longer one in the first thread of each warp (quads that diverge, whose
    // threads go on one at a time).
    // Each thread also counts itself with an atomic after the loop: a quad that diverges must
    // hand its threads over where they are, not run any of them again.
    let counted = |src: String| {
        src.replace(
            "    ret;\n}",
            "    atom.global.add.u32 %r7, [%rd1+2048], 1;\n    ret;\n}",
        )
    };
    // (Diverging in the quad of thread 37, or in every warp's first quad.)
    let late = LCG.replace(
        "    mov.u32 %r6, %r5;\n",
        "    mov.u32 %r6, %r5;\n    setp.eq.u32 %p1, %r4, 37;\n    @%p1 add.s32 %r1, %r1, 5;\n",
    );
    for src in [
        counted(LCG.to_string()),
        counted(late),
        counted(lcg_divergent()),
    ] {
        let run = |compiled: bool| {
            let d = device(compiled);
            let m = load(&d, &src);
            let k = m.kernel("lcg").unwrap();
            if compiled {
                assert_eq!(k.interpreted_because(), None);
                assert_eq!(k.is_vectorized(), quads());
            }
            let out = upload(&d, &[0; 4 * 513]);
            let mut p = out.to_le_bytes().to_vec();
            p.extend_from_slice(&37u32.to_le_bytes());
            d.launch(&k, &cfg(2, [256, 1, 1]), &p).unwrap();
            let mut o = vec![0u8; 4 * 513];
            d.memory().read(out, &mut o).unwrap();
            o
        };
        let (c, i) = (run(true), run(false));
        assert!(c == i);
        assert_eq!(c[2048..], 512u32.to_le_bytes());
        let lcg = |t: u32, n: u32| {
            (0..n).fold(t, |x, _| {
                x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223)
            })
        };
        assert_eq!(c[4 * 5..4 * 5 + 4], lcg(5, 37).to_le_bytes());
    }
    // Out of bounds in one lane of a quad: the interpreter's fault, at the same line.
    let fault_at = |compiled: bool| {
        let d = device(compiled);
        let m = load(&d, QUADS);
        let k = m.kernel("quads").unwrap();
        let n = 64u32;
        let xv: Vec<u8> = (0..n).flat_map(|i| (i as f32).to_le_bytes()).collect();
        let iv: Vec<u8> = (0..n)
            .flat_map(|i| if i == 42 { 1u32 << 20 } else { i }.to_le_bytes())
            .collect();
        let (xa, ia) = (upload(&d, &xv), upload(&d, &iv));
        let out = d.memory().alloc(8 * n as u64).unwrap();
        let mut p = Vec::new();
        for a in [out, xa, ia] {
            p.extend_from_slice(&a.to_le_bytes());
        }
        p.extend_from_slice(&n.to_le_bytes());
        d.launch(&k, &cfg(1, [64, 1, 1]), &p).unwrap_err()
    };
    let (a, b) = (fault_at(true), fault_at(false));
    assert!(matches!(a, Error::IllegalAddress { .. }), "{a}");
    assert_eq!(a.to_string(), b.to_string());
    assert_eq!(a.site(), b.site());
    // Lanes evenly spaced by a step whose triple wraps around the address space back into
    // the allocation (from the ninth quad on, after the first eight read consecutive
    // elements): the first and last lanes are inside, the middle two far outside.
    let wrap = r#"
.version 8.0
.target sm_90
.address_size 64
.visible .entry wrap(.param .u64 p)
{
    .reg .pred %p<2>;
    .reg .b32 %r<4>;
    .reg .b64 %rd<6>;
    ld.param.u64 %rd1, [p];
    mov.u32 %r1, %tid.x;
    and.b32 %r2, %r1, 3;
    cvt.u64.u32 %rd2, %r2;
    setp.lt.u32 %p1, %r1, 32;
    selp.b64 %rd5, 4, 6148914691236517208, %p1;
    mul.lo.u64 %rd3, %rd2, %rd5;
    add.s64 %rd4, %rd1, %rd3;
    ld.global.u32 %r3, [%rd4];
    st.global.u32 [%rd1], %r3;
    ret;
}
"#;
    let wrapped = |compiled: bool| {
        let d = device(compiled);
        let m = load(&d, wrap);
        let k = m.kernel("wrap").unwrap();
        if compiled {
            assert_eq!(k.interpreted_because(), None);
            assert_eq!(k.is_vectorized(), quads());
        }
        let p = upload(&d, &[0; 64]);
        d.launch(&k, &cfg(1, [64, 1, 1]), &p.to_le_bytes())
            .unwrap_err()
    };
    let (a, b) = (wrapped(true), wrapped(false));
    assert!(matches!(a, Error::IllegalAddress { .. }), "{a}");
    assert_eq!(a.to_string(), b.to_string());
}

/// Kernels with barriers, for the quad function that stops at them. `tree`: a shared-memory
/// tree with interleaved addressing (`tid % 2s == 0`: the quads diverge at the first two
/// steps and run one thread at a time, then as quads again). `paths`: a base address the
/// same in every lane of a quad as far as the compiler can tell, which differs by lane once
/// the quad's threads took different ways to the barrier. `spin`: a loop longer than a slice
/// between barriers, with a trip count that differs by lane. `in_call`: barriers in a device
/// function called twice (one thread at a time: calls have no quad function). `sites`: odd
/// and even quads wait at different barriers, whole quads and half a quad exit before the
/// first (the function for one barrier passes the others on). `lone`: blocks of code one
/// thread of each block runs (`tid != k` skips one, `tid == k + 1` enters the other). `edge`:
/// consecutive shared-memory reads from an offset given as a parameter (past the end: a
/// fault).
const BARRIERS: &str = r#"
.version 8.0
.target sm_90
.address_size 64
.shared .align 4 .b32 buf2[1040];

.visible .entry tree(.param .u64 in, .param .u64 out, .param .u32 n)
{
    .reg .pred %p<4>;
    .reg .b32 %r<24>;
    .reg .b64 %rd<10>;
    .shared .align 4 .b8 sdata[4096];
    ld.param.u64 %rd1, [in];
    ld.param.u64 %rd2, [out];
    ld.param.u32 %r1, [n];
    mov.u32 %r2, %tid.x;
    mov.u32 %r20, %tid.y;
    mov.u32 %r4, %ntid.x;
    mov.u32 %r21, %ntid.y;
    mad.lo.s32 %r2, %r20, %r4, %r2;
    mul.lo.s32 %r4, %r4, %r21;
    mov.u32 %r3, %ctaid.x;
    mad.lo.s32 %r5, %r3, %r4, %r2;
    mov.u32 %r6, 0;
    setp.ge.u32 %p1, %r5, %r1;
    @%p1 bra SKIP;
    mul.wide.u32 %rd3, %r5, 4;
    add.s64 %rd4, %rd1, %rd3;
    ld.global.u32 %r6, [%rd4];
SKIP:
    shl.b32 %r7, %r2, 2;
    mov.u32 %r8, sdata;
    add.s32 %r9, %r8, %r7;
    st.shared.u32 [%r9], %r6;
    bar.sync 0;
    mov.u32 %r10, 1;
LOOP:
    setp.ge.u32 %p2, %r10, %r4;
    @%p2 bra DONE;
    shl.b32 %r11, %r10, 1;
    add.s32 %r16, %r11, -1;
    and.b32 %r17, %r2, %r16;
    setp.ne.u32 %p3, %r17, 0;
    @%p3 bra NEXT;
    add.s32 %r18, %r2, %r10;
    setp.ge.u32 %p3, %r18, %r4;
    @%p3 bra NEXT;
    shl.b32 %r12, %r10, 2;
    add.s32 %r12, %r9, %r12;
    ld.shared.u32 %r13, [%r12];
    ld.shared.u32 %r14, [%r9];
    mul.lo.s32 %r14, %r14, 3;
    add.s32 %r14, %r14, %r13;
    st.shared.u32 [%r9], %r14;
NEXT:
    bar.sync 0;
    shl.b32 %r10, %r10, 1;
    bra.uni LOOP;
DONE:
    ld.shared.u32 %r15, [sdata];
    ld.shared.u32 %r19, [%r9];
    mul.wide.u32 %rd5, %r5, 8;
    add.s64 %rd6, %rd2, %rd5;
    st.global.v2.u32 [%rd6], {%r15, %r19};
    ret;
}

.visible .entry paths(.param .u64 out)
{
    .reg .pred %p<2>;
    .reg .b32 %r<12>;
    .reg .b64 %rd<4>;
    .shared .align 4 .b32 buf[1024];
    ld.param.u64 %rd1, [out];
    mov.u32 %r1, %tid.x;
    mov.u32 %r10, %tid.y;
    mov.u32 %r11, %ntid.x;
    mad.lo.s32 %r1, %r10, %r11, %r1;
    mov.u32 %r2, buf;
    shl.b32 %r3, %r1, 2;
    add.s32 %r4, %r2, %r3;
    mad.lo.s32 %r5, %r1, 3, 1;
    st.shared.u32 [%r4], %r5;
    mul.lo.s32 %r10, %r1, 2654435761;
    shr.u32 %r10, %r10, 29;
    setp.lt.u32 %p1, %r10, 3;
    @%p1 bra LOW;
    mov.u32 %r6, buf;
    bra.uni JOIN;
LOW:
    add.s32 %r6, %r2, 64;
JOIN:
    bar.sync 0;
    ld.shared.u32 %r7, [%r6];
    ld.shared.u32 %r8, [%r6+4];
    bar.sync 0;
    st.shared.u32 [%r4], %r7;
    bar.sync 0;
    ld.shared.u32 %r9, [%r4+4];
    add.s32 %r7, %r7, %r8;
    add.s32 %r7, %r7, %r9;
    mul.wide.u32 %rd2, %r1, 4;
    add.s64 %rd3, %rd1, %rd2;
    st.global.u32 [%rd3], %r7;
    ret;
}

.visible .entry spin(.param .u64 out)
{
    .reg .pred %p<2>;
    .reg .b32 %r<12>;
    .reg .b64 %rd<4>;
    .shared .align 4 .b32 buf[1024];
    ld.param.u64 %rd1, [out];
    mov.u32 %r1, %tid.x;
    mov.u32 %r10, %tid.y;
    mov.u32 %r2, %ntid.x;
    mad.lo.s32 %r1, %r10, %r2, %r1;
    mov.u32 %r11, %ntid.y;
    mul.lo.s32 %r2, %r2, %r11;
    rem.u32 %r3, %r1, 3;
    add.s32 %r3, %r3, 5000;
    mov.u32 %r4, %r1;
LOOP:
    mad.lo.s32 %r4, %r4, 1664525, 1013904223;
    sub.s32 %r3, %r3, 1;
    setp.ne.u32 %p1, %r3, 0;
    @%p1 bra LOOP;
    shl.b32 %r5, %r1, 2;
    mov.u32 %r6, buf;
    add.s32 %r6, %r6, %r5;
    st.shared.u32 [%r6], %r4;
    bar.sync 0;
    add.s32 %r7, %r1, 1;
    rem.u32 %r7, %r7, %r2;
    shl.b32 %r7, %r7, 2;
    mov.u32 %r8, buf;
    add.s32 %r8, %r8, %r7;
    ld.shared.u32 %r9, [%r8];
    xor.b32 %r9, %r9, %r4;
    mul.wide.u32 %rd2, %r1, 4;
    add.s64 %rd3, %rd1, %rd2;
    st.global.u32 [%rd3], %r9;
    ret;
}

.func (.param .b32 r) exchange(.param .b32 v, .param .b32 me)
{
    .reg .b32 %r<6>;
    ld.param.u32 %r1, [v];
    ld.param.u32 %r2, [me];
    mov.u32 %r3, buf2;
    shl.b32 %r4, %r2, 2;
    add.s32 %r3, %r3, %r4;
    st.shared.u32 [%r3], %r1;
    bar.sync 0;
    ld.shared.u32 %r5, [%r3+4];
    bar.sync 0;
    st.param.b32 [r], %r5;
    ret;
}

.visible .entry in_call(.param .u64 out)
{
    .reg .b32 %r<8>;
    .reg .b64 %rd<4>;
    ld.param.u64 %rd1, [out];
    mov.u32 %r1, %tid.x;
    mov.u32 %r6, %tid.y;
    mov.u32 %r7, %ntid.x;
    mad.lo.s32 %r1, %r6, %r7, %r1;
    mul.lo.s32 %r2, %r1, 7;
    {
    .param .b32 a;
    .param .b32 b;
    .param .b32 ret;
    st.param.b32 [a], %r2;
    st.param.b32 [b], %r1;
    call (ret), exchange, (a, b);
    ld.param.b32 %r3, [ret];
    }
    {
    .param .b32 a;
    .param .b32 b;
    .param .b32 ret;
    st.param.b32 [a], %r3;
    st.param.b32 [b], %r1;
    call (ret), exchange, (a, b);
    ld.param.b32 %r4, [ret];
    }
    add.s32 %r5, %r3, %r4;
    mul.wide.u32 %rd2, %r1, 4;
    add.s64 %rd3, %rd1, %rd2;
    st.global.u32 [%rd3], %r5;
    ret;
}

.visible .entry sites(.param .u64 out)
{
    .reg .pred %p<4>;
    .reg .b32 %r<16>;
    .reg .b64 %rd<4>;
    .shared .align 4 .b32 buf[1024];
    ld.param.u64 %rd1, [out];
    mov.u32 %r1, %tid.x;
    mov.u32 %r10, %tid.y;
    mov.u32 %r11, %ntid.x;
    mad.lo.s32 %r1, %r10, %r11, %r1;
    mov.u32 %r12, %ntid.y;
    mul.lo.s32 %r11, %r11, %r12;
    mov.u32 %r2, buf;
    shl.b32 %r3, %r1, 2;
    add.s32 %r4, %r2, %r3;
    st.shared.u32 [%r4], %r1;
    add.s32 %r9, %r1, 1;
    rem.u32 %r9, %r9, %r11;
    shl.b32 %r9, %r9, 2;
    add.s32 %r9, %r2, %r9;
    and.b32 %r5, %r1, 63;
    setp.ge.u32 %p1, %r5, 58;
    @%p1 bra EXIT;
    shr.u32 %r6, %r1, 2;
    and.b32 %r6, %r6, 1;
    setp.eq.u32 %p2, %r6, 1;
    mov.u32 %r7, 0;
    mov.u32 %r13, 3;
LOOP:
    @%p2 bra SITEB;
    bar.sync 0;
    ld.shared.u32 %r8, [%r9];
    add.s32 %r7, %r7, %r8;
    bra.uni JOIN;
SITEB:
    bar.sync 0;
    ld.shared.u32 %r8, [%r9];
    mad.lo.s32 %r7, %r8, 3, %r7;
JOIN:
    bar.sync 0;
    st.shared.u32 [%r4], %r7;
    sub.s32 %r13, %r13, 1;
    setp.ne.u32 %p3, %r13, 0;
    @%p3 bra LOOP;
    mul.wide.u32 %rd2, %r1, 4;
    add.s64 %rd3, %rd1, %rd2;
    st.global.u32 [%rd3], %r7;
EXIT:
    ret;
}

.visible .entry lone(.param .u64 out, .param .u32 k)
{
    .reg .pred %p<2>;
    .reg .b32 %r<10>;
    .reg .b64 %rd<4>;
    .shared .align 4 .b32 buf[1024];
    ld.param.u64 %rd1, [out];
    ld.param.u32 %r9, [k];
    mov.u32 %r1, %tid.x;
    mov.u32 %r2, %tid.y;
    mov.u32 %r3, %ntid.x;
    mad.lo.s32 %r1, %r2, %r3, %r1;
    mov.u32 %r4, buf;
    shl.b32 %r5, %r1, 2;
    add.s32 %r4, %r4, %r5;
    st.shared.u32 [%r4], %r1;
    bar.sync 0;
    setp.ne.u32 %p1, %r1, %r9;
    @%p1 bra SKIP;
    ld.shared.u32 %r6, [buf+8];
    add.s32 %r6, %r6, 1000;
    st.shared.u32 [%r4], %r6;
    red.global.add.u32 [%rd1], %r6;
SKIP:
    add.s32 %r8, %r9, 1;
    setp.eq.u32 %p1, %r1, %r8;
    @%p1 bra ONE;
    bra.uni JOIN;
ONE:
    mov.u32 %r6, 7;
    red.global.add.u32 [%rd1], %r6;
JOIN:
    bar.sync 0;
    ld.shared.u32 %r7, [%r4];
    mul.wide.u32 %rd2, %r1, 4;
    add.s64 %rd3, %rd1, %rd2;
    st.global.u32 [%rd3+4], %r7;
    ret;
}

.visible .entry edge(.param .u64 out, .param .u32 off)
{
    .reg .b32 %r<8>;
    .reg .b64 %rd<4>;
    .shared .align 4 .b32 buf[64];
    ld.param.u64 %rd1, [out];
    ld.param.u32 %r1, [off];
    mov.u32 %r2, %tid.x;
    shl.b32 %r3, %r2, 2;
    mov.u32 %r4, buf;
    add.s32 %r5, %r4, %r3;
    st.shared.u32 [%r5], %r2;
    bar.sync 0;
    add.s32 %r6, %r5, %r1;
    ld.shared.u32 %r7, [%r6];
    mul.wide.u32 %rd2, %r2, 4;
    add.s64 %rd3, %rd1, %rd2;
    st.global.u32 [%rd3], %r7;
    ret;
}
"#;

#[test]
fn barriers_four_threads_at_a_time_match_the_interpreter() {
    // Block sizes: quads (1-D and 2-D), and an x size that is not a multiple of four (one
    // thread at a time, stopping at the barriers too).
    let shapes = [[64u32, 1, 1], [256, 1, 1], [8, 4, 1], [30, 1, 1]];
    let run = |compiled: bool, kernel: &str, block: [u32; 3], args: &[u64]| {
        let d = device(compiled);
        let m = load(&d, BARRIERS);
        let k = m.kernel(kernel).unwrap();
        let n = 3 * block[0] * block[1] - 5;
        let input: Vec<u8> = (0..n)
            .flat_map(|i| (i.wrapping_mul(2_654_435_761) >> 7).to_le_bytes())
            .collect();
        let inp = upload(&d, &input);
        let out = upload(&d, &vec![0xa5; 8 * 3 * 1024]);
        let mut p = Vec::new();
        match kernel {
            "tree" => {
                p.extend_from_slice(&inp.to_le_bytes());
                p.extend_from_slice(&out.to_le_bytes());
                p.extend_from_slice(&n.to_le_bytes());
            }
            _ => {
                p.extend_from_slice(&out.to_le_bytes());
                for a in args {
                    p.extend_from_slice(&(*a as u32).to_le_bytes());
                }
            }
        }
        if compiled {
            assert_eq!(k.interpreted_because(), None, "{kernel}");
            assert_eq!(
                k.is_vectorized(),
                quads() && kernel != "in_call",
                "{kernel}"
            );
        }
        let r = d.launch(&k, &cfg(3, block), &p);
        let mut o = vec![0u8; 8 * 3 * 1024];
        d.memory().read(out, &mut o).unwrap();
        (r.map_err(|e| (e.to_string(), format!("{:?}", e.site()))), o)
    };
    for block in shapes {
        for kernel in ["tree", "paths", "spin", "in_call", "sites"] {
            let (c, i) = (
                run(true, kernel, block, &[]),
                run(false, kernel, block, &[]),
            );
            assert!(c.0.is_ok(), "{kernel} {block:?}: {:?}", c.0);
            assert!(c == i, "{kernel} {block:?}");
        }
    }
    // `tree`'s block sums, worked out here.
    let (_, o) = run(true, "tree", [64, 1, 1], &[]);
    let word = |i: usize| u32::from_le_bytes(o[4 * i..4 * i + 4].try_into().unwrap());
    let x = |i: u32| {
        if i < 187 {
            i.wrapping_mul(2_654_435_761) >> 7
        } else {
            0
        }
    };
    for b in 0..3u32 {
        let mut s: Vec<u32> = (0..64).map(|t| x(64 * b + t)).collect();
        let mut st = 1;
        while st < 64 {
            for t in (0..64).step_by(2 * st) {
                s[t] = s[t].wrapping_mul(3).wrapping_add(s[t + st]);
            }
            st *= 2;
        }
        assert_eq!(word(2 * 64 * b as usize), s[0]);
    }
    // `lone`: one thread (its quad's lane 0, 1, 2 or 3, or none) of each block runs a block
    // the others skip.
    for k in [0u64, 5, 14, 27, 1000] {
        for block in shapes {
            let (c, i) = (
                run(true, "lone", block, &[k]),
                run(false, "lone", block, &[k]),
            );
            assert!(c.0.is_ok(), "lone {k} {block:?}: {:?}", c.0);
            assert!(c == i, "lone {k} {block:?}");
            let word = |i: usize| u32::from_le_bytes(c.1[4 * i..4 * i + 4].try_into().unwrap());
            let threads = block[0] * block[1];
            if (k as u32) < threads {
                // Three blocks add to the word the buffer's 0xa5 bytes filled, and thread
                // `k + 1` adds 7.
                let seven = if k as u32 + 1 < threads { 3 * 7 } else { 0 };
                assert_eq!(
                    word(0),
                    0xa5a5_a5a5u32 + 3 * 1002 + seven,
                    "lone {k} {block:?}"
                );
                assert_eq!(word(1 + k as usize), 1002, "lone {k} {block:?}");
            }
        }
    }
    // `edge`: reads inside the block's shared memory, then from an offset that takes the
    // last quads past its end: the same fault at the same line (what else the launch stored
    // before it stopped depends on the order the threads ran in).
    for off in [0u64, 8, 4 * 60] {
        let (c, i) = (
            run(true, "edge", [64, 1, 1], &[off]),
            run(false, "edge", [64, 1, 1], &[off]),
        );
        assert_eq!(c.0, i.0, "offset {off}");
        assert_eq!(c.0.is_err(), off != 0, "offset {off}: {:?}", c.0);
        if off == 0 {
            assert!(c.1 == i.1);
        }
    }
}
