mod common;
use common::*;

const WARP: &str = r#"
.version 8.0
.target sm_90
.address_size 64

// out[tid*8 + k]: k=0 shfl.down sum over the warp, 1 ballot of odd lanes, 2 activemask in a
// branch taken by lanes < 10, 3 shfl.up with predicate, 4 shfl.idx from lane 5 in segments of 8,
// 5 vote.all(tid<64), 6 redux.max, 7 match.any of tid/4.
.visible .entry warp(.param .u64 out)
{
    .reg .pred %p<6>;
    .reg .b32 %r<40>;
    .reg .b64 %rd<6>;
    ld.param.u64 %rd1, [out];
    mov.u32 %r1, %tid.x;
    mov.u32 %r2, %laneid;
    mul.wide.u32 %rd2, %r1, 32;
    add.s64 %rd3, %rd1, %rd2;

    mov.u32 %r3, %r1;
    shfl.sync.down.b32 %r4, %r3, 16, 31, -1;
    add.s32 %r3, %r3, %r4;
    shfl.sync.down.b32 %r4, %r3, 8, 31, -1;
    add.s32 %r3, %r3, %r4;
    shfl.sync.down.b32 %r4, %r3, 4, 31, -1;
    add.s32 %r3, %r3, %r4;
    shfl.sync.down.b32 %r4, %r3, 2, 31, -1;
    add.s32 %r3, %r3, %r4;
    shfl.sync.down.b32 %r4, %r3, 1, 31, -1;
    add.s32 %r3, %r3, %r4;
    st.global.u32 [%rd3], %r3;

    and.b32 %r5, %r2, 1;
    setp.eq.s32 %p1, %r5, 1;
    vote.sync.ballot.b32 %r6, %p1, -1;
    st.global.u32 [%rd3+4], %r6;

    mov.u32 %r7, 0;
    setp.lt.u32 %p2, %r2, 10;
    @!%p2 bra SKIP;
    activemask.b32 %r7;
SKIP:
    st.global.u32 [%rd3+8], %r7;

    shfl.sync.up.b32 %r8|%p3, %r1, 3, 0, -1;
    selp.u32 %r9, 1000, 0, %p3;
    add.s32 %r8, %r8, %r9;
    st.global.u32 [%rd3+12], %r8;

    shfl.sync.idx.b32 %r10, %r1, 5, 6175, -1;
    st.global.u32 [%rd3+16], %r10;

    setp.lt.u32 %p4, %r1, 64;
    vote.sync.all.pred %p5, %p4, -1;
    selp.u32 %r11, 1, 0, %p5;
    st.global.u32 [%rd3+20], %r11;

    mul.lo.s32 %r12, %r1, 7;
    and.b32 %r12, %r12, 63;
    redux.sync.max.u32 %r13, %r12, -1;
    st.global.u32 [%rd3+24], %r13;

    shr.u32 %r14, %r2, 2;
    match.any.sync.b32 %r15, %r14, -1;
    st.global.u32 [%rd3+28], %r15;
    ret;
}
"#;

#[test]
fn shuffles_votes_and_reductions() {
    let m = load(WARP);
    let n = 96u32;
    let out = upload_u32(&vec![0; n as usize * 8]);
    run(
        &m,
        "warp",
        cfg([1, 1, 1], [n, 1, 1], 0),
        Params::default().u64(out),
    )
    .unwrap();
    let o = download_u32(out, n as usize * 8);
    for t in 0..n {
        let lane = t % 32;
        let w = t / 32;
        let r = &o[t as usize * 8..t as usize * 8 + 8];
        if lane == 0 {
            assert_eq!(r[0], (0..32).map(|l| w * 32 + l).sum::<u32>(), "warp sum");
        }
        assert_eq!(r[1], 0xaaaa_aaaa, "ballot");
        assert_eq!(r[2], if lane < 10 { 0x3ff } else { 0 }, "activemask");
        let up = if lane >= 3 { t - 3 + 1000 } else { t };
        assert_eq!(r[3], up, "shfl.up of {t}");
        // c = 0x181f: segment mask 0x18 → segments of 8 lanes; source = segment base + 5
        assert_eq!(r[4], w * 32 + (lane & !7) + 5, "shfl.idx of {t}");
        assert_eq!(r[5], (w < 2) as u32, "vote.all");
        let mx = (0..32).map(|l| ((w * 32 + l) * 7) & 63).max().unwrap();
        assert_eq!(r[6], mx, "redux.max");
        assert_eq!(r[7], 0xf << (lane & !3), "match.any");
    }
}

