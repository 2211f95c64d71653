mod common;
use common::*;

const LOCAL: &str = r#"
.version 8.0
.target sm_90
.address_size 64

// A per-thread local array indexed dynamically (nvcc's __local_depot pattern).
.visible .entry local_array(.param .u64 out)
{
    .local .align 4 .b8 __local_depot0[64];
    .reg .b64 %SP;
    .reg .b64 %SPL;
    .reg .pred %p<3>;
    .reg .b32 %r<20>;
    .reg .b64 %rd<10>;

    mov.u64 %SPL, __local_depot0;
    cvta.local.u64 %SP, %SPL;
    ld.param.u64 %rd1, [out];
    mov.u32 %r1, %tid.x;
    mov.u32 %r2, 0;
FILL:
    mul.lo.s32 %r3, %r2, %r1;
    mul.wide.u32 %rd2, %r2, 4;
    add.s64 %rd3, %SP, %rd2;
    st.u32 [%rd3], %r3;
    add.s32 %r2, %r2, 1;
    setp.lt.u32 %p1, %r2, 16;
    @%p1 bra FILL;
    // read back element (tid % 16) through the local window, generic pointer through isspacep
    rem.u32 %r4, %r1, 16;
    mul.wide.u32 %rd4, %r4, 4;
    add.s64 %rd5, %SPL, %rd4;
    ld.local.u32 %r5, [%rd5];
    isspacep.local %p2, %SP;
    selp.u32 %r6, 1, 0, %p2;
    mul.wide.u32 %rd6, %r1, 8;
    add.s64 %rd7, %rd1, %rd6;
    st.global.v2.u32 [%rd7], {%r5, %r6};
    ret;
}
"#;

#[test]
fn local_arrays_are_per_thread() {
    let m = load(LOCAL);
    let out = upload_u32(&[0; 200]);
    run(
        &m,
        "local_array",
        cfg([1, 1, 1], [100, 1, 1], 0),
        Params::default().u64(out),
    )
    .unwrap();
    let o = download_u32(out, 200);
    for t in 0..100u32 {
        assert_eq!(o[2 * t as usize], (t % 16) * t);
        assert_eq!(o[2 * t as usize + 1], 1);
    }
    let k = m.kernel("local_array").unwrap();
    assert_eq!(k.attributes().local_size_bytes, 64);
}

const DYN: &str = r#"
.version 8.0
.target sm_90
.address_size 64

.extern .shared .align 16 .b8 dyn[];

.visible .entry dyn_shared(.param .u64 out)
{
    .shared .align 4 .b8 stat[12];
    .reg .b32 %r<20>;
    .reg .b64 %rd<10>;
    .reg .pred %p<2>;
    ld.param.u64 %rd1, [out];
    mov.u32 %r1, %tid.x;
    mov.u32 %r2, %ntid.x;
    mov.u64 %rd2, dyn;
    cvta.shared.u64 %rd3, %rd2;
    mul.wide.u32 %rd4, %r1, 4;
    add.s64 %rd5, %rd3, %rd4;
    mul.lo.s32 %r3, %r1, 2;
    st.u32 [%rd5], %r3;
    st.shared.u32 [stat], 5;
    bar.sync 0;
    sub.s32 %r4, %r2, 1;
    sub.s32 %r4, %r4, %r1;
    mul.wide.u32 %rd6, %r4, 4;
    add.s64 %rd7, %rd2, %rd6;
    ld.shared.u32 %r5, [%rd7];
    mov.u32 %r6, %dynamic_smem_size;
    isspacep.shared %p1, %rd5;
    selp.u32 %r7, 1, 0, %p1;
    cvta.to.shared.u64 %rd8, %rd5;
    cvt.u32.u64 %r8, %rd8;
    mul.wide.u32 %rd9, %r1, 16;
    add.s64 %rd9, %rd1, %rd9;
    st.global.v4.u32 [%rd9], {%r5, %r6, %r7, %r8};
    ret;
}
"#;

