//! Differential test of sm_90 PTX forms: packed 16-bit integer arithmetic (`.u16x2`,
//! `.s16x2`), the cluster special registers of a launch without clusters, and an indirect
//! call through a `.calltargets` list (and a `brx.idx` jump table in nvcc's layout). Expected values are computed on the host; on a machine
//! with an NVIDIA GPU the same kernel runs there too, so the GPU confirms them.

mod common;

use common::contexts;

const PTX: &str = concat!(
    r#"
.version 8.0
.target sm_90
.address_size 64
"#,
    include_str!("../../../tests/fixtures/snippets/call_targets.ptx"),
    r#"

// out[(cta * ntid + tid) * 32 + k]:
//   k 0..12   packed results of a[tid], b[tid]
//   k 12, 13  inc(tid), dbl(tid) through the `.calltargets` list
//   k 14..29  %clusterid.xyz %nclusterid.xyz %cluster_ctaid.xyz %cluster_nctaid.xyz
//             %cluster_ctarank %cluster_nctarank %is_explicit_cluster (as 1/0)
//   k 29      100, 200 or 300 by `brx.idx` on tid % 3 through a `.branchtargets` table
//   k 30      add.s16x2 of a[tid] with its halves swapped (mov unpack/pack) and b[tid]
.visible .entry gaps(.param .u64 pa, .param .u64 pb, .param .u64 pout)
{
    .reg .pred %p<2>;
    .reg .b32 %r<16>;
    .reg .b64 %rd<12>;
    .reg .b16 %rs<3>;
    Ftgt: .calltargets inc, dbl;

    ld.param.u64 %rd1, [pa];
    ld.param.u64 %rd2, [pb];
    ld.param.u64 %rd3, [pout];
    cvta.to.global.u64 %rd1, %rd1;
    cvta.to.global.u64 %rd2, %rd2;
    cvta.to.global.u64 %rd3, %rd3;
    mov.u32 %r1, %tid.x;
    mov.u32 %r10, %ctaid.x;
    mov.u32 %r11, %ctaid.y;
    mov.u32 %r12, %nctaid.x;
    mov.u32 %r13, %ntid.x;
    mad.lo.s32 %r10, %r11, %r12, %r10;
    mad.lo.s32 %r10, %r10, %r13, %r1;
    mul.wide.u32 %rd4, %r1, 4;
    add.s64 %rd5, %rd1, %rd4;
    add.s64 %rd6, %rd2, %rd4;
    ld.global.b32 %r2, [%rd5];
    ld.global.b32 %r3, [%rd6];
    mul.wide.u32 %rd4, %r10, 128;
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

    mov.u64 %rd8, inc;
    {
    .param .b32 a0;
    .param .b32 r0;
    st.param.b32 [a0], %r1;
    call (r0), %rd8, (a0), Ftgt;
    ld.param.b32 %r6, [r0];
    }
    st.global.u32 [%rd7+48], %r6;
    mov.u64 %rd8, dbl;
    {
    .param .b32 a0;
    .param .b32 r0;
    st.param.b32 [a0], %r1;
    call (r0), %rd8, (a0), Ftgt;
    ld.param.b32 %r6, [r0];
    }
    st.global.u32 [%rd7+52], %r6;

    mov.u32 %r7, %clusterid.x;
    st.global.u32 [%rd7+56], %r7;
    mov.u32 %r7, %clusterid.y;
    st.global.u32 [%rd7+60], %r7;
    mov.u32 %r7, %clusterid.z;
    st.global.u32 [%rd7+64], %r7;
    mov.u32 %r7, %nclusterid.x;
    st.global.u32 [%rd7+68], %r7;
    mov.u32 %r7, %nclusterid.y;
    st.global.u32 [%rd7+72], %r7;
    mov.u32 %r7, %nclusterid.z;
    st.global.u32 [%rd7+76], %r7;
    mov.u32 %r7, %cluster_ctaid.x;
    st.global.u32 [%rd7+80], %r7;
    mov.u32 %r7, %cluster_ctaid.y;
    st.global.u32 [%rd7+84], %r7;
    mov.u32 %r7, %cluster_ctaid.z;
    st.global.u32 [%rd7+88], %r7;
    mov.u32 %r7, %cluster_nctaid.x;
    st.global.u32 [%rd7+92], %r7;
    mov.u32 %r7, %cluster_nctaid.y;
    st.global.u32 [%rd7+96], %r7;
    mov.u32 %r7, %cluster_nctaid.z;
    st.global.u32 [%rd7+100], %r7;
    mov.u32 %r7, %cluster_ctarank;
    st.global.u32 [%rd7+104], %r7;
    mov.u32 %r7, %cluster_nctarank;
    st.global.u32 [%rd7+108], %r7;
    mov.pred %p1, %is_explicit_cluster;
    selp.u32 %r7, 1, 0, %p1;
    st.global.u32 [%rd7+112], %r7;

    rem.u32 %r8, %r1, 3;
$L_brx_0: .branchtargets
    $L_t0,
    $L_t1,
    $L_t2;
    brx.idx %r8, $L_brx_0;
$L_t0:
    mov.u32 %r9, 100;
    bra.uni $L_done;
$L_t1:
    mov.u32 %r9, 200;
    bra.uni $L_done;
$L_t2:
    mov.u32 %r9, 300;
$L_done:
    st.global.u32 [%rd7+116], %r9;

    mov.b32 {%rs1, %rs2}, %r2;
    mov.b32 %r5, {%rs2, %rs1};
    add.s16x2 %r5, %r5, %r3;
    st.global.b32 [%rd7+120], %r5;
    ret;
}
"#
);