const SHFL_XOR_F32: &str = r#"
.version 8.0
.target sm_90
.address_size 64

.visible .entry bfly(.param .u64 out)
{
    .reg .b32 %r<10>;
    .reg .f32 %f<10>;
    .reg .b64 %rd<6>;
    .reg .pred %p<3>;
    ld.param.u64 %rd1, [out];
    mov.u32 %r1, %tid.x;
    cvt.rn.f32.u32 %f1, %r1;
    mov.b32 %r2, %f1;
    shfl.sync.bfly.b32 %r3, %r2, 1, 31, -1;
    mov.b32 %f2, %r3;
    add.f32 %f3, %f1, %f2;
    mov.b32 %r2, %f3;
    shfl.sync.bfly.b32 %r3, %r2, 2, 31, -1;
    mov.b32 %f2, %r3;
    add.f32 %f3, %f3, %f2;
    elect.sync %r4|%p1, -1;
    selp.u32 %r5, 1, 0, %p1;
    mul.wide.u32 %rd2, %r1, 12;
    add.s64 %rd3, %rd1, %rd2;
    st.global.f32 [%rd3], %f3;
    st.global.u32 [%rd3+4], %r4;
    st.global.u32 [%rd3+8], %r5;
    ret;
}
"#;

#[test]
fn butterfly_shuffle_and_elect() {
    let m = load(SHFL_XOR_F32);
    let out = upload_u32(&[0; 64 * 3]);
    run(
        &m,
        "bfly",
        cfg([1, 1, 1], [64, 1, 1], 0),
        Params::default().u64(out),
    )
    .unwrap();
    let o = download_u32(out, 64 * 3);
    for t in 0..64u32 {
        let base = t & !3;
        let s = (base..base + 4).map(|x| x as f32).sum::<f32>();
        assert_eq!(f32::from_bits(o[t as usize * 3]), s);
        assert_eq!(o[t as usize * 3 + 1], 0);
        assert_eq!(o[t as usize * 3 + 2], (t % 32 == 0) as u32);
    }
}

const LOCK: &str = r#"
.version 8.0
.target sm_90
.address_size 64

// Every thread increments a plain counter under a global spin lock: lanes of one warp contend
// for the same lock, which needs independent forward progress of the lock holder.
.visible .entry locked(.param .u64 lock, .param .u64 counter)
{
    .reg .pred %p<2>;
    .reg .b32 %r<6>;
    .reg .b64 %rd<3>;
    ld.param.u64 %rd1, [lock];
    ld.param.u64 %rd2, [counter];
SPIN:
    atom.global.cas.b32 %r1, [%rd1], 0, 1;
    setp.ne.s32 %p1, %r1, 0;
    @%p1 bra SPIN;
    ld.volatile.global.u32 %r2, [%rd2];
    add.s32 %r2, %r2, 1;
    st.volatile.global.u32 [%rd2], %r2;
    membar.gl;
    atom.global.exch.b32 %r3, [%rd1], 0;
    ret;
}

.visible .entry bar_red(.param .u64 out)
{
    .reg .pred %p<4>;
    .reg .b32 %r<8>;
    .reg .b64 %rd<4>;
    ld.param.u64 %rd1, [out];
    mov.u32 %r1, %tid.x;
    rem.u32 %r2, %r1, 3;
    setp.eq.u32 %p1, %r2, 0;
    bar.red.popc.u32 %r3, 0, %p1;
    setp.lt.u32 %p2, %r1, 1000;
    bar.red.and.pred %p3, 1, %p2;
    selp.u32 %r4, 1, 0, %p3;
    setp.eq.u32 %p2, %r1, 77;
    bar.red.or.pred %p3, 2, %p2;
    selp.u32 %r5, 1, 0, %p3;
    mul.wide.u32 %rd2, %r1, 12;
    add.s64 %rd3, %rd1, %rd2;
    st.global.u32 [%rd3], %r3;
    st.global.u32 [%rd3+4], %r4;
    st.global.u32 [%rd3+8], %r5;
    ret;
}
"#;

