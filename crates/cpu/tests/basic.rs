mod common;
use common::*;

#[path = "../benches/ptx_sources.rs"]
mod ptx_sources;
use ptx_sources::SAXPY;

#[test]
fn saxpy_matches_host() {
    let m = load(SAXPY);
    let n = 1000usize;
    let x: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
    let y: Vec<f32> = (0..n).map(|i| 1.0 - i as f32).collect();
    let dx = upload_f32(&x);
    let dy = upload_f32(&y);
    run(
        &m,
        "saxpy",
        cfg([4, 1, 1], [256, 1, 1], 0),
        Params::default().u32(n as u32).f32(2.5).u64(dx).u64(dy),
    )
    .unwrap();
    let out = download_f32(dy, n);
    for i in 0..n {
        assert_eq!(out[i], 2.5f32.mul_add(x[i], y[i]), "at {i}");
    }
}

const REDUCE: &str = r#"
.version 8.0
.target sm_90
.address_size 64

.visible .entry reduce(.param .u64 in, .param .u64 out, .param .u32 n)
{
    .reg .pred %p<4>;
    .reg .b32 %r<20>;
    .reg .b64 %rd<10>;
    .shared .align 4 .b8 sdata[1024];

    ld.param.u64 %rd1, [in];
    ld.param.u64 %rd2, [out];
    ld.param.u32 %r1, [n];
    mov.u32 %r2, %tid.x;
    mov.u32 %r3, %ctaid.x;
    mov.u32 %r4, %ntid.x;
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
    shr.u32 %r10, %r4, 1;
LOOP:
    setp.eq.s32 %p2, %r10, 0;
    @%p2 bra DONE;
    setp.ge.u32 %p3, %r2, %r10;
    @%p3 bra NEXT;
    shl.b32 %r11, %r10, 2;
    add.s32 %r12, %r9, %r11;
    ld.shared.u32 %r13, [%r12];
    ld.shared.u32 %r14, [%r9];
    add.s32 %r14, %r14, %r13;
    st.shared.u32 [%r9], %r14;
NEXT:
    bar.sync 0;
    shr.u32 %r10, %r10, 1;
    bra.uni LOOP;
DONE:
    setp.ne.s32 %p2, %r2, 0;
    @%p2 bra END;
    ld.shared.u32 %r15, [sdata];
    atom.global.add.u32 %r16, [%rd2], %r15;
    mul.wide.u32 %rd5, %r3, 4;
    add.s64 %rd6, %rd2, 4;
    add.s64 %rd7, %rd6, %rd5;
    st.global.u32 [%rd7], %r15;
END:
    ret;
}
"#;

#[test]
fn shared_memory_tree_reduction() {
    let m = load(REDUCE);
    let n = 5000usize;
    let v: Vec<u32> = (0..n as u32).map(|i| i * 7 % 1000).collect();
    let blocks = n.div_ceil(256);
    let din = upload_u32(&v);
    let dout = upload_u32(&vec![0; blocks + 1]);
    run(
        &m,
        "reduce",
        cfg([blocks as u32, 1, 1], [256, 1, 1], 0),
        Params::default().u64(din).u64(dout).u32(n as u32),
    )
    .unwrap();
    let out = download_u32(dout, blocks + 1);
    assert_eq!(out[0], v.iter().sum::<u32>());
    for b in 0..blocks {
        let s: u32 = v[b * 256..((b + 1) * 256).min(n)].iter().sum();
        assert_eq!(out[b + 1], s, "block {b}");
    }
}

const DIVERGE: &str = r#"
.version 8.0
.target sm_90
.address_size 64

.visible .entry diverge(.param .u64 out, .param .u64 out2)
{
    .reg .pred %p<4>;
    .reg .b32 %r<20>;
    .reg .b64 %rd<10>;
    .shared .align 4 .b32 sh[96];

    ld.param.u64 %rd1, [out];
    ld.param.u64 %rd2, [out2];
    mov.u32 %r1, %tid.x;
    mov.u32 %r2, %ntid.x;
    shl.b32 %r3, %r1, 2;
    mov.u32 %r4, sh;
    add.s32 %r5, %r4, %r3;
    mov.u32 %r6, 65535;
    st.shared.u32 [%r5], %r6;
    // if/else that reconverges: odd lanes 3*tid, even lanes tid+100
    and.b32 %r7, %r1, 1;
    setp.eq.s32 %p1, %r7, 0;
    @%p1 bra EVEN;
    mul.lo.s32 %r8, %r1, 3;
    bra.uni JOIN;
EVEN:
    add.s32 %r8, %r1, 100;
JOIN:
    mul.wide.u32 %rd3, %r1, 4;
    add.s64 %rd4, %rd2, %rd3;
    st.global.u32 [%rd4], %r8;
    bar.sync 0;
    // every third thread exits early; the rest still meet at the barrier
    rem.u32 %r9, %r1, 3;
    setp.eq.s32 %p2, %r9, 0;
    @%p2 exit;
    st.shared.u32 [%r5], %r1;
    bar.sync 0;
    add.s32 %r10, %r1, 1;
    rem.u32 %r11, %r10, %r2;
    shl.b32 %r12, %r11, 2;
    add.s32 %r13, %r4, %r12;
    ld.shared.u32 %r14, [%r13];
    add.s64 %rd5, %rd1, %rd3;
    st.global.u32 [%rd5], %r14;
    ret;
}
"#;