#[test]
fn dynamic_shared_follows_static_shared() {
    let m = load(DYN);
    let k = m.kernel("dyn_shared").unwrap();
    assert_eq!(k.attributes().shared_size_bytes, 12);
    let n = 64u32;
    let out = upload_u32(&vec![0; 4 * n as usize]);
    run(
        &m,
        "dyn_shared",
        cfg([2, 1, 1], [n, 1, 1], 4096),
        Params::default().u64(out),
    )
    .unwrap();
    let o = download_u32(out, 4 * n as usize);
    for t in 0..n {
        let r = &o[4 * t as usize..4 * t as usize + 4];
        assert_eq!(r[0], 2 * (n - 1 - t));
        assert_eq!(r[1], 4096);
        assert_eq!(r[2], 1);
        assert_eq!(
            r[3],
            16 + 4 * t,
            "dynamic region starts after 12 static bytes, 16-aligned"
        );
    }
}

const GLOBALS: &str = r#"
.version 8.0
.target sm_90
.address_size 64

.global .align 4 .u32 table[4] = {10, 20, 30, 40};
.global .align 8 .u64 ptr = table;
.const .align 4 .f32 scale[2] = {0f40000000, 0f40400000};
.global .align 4 .u32 counter;

.visible .entry globals(.param .u64 out)
{
    .reg .b32 %r<10>;
    .reg .f32 %f<4>;
    .reg .b64 %rd<10>;
    ld.param.u64 %rd1, [out];
    ld.global.u64 %rd2, [ptr];
    ld.u32 %r1, [%rd2+8];
    ld.const.f32 %f1, [scale+4];
    ld.global.nc.u32 %r2, [table+12];
    ldu.global.u32 %r3, [table];
    atom.global.add.u32 %r4, [counter], 1;
    st.global.u32 [%rd1], %r1;
    st.global.f32 [%rd1+4], %f1;
    st.global.u32 [%rd1+8], %r2;
    st.global.u32 [%rd1+12], %r3;
    prefetch.global.L2 [%rd2];
    fence.acq_rel.gpu;
    membar.gl;
    ret;
}
"#;

#[test]
fn module_variables_with_initializers_and_relocations() {
    let m = load(GLOBALS);
    let out = upload_u32(&[0; 4]);
    run(
        &m,
        "globals",
        cfg([1, 1, 1], [3, 1, 1], 0),
        Params::default().u64(out),
    )
    .unwrap();
    let o = download_u32(out, 4);
    assert_eq!(o, [30, 3.0f32.to_bits(), 40, 10]);
    let (addr, size) = m.global("counter").unwrap();
    assert_eq!(size, 4);
    assert_eq!(download_u32(addr, 1), [3]);
    let (taddr, _) = m.global("table").unwrap();
    let (paddr, _) = m.global("ptr").unwrap();
    assert_eq!(download_u64(paddr, 1), [taddr]);
    assert_eq!(
        m.kernel("globals").unwrap().attributes().const_size_bytes,
        8
    );
}

const CP_ASYNC: &str = r#"
.version 8.0
.target sm_90
.address_size 64

.visible .entry cp(.param .u64 src, .param .u64 out)
{
    .shared .align 16 .b8 buf[512];
    .reg .b32 %r<10>;
    .reg .b64 %rd<10>;
    ld.param.u64 %rd1, [src];
    ld.param.u64 %rd2, [out];
    mov.u32 %r1, %tid.x;
    mul.wide.u32 %rd3, %r1, 16;
    add.s64 %rd4, %rd1, %rd3;
    mov.u32 %r2, buf;
    shl.b32 %r3, %r1, 4;
    add.s32 %r4, %r2, %r3;
    cp.async.cg.shared.global [%r4], [%rd4], 16, 12;
    cp.async.commit_group;
    cp.async.wait_group 0;
    bar.sync 0;
    ld.shared.v4.u32 {%r5, %r6, %r7, %r8}, [%r4];
    add.s64 %rd5, %rd2, %rd3;
    st.global.v4.u32 [%rd5], {%r5, %r6, %r7, %r8};
    ret;
}
"#;

#[test]
fn cp_async_copies_and_zero_fills() {
    let m = load(CP_ASYNC);
    let v: Vec<u32> = (1..=128).collect();
    let src = upload_u32(&v);
    let out = upload_u32(&[9; 128]);
    run(
        &m,
        "cp",
        cfg([1, 1, 1], [32, 1, 1], 0),
        Params::default().u64(src).u64(out),
    )
    .unwrap();
    let o = download_u32(out, 128);
    for i in 0..128 {
        assert_eq!(o[i], if i % 4 == 3 { 0 } else { v[i] }, "word {i}");
    }
}

const MISC: &str = r#"
.version 8.0
.target sm_90
.address_size 64

