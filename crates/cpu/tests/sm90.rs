//! sm_90 additions executed: packed 16-bit integer arithmetic, cluster special registers of a
//! launch without clusters, and `.calltargets`-restricted indirect calls.

mod common;
use common::*;
use ferrocuda_cpu::Error;

const PACKED: &str = r#"
.version 8.0
.target sm_90
.address_size 64

.visible .entry packed(.param .u64 pa, .param .u64 pb, .param .u64 pout)
{
    .reg .b32 %r<16>;
    .reg .b64 %rd<8>;
    ld.param.u64 %rd1, [pa];
    ld.param.u64 %rd2, [pb];
    ld.param.u64 %rd3, [pout];
    mov.u32 %r1, %tid.x;
    mul.wide.u32 %rd4, %r1, 4;
    add.s64 %rd5, %rd1, %rd4;
    add.s64 %rd6, %rd2, %rd4;
    ld.global.b32 %r2, [%rd5];
    ld.global.b32 %r3, [%rd6];
    mul.wide.u32 %rd4, %r1, 48;
    add.s64 %rd7, %rd3, %rd4;
    add.u16x2 %r4, %r2, %r3;
    st.global.b32 [%rd7], %r4;
    add.s16x2 %r4, %r2, %r3;
    st.global.b32 [%rd7+4], %r4;
    add.u16x2 %r4, %r2, %r2;
    st.global.b32 [%rd7+8], %r4;
    min.relu.s16x2 %r4, %r3, %r2;
    st.global.b32 [%rd7+12], %r4;
    min.u16x2 %r4, %r2, %r3;
    st.global.b32 [%rd7+16], %r4;
    min.s16x2 %r4, %r2, %r3;
    st.global.b32 [%rd7+20], %r4;
    max.u16x2 %r4, %r2, %r3;
    st.global.b32 [%rd7+24], %r4;
    max.s16x2 %r4, %r2, %r3;
    st.global.b32 [%rd7+28], %r4;
    min.relu.s16x2 %r4, %r2, %r3;
    st.global.b32 [%rd7+32], %r4;
    max.relu.s16x2 %r4, %r2, %r3;
    st.global.b32 [%rd7+36], %r4;
    mov.b32 %r5, 0x8000FFFF;
    add.u16x2 %r4, %r2, %r5;
    st.global.b32 [%rd7+40], %r4;
    mov.b32 %r5, 0x0000FFFF;
    max.s16x2 %r4, %r2, %r5;
    st.global.b32 [%rd7+44], %r4;
    ret;
}
"#;

/// The host model: each 16-bit lane computed on its own, as i32.
fn lanes(a: u32, b: u32, f: impl Fn(i32, i32) -> i32, signed: bool) -> u32 {
    let lane = |x: u32, i: u32| {
        let h = (x >> (16 * i)) as u16;
        if signed {
            h as i16 as i32
        } else {
            h as i32
        }
    };
    let lo = f(lane(a, 0), lane(b, 0)) as u32 & 0xFFFF;
    let hi = f(lane(a, 1), lane(b, 1)) as u32 & 0xFFFF;
    lo | hi << 16
}

fn packed_expected(a: u32, b: u32) -> [u32; 12] {
    [
        lanes(a, b, |x, y| x + y, false),
        lanes(a, b, |x, y| x + y, true),
        lanes(a, a, |x, y| x + y, false),
        lanes(b, a, |x, y| x.min(y).max(0), true),
        lanes(a, b, i32::min, false),
        lanes(a, b, i32::min, true),
        lanes(a, b, i32::max, false),
        lanes(a, b, i32::max, true),
        lanes(a, b, |x, y| x.min(y).max(0), true),
        lanes(a, b, |x, y| x.max(y).max(0), true),
        lanes(a, 0x8000_FFFF, |x, y| x + y, false),
        lanes(a, 0x0000_FFFF, i32::max, true),
    ]
}