#[test]
fn spin_lock_within_a_warp_makes_progress() {
    let m = load(LOCK);
    let lock = upload_u32(&[0]);
    let counter = upload_u32(&[0]);
    run(
        &m,
        "locked",
        cfg([2, 1, 1], [64, 1, 1], 0),
        Params::default().u64(lock).u64(counter),
    )
    .unwrap();
    assert_eq!(download_u32(counter, 1), [128]);
    assert_eq!(download_u32(lock, 1), [0]);
}

#[test]
fn barrier_reductions() {
    let m = load(LOCK);
    let n = 160u32;
    let out = upload_u32(&vec![0; 3 * n as usize]);
    run(
        &m,
        "bar_red",
        cfg([1, 1, 1], [n, 1, 1], 0),
        Params::default().u64(out),
    )
    .unwrap();
    let o = download_u32(out, 3 * n as usize);
    let popc = (0..n).filter(|t| t % 3 == 0).count() as u32;
    for t in 0..n as usize {
        assert_eq!(o[3 * t..3 * t + 3], [popc, 1, 1], "thread {t}");
    }
}

/// `ldmatrix` distributes 8×8 tiles of 16-bit elements as sm_75+ does: lane `t` gets
/// elements `(t/4, 2(t%4))` and `(t/4, 2(t%4)+1)` of each matrix, or the transposed pair.
#[test]
fn ldmatrix_fragments_match_the_documented_layout() {
    let ptx = r#"
.version 8.0
.target sm_90
.address_size 64
.visible .entry k(.param .u64 out)
{
    .reg .b32 %r<16>;
    .reg .b64 %rd<4>;
    .shared .align 16 .b16 tile[256];
    mov.u32 %r0, %tid.x;
    // Element i of the four 8x8 tiles holds i.
    shl.b32 %r1, %r0, 3;
    mov.u32 %r2, tile;
    mov.u32 %r3, 0;
$fill:
    add.u32 %r4, %r1, %r3;
    shl.b32 %r5, %r4, 1;
    add.u32 %r5, %r5, %r2;
    st.shared.u16 [%r5], %r4;
    add.u32 %r3, %r3, 1;
    setp.lt.u32 %p0, %r3, 8;
    @%p0 bra $fill;
    bar.sync 0;
    // Lane t addresses row t (16 bytes per row).
    shl.b32 %r6, %r0, 4;
    add.u32 %r6, %r6, %r2;
    ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%r7, %r8, %r9, %r10}, [%r6];
    ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%r11, %r12}, [%r6];
    ld.param.u64 %rd0, [out];
    mul.wide.u32 %rd1, %r0, 32;
    add.u64 %rd2, %rd0, %rd1;
    st.global.v4.u32 [%rd2], {%r7, %r8, %r9, %r10};
    st.global.v2.u32 [%rd2+16], {%r11, %r12};
    ret;
}
"#;
    let ptx = ptx.replace(
        ".reg .b32 %r<16>;",
        ".reg .b32 %r<16>;\n    .reg .pred %p<1>;",
    );
    let m = ferrocuda_ptx::parse(&ptx).unwrap();
    let d = ferrocuda_cpu::Device::with_workers(1);
    let lm = d.load_module(&m).unwrap();
    let k = lm.kernel("k").unwrap();
    let out = d.memory().alloc(32 * 32).unwrap();
    let cfg = ferrocuda_cpu::LaunchConfig {
        grid: [1, 1, 1],
        block: [32, 1, 1],
        dynamic_shared: 0,
    };
    d.launch(&k, &cfg, &out.to_le_bytes()).unwrap();
    let mut bytes = vec![0u8; 32 * 32];
    d.memory().read(out, &mut bytes).unwrap();
    let word = |lane: usize, i: usize| {
        let o = lane * 32 + i * 4;
        u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap())
    };
    let pack = |lo: u32, hi: u32| lo | hi << 16;
    for t in 0..32u32 {
        let (r, c) = (t / 4, 2 * (t % 4));
        for m in 0..4u32 {
            let e = |row: u32, col: u32| 64 * m + 8 * row + col;
            assert_eq!(
                word(t as usize, m as usize),
                pack(e(r, c), e(r, c + 1)),
                "lane {t} x4 matrix {m}"
            );
        }
        for m in 0..2u32 {
            let e = |row: u32, col: u32| 64 * m + 8 * row + col;
            assert_eq!(
                word(t as usize, 4 + m as usize),
                pack(e(c, r), e(c + 1, r)),
                "lane {t} trans matrix {m}"
            );
        }
    }
}
