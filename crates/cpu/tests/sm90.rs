//! sm_90 additions executed: cluster special registers of a launch without clusters, and
//! `.calltargets`-restricted indirect calls. Packed 16-bit arithmetic is checked on every
//! device, the H100 included, by the driver's `ptx_gaps` test (and `arith::int` unit tests).

mod common;
use common::*;
use ferrocuda_cpu::Error;

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

const TARGETS: &str = concat!(
    r#"
.version 8.0
.target sm_90
.address_size 64

.func (.param .b32 r) inc(.param .b32 x);
.func (.param .b32 r) dbl(.param .b32 x);
.func (.param .b32 r) neg(.param .b32 x);

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

"#,
    include_str!("../../../tests/fixtures/snippets/call_targets.ptx")
);

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

const TABLE: &str = concat!(
    r#"
.version 8.0
.target sm_90
.address_size 64

"#,
    include_str!("../../../tests/fixtures/snippets/call_targets.ptx"),
    r#"
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
"#
);

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