#[test]
fn packed_16x2_arithmetic_is_lane_wise() {
    let pairs: [(u32, u32); 8] = [
        (0x0001_FFFF, 0x0001_0001), // low lane wraps, no carry into the high lane
        (0x7FFF_8000, 0x0001_FFFF), // signed overflow both ways
        (0xFFFF_0001, 0x0001_FFFF), // -1 vs 1: signedness decides min/max
        (0x8000_0005, 0x8001_0007), // both lanes negative in one, positive in the other
        (0x0000_0000, 0xFFFF_FFFF),
        (0x1234_5678, 0x9ABC_DEF0),
        (0xFFFF_FFFF, 0xFFFF_FFFF),
        (0x8000_8000, 0x7FFF_7FFF),
    ];
    let m = load(PACKED);
    let a = upload_u32(&pairs.map(|p| p.0));
    let b = upload_u32(&pairs.map(|p| p.1));
    let out = upload_u32(&[0; 12 * 8]);
    run(
        &m,
        "packed",
        cfg([1, 1, 1], [8, 1, 1], 0),
        Params::default().u64(a).u64(b).u64(out),
    )
    .unwrap();
    let got = download_u32(out, 12 * 8);
    for (t, &(x, y)) in pairs.iter().enumerate() {
        assert_eq!(
            got[12 * t..12 * t + 12],
            packed_expected(x, y),
            "a={x:#010x} b={y:#010x}"
        );
    }
    // Spot checks written out by hand.
    assert_eq!(got[0], 0x0002_0000);
    assert_eq!(got[12 + 1], 0x8000_7FFF);
    assert_eq!(got[24 + 4], 0x0001_0001); // min.u16x2: 1 < 0xFFFF
    assert_eq!(got[24 + 5], 0xFFFF_FFFF); // min.s16x2: -1 < 1
    assert_eq!(got[24 + 8], 0); // min.relu: both lanes -1 → 0
    assert_eq!(got[36 + 9], 0x0000_0007); // max.relu: high lane -32767 → 0
}

const CLUSTER: &str = r#"
.version 8.0
.target sm_90
.address_size 64

.visible .entry cluster(.param .u64 pout)
{
    .reg .b32 %r<24>;
    .reg .b64 %rd<4>;
    .reg .pred %p<2>;
    ld.param.u64 %rd1, [pout];
    mov.u32 %r1, %ctaid.x;
    mov.u32 %r2, %ctaid.y;
    mov.u32 %r3, %ctaid.z;
    mov.u32 %r4, %nctaid.x;
    mov.u32 %r5, %nctaid.y;
    mad.lo.s32 %r6, %r3, %r5, %r2;
    mad.lo.s32 %r6, %r6, %r4, %r1;
    mul.wide.u32 %rd2, %r6, 64;
    add.s64 %rd3, %rd1, %rd2;
    mov.u32 %r7, %clusterid.x;
    st.global.u32 [%rd3], %r7;
    mov.u32 %r7, %clusterid.y;
    st.global.u32 [%rd3+4], %r7;
    mov.u32 %r7, %clusterid.z;
    st.global.u32 [%rd3+8], %r7;
    mov.u32 %r7, %nclusterid.x;
    st.global.u32 [%rd3+12], %r7;
    mov.u32 %r7, %nclusterid.y;
    st.global.u32 [%rd3+16], %r7;
    mov.u32 %r7, %nclusterid.z;
    st.global.u32 [%rd3+20], %r7;
    mov.u32 %r7, %cluster_ctaid.x;
    st.global.u32 [%rd3+24], %r7;
    mov.u32 %r7, %cluster_ctaid.y;
    st.global.u32 [%rd3+28], %r7;
    mov.u32 %r7, %cluster_ctaid.z;
    st.global.u32 [%rd3+32], %r7;
    mov.u32 %r7, %cluster_nctaid.x;
    st.global.u32 [%rd3+36], %r7;
    mov.u32 %r7, %cluster_nctaid.y;
    st.global.u32 [%rd3+40], %r7;
    mov.u32 %r7, %cluster_nctaid.z;
    st.global.u32 [%rd3+44], %r7;
    mov.u32 %r7, %cluster_ctarank;
    st.global.u32 [%rd3+48], %r7;
    mov.u32 %r7, %cluster_nctarank;
    st.global.u32 [%rd3+52], %r7;
    mov.pred %p1, %is_explicit_cluster;
    selp.u32 %r7, 7, 9, %p1;
    st.global.u32 [%rd3+56], %r7;
    st.global.u32 [%rd3+60], %r6;
    ret;
}
"#;