.visible .entry misc(.param .u64 out, .param .align 8 .b8 s[16])
{
    .reg .pred %p<3>;
    .reg .b32 %r<12>;
    .reg .b64 %rd<12>;
    ld.param.u64 %rd1, [out];
    mov.u32 %r1, %tid.x;
    // byval struct read through a generic pointer to the parameter
    mov.u64 %rd2, s;
    cvta.param.u64 %rd3, %rd2;
    ld.u32 %r2, [%rd3+8];
    // jump table on tid % 3
    rem.u32 %r3, %r1, 3;
    ts: .branchtargets T0, T1, T2;
    brx.idx %r3, ts;
T0:
    mov.u32 %r4, 100;
    bra.uni J;
T1:
    mov.u32 %r4, 200;
    bra.uni J;
T2:
    mov.u32 %r4, 300;
J:
    mov.u64 %rd4, %clock64;
    mov.u64 %rd5, %clock64;
    setp.ge.u64 %p1, %rd5, %rd4;
    selp.u32 %r5, 1, 0, %p1;
    mov.u64 %rd6, %globaltimer;
    setp.gt.u64 %p2, %rd6, 1000000000000000000;
    selp.u32 %r6, 1, 0, %p2;
    add.s32 %r7, %r4, %r2;
    mul.wide.u32 %rd7, %r1, 12;
    add.s64 %rd8, %rd1, %rd7;
    st.global.u32 [%rd8], %r7;
    st.global.u32 [%rd8+4], %r5;
    st.global.u32 [%rd8+8], %r6;
    ret;
}
"#;

#[test]
fn jump_tables_generic_params_and_timers() {
    let m = load(MISC);
    let out = upload_u32(&[0; 3 * 40]);
    let mut p = Params::default().u64(out).u64(0x1111_2222_3333_4444);
    p.0.extend_from_slice(&7u32.to_le_bytes());
    p.0.extend_from_slice(&[0; 4]);
    run(&m, "misc", cfg([1, 1, 1], [40, 1, 1], 0), p).unwrap();
    let o = download_u32(out, 3 * 40);
    for t in 0..40u32 {
        let r = &o[3 * t as usize..3 * t as usize + 3];
        assert_eq!(r, [100 * (t % 3 + 1) + 7, 1, 1], "thread {t}");
    }
}

const GATHER: &str = r#"
.version 8.0
.target sm_90
.address_size 64

// Lane i reads and writes through ptrs[i]: one warp instruction touches several allocations.
.visible .entry gather(.param .u64 ptrs, .param .u64 out)
{
    .reg .b32 %r<4>;
    .reg .b64 %rd<8>;
    ld.param.u64 %rd1, [ptrs];
    ld.param.u64 %rd2, [out];
    mov.u32 %r1, %tid.x;
    mul.wide.u32 %rd3, %r1, 8;
    add.s64 %rd4, %rd1, %rd3;
    ld.global.u64 %rd5, [%rd4];
    ld.global.u32 %r2, [%rd5];
    add.s32 %r3, %r2, %r1;
    st.global.u32 [%rd5], %r3;
    mul.wide.u32 %rd6, %r1, 4;
    add.s64 %rd7, %rd2, %rd6;
    st.global.u32 [%rd7], %r2;
    ret;
}
"#;

#[test]
fn one_instruction_may_touch_many_allocations() {
    let m = load(GATHER);
    let bufs: Vec<u64> = (0..5)
        .map(|i| upload_u32(&[100 * i as u32 + 1; 32]))
        .collect();
    let ptrs: Vec<u64> = (0..32u64).map(|l| bufs[(l % 5) as usize] + 4 * l).collect();
    let p = device().memory().alloc(8 * 32).unwrap();
    let bytes: Vec<u8> = ptrs.iter().flat_map(|x| x.to_le_bytes()).collect();
    device().memory().write(p, &bytes).unwrap();
    let out = upload_u32(&[0; 32]);
    run(
        &m,
        "gather",
        cfg([1, 1, 1], [32, 1, 1], 0),
        Params::default().u64(p).u64(out),
    )
    .unwrap();
    let o = download_u32(out, 32);
    for l in 0..32u32 {
        let b = l % 5;
        assert_eq!(o[l as usize], 100 * b + 1);
        assert_eq!(
            download_u32(bufs[b as usize] + 4 * l as u64, 1),
            [100 * b + 1 + l]
        );
    }
}