/// Each 16-bit lane computed on its own as an `i32`, then wrapped to 16 bits.
fn lanes(a: u32, b: u32, signed: bool, f: impl Fn(i32, i32) -> i32) -> u32 {
    let lane = |x: u32, i: u32| {
        let h = (x >> (16 * i)) as u16;
        if signed {
            i32::from(h as i16)
        } else {
            i32::from(h)
        }
    };
    let lo = f(lane(a, 0), lane(b, 0)) as u32 & 0xFFFF;
    let hi = f(lane(a, 1), lane(b, 1)) as u32 & 0xFFFF;
    lo | hi << 16
}

/// What one thread writes: `tid` in CTA `(cx, cy)` of a `grid` launch.
fn expected(a: u32, b: u32, tid: u32, (cx, cy): (u32, u32), grid: (u32, u32)) -> [u32; 32] {
    let mut w = [0u32; 32];
    let packed = [
        lanes(a, b, false, |x, y| x + y),
        lanes(a, b, true, |x, y| x + y),
        lanes(a, a, false, |x, y| x + y),
        lanes(b, a, true, |x, y| x.min(y).max(0)),
        lanes(a, b, false, i32::min),
        lanes(a, b, true, i32::min),
        lanes(a, b, false, i32::max),
        lanes(a, b, true, i32::max),
        lanes(a, b, true, |x, y| x.min(y).max(0)),
        lanes(a, b, true, |x, y| x.max(y).max(0)),
        lanes(a, 0x8000_FFFF, false, |x, y| x + y),
        lanes(a, 0x0000_FFFF, true, i32::max),
    ];
    w[..12].copy_from_slice(&packed);
    w[12] = tid + 1;
    w[13] = 2 * tid;
    // Without a cluster launch every CTA is its own 1x1x1 cluster.
    let cluster = [
        cx, cy, 0, // %clusterid = %ctaid
        grid.0, grid.1, 1, // %nclusterid = %nctaid
        0, 0, 0, // %cluster_ctaid
        1, 1, 1, // %cluster_nctaid
        0, // %cluster_ctarank
        1, // %cluster_nctarank
        0, // %is_explicit_cluster
    ];
    w[14..29].copy_from_slice(&cluster);
    w[29] = [100, 200, 300][(tid % 3) as usize];
    w[30] = lanes(a.rotate_left(16), b, true, |x, y| x + y);
    w
}

#[test]
fn packed_int_cluster_registers_and_calltargets_match_the_host() {
    // Lane edge cases: wrap-around without carry between halves, signed overflow, -1 against
    // 1 (signedness decides min/max), negative halves for `.relu`.
    let pairs: [(u32, u32); 16] = [
        (0x0001_FFFF, 0x0001_0001),
        (0x7FFF_8000, 0x0001_FFFF),
        (0xFFFF_0001, 0x0001_FFFF),
        (0x8000_0005, 0x8001_0007),
        (0x0000_0000, 0xFFFF_FFFF),
        (0x1234_5678, 0x9ABC_DEF0),
        (0xFFFF_FFFF, 0xFFFF_FFFF),
        (0x8000_8000, 0x7FFF_7FFF),
        (0x7FFF_7FFF, 0x7FFF_7FFF),
        (0x8000_8000, 0x8000_8000),
        (0x0000_FFFF, 0xFFFF_0000),
        (0xFFFE_0002, 0x0003_FFFD),
        (0x0100_FF00, 0x00FF_0100),
        (0xC000_4000, 0x4000_C000),
        (0x0000_0001, 0x0000_0000),
        (0xABCD_EF01, 0x2345_6789),
    ];
    let a: Vec<u32> = pairs.iter().map(|p| p.0).collect();
    let b: Vec<u32> = pairs.iter().map(|p| p.1).collect();
    let block = pairs.len() as u32;
    let grid = (2u32, 3u32);
    let threads = (grid.0 * grid.1 * block) as usize;
    for ctx in contexts() {
        let m = ctx
            .load_ptx(PTX)
            .unwrap_or_else(|e| panic!("load on {}: {e}", ctx.device()));
        let k = m.function("gaps").unwrap();
        let mut da = ctx.alloc::<u32>(a.len()).unwrap();
        let mut db = ctx.alloc::<u32>(b.len()).unwrap();
        da.copy_from_host(&a).unwrap();
        db.copy_from_host(&b).unwrap();
        let mut out = ctx.alloc::<u32>(threads * 32).unwrap();
        out.copy_from_host(&vec![0xDEAD_BEEF; threads * 32])
            .unwrap();
        let s = ctx.default_stream();
        k.launch((grid.0, grid.1, 1u32), block, 0, &s, &[&da, &db, &out])
            .unwrap_or_else(|e| panic!("launch on {}: {e}", ctx.device()));
        let got = out
            .to_vec()
            .unwrap_or_else(|e| panic!("run on {}: {e}", ctx.device()));
        for cy in 0..grid.1 {
            for cx in 0..grid.0 {
                for t in 0..block {
                    let i = ((cy * grid.0 + cx) * block + t) as usize;
                    let mut want = expected(a[t as usize], b[t as usize], t, (cx, cy), grid);
                    // Word 31 is not written.
                    want[31] = 0xDEAD_BEEF;
                    assert_eq!(
                        got[32 * i..32 * i + 32],
                        want,
                        "thread {t} of CTA ({cx},{cy}) on {}: a={:#010x} b={:#010x}",
                        ctx.device(),
                        a[t as usize],
                        b[t as usize]
                    );
                }
            }
        }
    }
}