#[test]
fn cluster_registers_without_a_cluster_launch() {
    let m = load(CLUSTER);
    let grid = [3u32, 2, 2];
    let n = (grid[0] * grid[1] * grid[2]) as usize;
    let out = upload_u32(&vec![0xDEAD_BEEF; 16 * n]);
    run(
        &m,
        "cluster",
        cfg(grid, [32, 1, 1], 0),
        Params::default().u64(out),
    )
    .unwrap();
    let got = download_u32(out, 16 * n);
    for z in 0..grid[2] {
        for y in 0..grid[1] {
            for x in 0..grid[0] {
                let i = ((z * grid[1] + y) * grid[0] + x) as usize;
                let want = [
                    x, y, z, // %clusterid = %ctaid
                    grid[0], grid[1], grid[2], // %nclusterid = %nctaid
                    0, 0, 0, // %cluster_ctaid
                    1, 1, 1, // %cluster_nctaid
                    0, // %cluster_ctarank
                    1, // %cluster_nctarank
                    9, // %is_explicit_cluster is false
                    i as u32,
                ];
                assert_eq!(got[16 * i..16 * i + 16], want, "cta ({x},{y},{z})");
            }
        }
    }
}

const TARGETS: &str = r#"
.version 8.0
.target sm_90
.address_size 64

.func (.param .b32 r) inc(.param .b32 x);
.func (.param .b32 r) dbl(.param .b32 x);
.func (.param .b32 r) neg(.param .b32 x)
{
    .reg .b32 %v;
    ld.param.b32 %v, [x];
    neg.s32 %v, %v;
    st.param.b32 [r], %v;
    ret;
}

.visible .entry pick(.param .u32 which, .param .u64 pout)
{
    .reg .b32 %r<4>;
    .reg .b64 %rd<4>;
    .reg .pred %p<3>;
    Ftgt: .calltargets inc, dbl;
    ld.param.u32 %r1, [which];
    ld.param.u64 %rd1, [pout];
    mov.u64 %rd2, inc;
    setp.eq.u32 %p1, %r1, 1;
    @%p1 mov.u64 %rd2, dbl;
    setp.eq.u32 %p2, %r1, 2;
    @%p2 mov.u64 %rd2, neg;
    mov.u32 %r2, %tid.x;
    {
    .param .b32 a;
    .param .b32 ret;
    st.param.b32 [a], %r2;
    call (ret), %rd2, (a), Ftgt;
    ld.param.b32 %r3, [ret];
    }
    mul.wide.u32 %rd3, %r2, 4;
    add.s64 %rd3, %rd1, %rd3;
    st.global.u32 [%rd3], %r3;
    ret;
}

.func (.param .b32 r) inc(.param .b32 x)
{
    .reg .b32 %v;
    ld.param.b32 %v, [x];
    add.s32 %v, %v, 1;
    st.param.b32 [r], %v;
    ret;
}

.func (.param .b32 r) dbl(.param .b32 x)
{
    .reg .b32 %v;
    ld.param.b32 %v, [x];
    add.s32 %v, %v, %v;
    st.param.b32 [r], %v;
    ret;
}
"#;