#[test]
fn divergence_reconverges_and_exited_threads_do_not_block_barriers() {
    let m = load(DIVERGE);
    let n = 96u32;
    let out = upload_u32(&vec![7; n as usize]);
    let out2 = upload_u32(&vec![7; n as usize]);
    run(
        &m,
        "diverge",
        cfg([2, 1, 1], [n, 1, 1], 0),
        Params::default().u64(out).u64(out2),
    )
    .unwrap();
    let o = download_u32(out, n as usize);
    let o2 = download_u32(out2, n as usize);
    for t in 0..n {
        let expect2 = if t % 2 == 1 { 3 * t } else { t + 100 };
        assert_eq!(o2[t as usize], expect2, "branch result of {t}");
        let nb = (t + 1) % n;
        let expect = if t % 3 == 0 {
            7
        } else if nb % 3 == 0 {
            65535
        } else {
            nb
        };
        assert_eq!(o[t as usize], expect, "neighbour read of {t}");
    }
}

const GRID3D: &str = r#"
.version 8.0
.target sm_90
.address_size 64

.visible .entry grid3d(.param .u64 out)
{
    .reg .b32 %r<30>;
    .reg .b64 %rd<6>;
    ld.param.u64 %rd1, [out];
    mov.u32 %r1, %tid.x;
    mov.u32 %r2, %tid.y;
    mov.u32 %r3, %tid.z;
    mov.u32 %r4, %ctaid.x;
    mov.u32 %r5, %ctaid.y;
    mov.u32 %r6, %ctaid.z;
    mov.u32 %r7, %ntid.x;
    mov.u32 %r8, %ntid.y;
    mov.u32 %r9, %ntid.z;
    mov.u32 %r10, %nctaid.x;
    mov.u32 %r11, %nctaid.y;
    // block linear = (cz*ny + cy)*nx + cx
    mad.lo.s32 %r12, %r6, %r11, %r5;
    mad.lo.s32 %r12, %r12, %r10, %r4;
    // thread linear in block
    mad.lo.s32 %r13, %r3, %r8, %r2;
    mad.lo.s32 %r13, %r13, %r7, %r1;
    mul.lo.s32 %r14, %r7, %r8;
    mul.lo.s32 %r14, %r14, %r9;
    mad.lo.s32 %r15, %r12, %r14, %r13;
    // value = tid.x | tid.y<<4 | tid.z<<8 | ctaid.x<<12 | ctaid.y<<16 | ctaid.z<<20 | laneid<<24
    shl.b32 %r16, %r2, 4;
    or.b32 %r17, %r1, %r16;
    shl.b32 %r16, %r3, 8;
    or.b32 %r17, %r17, %r16;
    shl.b32 %r16, %r4, 12;
    or.b32 %r17, %r17, %r16;
    shl.b32 %r16, %r5, 16;
    or.b32 %r17, %r17, %r16;
    shl.b32 %r16, %r6, 20;
    or.b32 %r17, %r17, %r16;
    mov.u32 %r18, %laneid;
    shl.b32 %r16, %r18, 24;
    or.b32 %r17, %r17, %r16;
    mul.wide.u32 %rd2, %r15, 4;
    add.s64 %rd3, %rd1, %rd2;
    st.global.u32 [%rd3], %r17;
    ret;
}
"#;

#[test]
fn three_dimensional_grid_and_block_ids() {
    let m = load(GRID3D);
    let (g, b) = ([3u32, 2, 2], [5u32, 3, 2]);
    let total = (g.iter().product::<u32>() * b.iter().product::<u32>()) as usize;
    let out = upload_u32(&vec![0; total]);
    run(&m, "grid3d", cfg(g, b, 0), Params::default().u64(out)).unwrap();
    let o = download_u32(out, total);
    let mut i = 0;
    for cz in 0..g[2] {
        for cy in 0..g[1] {
            for cx in 0..g[0] {
                for tz in 0..b[2] {
                    for ty in 0..b[1] {
                        for tx in 0..b[0] {
                            let lin = tx + b[0] * (ty + b[1] * tz);
                            let v = tx
                                | ty << 4
                                | tz << 8
                                | cx << 12
                                | cy << 16
                                | cz << 20
                                | (lin % 32) << 24;
                            assert_eq!(o[i], v, "thread {i}");
                            i += 1;
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn tiled_matmul_matches_sequential_fma() {
    let m = load(&ptx_sources::matmul_ptx());
    let n = 48usize;
    let a: Vec<f32> = (0..n * n).map(|i| ((i * 37) % 101) as f32 / 7.0).collect();
    let b: Vec<f32> = (0..n * n)
        .map(|i| ((i * 53) % 97) as f32 / 3.0 - 10.0)
        .collect();
    let (da, db) = (upload_f32(&a), upload_f32(&b));
    let dc = upload_f32(&vec![0.0; n * n]);
    let t = (n / 16) as u32;
    run(
        &m,
        "matmul",
        cfg([t, t, 1], [16, 16, 1], 0),
        Params::default().u64(da).u64(db).u64(dc).u32(n as u32),
    )
    .unwrap();
    let c = download_f32(dc, n * n);
    for i in 0..n {
        for j in 0..n {
            let mut acc = 0f32;
            for k in 0..n {
                acc = a[i * n + k].mul_add(b[k * n + j], acc);
            }
            assert_eq!(c[i * n + j].to_bits(), acc.to_bits(), "C[{i}][{j}]");
        }
    }
}