#[test]
fn calltargets_calls_reach_listed_functions() {
    let m = load(TARGETS);
    for (which, f) in [(0u32, (|t| t + 1) as fn(u32) -> u32), (1, |t| 2 * t)] {
        let out = upload_u32(&[0; 32]);
        run(
            &m,
            "pick",
            cfg([1, 1, 1], [32, 1, 1], 0),
            Params::default().u32(which).u64(out),
        )
        .unwrap();
        let want: Vec<u32> = (0..32).map(f).collect();
        assert_eq!(download_u32(out, 32), want, "which={which}");
    }
}

#[test]
fn calltargets_call_outside_the_list_is_an_illegal_instruction() {
    let m = load(TARGETS);
    let out = upload_u32(&[0; 32]);
    let e = run(
        &m,
        "pick",
        cfg([1, 1, 1], [32, 1, 1], 0),
        Params::default().u32(2).u64(out),
    )
    .expect_err("`neg` is not in the list");
    match &e {
        Error::IllegalInstruction { what, at } => {
            assert!(what.contains("`neg`"), "{e}");
            assert!(what.contains(".calltargets"), "{e}");
            assert_eq!(at.kernel, "pick", "{e}");
        }
        other => panic!("wrong error: {other}"),
    }
}

const TABLE: &str = r#"
.version 8.0
.target sm_90
.address_size 64

.func (.param .b32 r) inc(.param .b32 x)
{
    .reg .b32 %v;
    ld.param.b32 %v, [x];
    add.s32 %v, %v, 1;
    st.param.b32 [r], %v;
    ret;
}
.func (.param .b32 r) dbl(.param .b32 x)
{
    .reg .b32 %v;
    ld.param.b32 %v, [x];
    add.s32 %v, %v, %v;
    st.param.b32 [r], %v;
    ret;
}
.func (.param .b32 r) neg(.param .b32 x)
{
    .reg .b32 %v;
    ld.param.b32 %v, [x];
    neg.s32 %v, %v;
    st.param.b32 [r], %v;
    ret;
}
.global .align 8 .u64 jmptbl[2] = {inc, dbl};
.global .align 8 .u64 others[1] = {neg};

// out[tid] = jmptbl[tid % 2](tid), or others[0](tid) when `bad` is set.
.visible .entry table(.param .u32 bad, .param .u64 pout)
{
    .reg .b32 %r<6>;
    .reg .b64 %rd<6>;
    .reg .pred %p;
    ld.param.u32 %r1, [bad];
    ld.param.u64 %rd1, [pout];
    mov.u32 %r2, %tid.x;
    and.b32 %r3, %r2, 1;
    mul.wide.u32 %rd2, %r3, 8;
    mov.u64 %rd3, jmptbl;
    add.s64 %rd3, %rd3, %rd2;
    ld.global.u64 %rd4, [%rd3];
    setp.ne.u32 %p, %r1, 0;
    @%p ld.global.u64 %rd4, [others];
    {
    .param .b32 a;
    .param .b32 ret;
    st.param.b32 [a], %r2;
    call (ret), %rd4, (a), jmptbl;
    ld.param.b32 %r4, [ret];
    }
    mul.wide.u32 %rd5, %r2, 4;
    add.s64 %rd5, %rd1, %rd5;
    st.global.u32 [%rd5], %r4;
    ret;
}
"#;

#[test]
fn call_table_lists_the_reachable_functions() {
    let m = load(TABLE);
    let out = upload_u32(&[0; 32]);
    run(
        &m,
        "table",
        cfg([1, 1, 1], [32, 1, 1], 0),
        Params::default().u32(0).u64(out),
    )
    .unwrap();
    let want: Vec<u32> = (0..32)
        .map(|t| if t % 2 == 0 { t + 1 } else { 2 * t })
        .collect();
    assert_eq!(download_u32(out, 32), want);
    let e = run(
        &m,
        "table",
        cfg([1, 1, 1], [32, 1, 1], 0),
        Params::default().u32(1).u64(out),
    )
    .expect_err("`neg` is not in `jmptbl`");
    assert!(
        matches!(&e, Error::IllegalInstruction { what, .. } if what.contains("`neg`")),
        "{e}"
    );
}
