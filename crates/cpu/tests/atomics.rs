mod common;
use common::*;

const ATOMICS: &str = r#"
.version 8.0
.target sm_90
.address_size 64

// Slots (u32 unless noted): 0 add, 1 inc wrap 99, 2 dec wrap 50, 3 min.s32, 4 max.s32, 5 and,
// 6 or, 7 xor, 8 f32 add, 9 exch (any thread id), 10 cas ticket, 11 red.add,
// 12 shared-add total, 13 max.u32, 16 (u64) add.u64, 24 (f64) add.
.visible .entry atomics(.param .u64 p)
{
    .reg .pred %p<4>;
    .reg .b32 %r<30>;
    .reg .f32 %f<4>;
    .reg .f64 %fd<4>;
    .reg .b64 %rd<10>;
    .shared .align 4 .u32 scount;

    ld.param.u64 %rd1, [p];
    mov.u32 %r1, %tid.x;
    mov.u32 %r2, %ctaid.x;
    mov.u32 %r3, %ntid.x;
    mad.lo.s32 %r4, %r2, %r3, %r1;
    setp.ne.s32 %p1, %r1, 0;
    @%p1 bra INIT_DONE;
    st.shared.u32 [scount], 0;
INIT_DONE:
    bar.sync 0;
    atom.global.add.u32 %r5, [%rd1], 1;
    atom.global.inc.u32 %r5, [%rd1+4], 99;
    atom.global.dec.u32 %r5, [%rd1+8], 50;
    sub.s32 %r6, 5000, %r4;
    atom.global.min.s32 %r5, [%rd1+12], %r6;
    atom.global.max.s32 %r5, [%rd1+16], %r6;
    not.b32 %r7, 0;
    shl.b32 %r8, 1, %r1;
    not.b32 %r9, %r8;
    and.b32 %r10, %r1, 31;
    shl.b32 %r8, 1, %r10;
    not.b32 %r9, %r8;
    atom.global.and.b32 %r5, [%rd1+20], %r9;
    atom.global.or.b32 %r5, [%rd1+24], %r8;
    atom.global.xor.b32 %r5, [%rd1+28], %r8;
    atom.global.add.f32 %f1, [%rd1+32], 0f3F800000;
    atom.global.exch.b32 %r5, [%rd1+36], %r4;
RETRY:
    ld.volatile.global.u32 %r11, [%rd1+40];
    add.s32 %r12, %r11, 1;
    atom.global.cas.b32 %r13, [%rd1+40], %r11, %r12;
    setp.ne.s32 %p2, %r13, %r11;
    @%p2 bra RETRY;
    red.global.add.u32 [%rd1+44], 2;
    atom.shared.add.u32 %r5, [scount], 1;
    atom.global.max.u32 %r5, [%rd1+52], %r4;
    atom.global.add.u64 %rd2, [%rd1+64], 3;
    atom.global.add.f64 %fd1, [%rd1+72], 0d3FE0000000000000;
    bar.sync 0;
    @%p1 bra END;
    ld.shared.u32 %r14, [scount];
    atom.global.add.u32 %r5, [%rd1+48], %r14;
END:
    ret;
}
"#;

#[test]
fn atomics_from_many_blocks_are_exact() {
    let m = load(ATOMICS);
    let (blocks, threads) = (64u32, 128u32);
    let n = blocks * threads;
    let mut init = vec![0u32; 20];
    init[3] = i32::MAX as u32;
    init[4] = i32::MIN as u32;
    init[5] = u32::MAX;
    let p = upload_u32(&init);
    run(
        &m,
        "atomics",
        cfg([blocks, 1, 1], [threads, 1, 1], 0),
        Params::default().u64(p),
    )
    .unwrap();
    let o = download_u32(p, 20);
    assert_eq!(o[0], n);
    assert_eq!(o[1], n % 100, "inc wraps at 99");
    // dec from 0: first → 50, then counts down 50..0 and wraps to 50 again: period 51.
    assert_eq!(o[2], (51 - (n % 51)) % 51, "dec wraps at 50");
    assert_eq!(o[3] as i32, 5000 - (n as i32 - 1));
    assert_eq!(o[4] as i32, 5000);
    assert_eq!(o[5], 0);
    assert_eq!(o[6], u32::MAX);
    assert_eq!(o[7], 0, "each bit flipped an even number of times");
    assert_eq!(f32::from_bits(o[8]), n as f32);
    assert!(o[9] < n);
    assert_eq!(o[10], n, "cas loop");
    assert_eq!(o[11], 2 * n);
    assert_eq!(o[12], n, "shared atomics summed per block");
    assert_eq!(o[13], n - 1);
    let o64 = download_u64(p + 64, 2);
    assert_eq!(o64[0], 3 * n as u64);
    assert_eq!(f64::from_bits(o64[1]), n as f64 * 0.5);
}

const ATOM_HALF: &str = r#"
.version 8.0
.target sm_90
.address_size 64

.visible .entry half(.param .u64 p)
{
    .reg .b16 %h<4>;
    .reg .b32 %r<4>;
    .reg .b64 %rd<4>;
    ld.param.u64 %rd1, [p];
    mov.b16 %h1, 0x3C00;
    atom.global.add.noftz.f16 %h2, [%rd1], %h1;
    mov.b32 %r1, 0x3F803C00;
    atom.global.add.noftz.f16x2 %r2, [%rd1+4], %r1;
    mov.b32 %r1, 0x3C003F80;
    atom.global.add.noftz.bf16x2 %r2, [%rd1+8], %r1;
    atom.global.cas.b16 %h3, [%rd1+12], 0, 7;
    ret;
}
"#;

#[test]
fn half_precision_atomics() {
    let m = load(ATOM_HALF);
    let p = upload_u32(&[0; 4]);
    run(
        &m,
        "half",
        cfg([4, 1, 1], [32, 1, 1], 0),
        Params::default().u64(p),
    )
    .unwrap();
    let o = download_u32(p, 4);
    // 128 additions of 1.0 in f16 (exact up to 2048).
    assert_eq!(o[0] & 0xffff, 0x5800, "128.0 in f16");
    assert_eq!(o[1] & 0xffff, 0x5800);
    // high half: f16 0x3F80 = 1.875; 128 * 1.875 = 240 = 0x5B80
    assert_eq!(o[1] >> 16, 0x5B80);
    // bf16: low half 0x3F80 = 1.0 → 128.0 = 0x4300; high 0x3C00 = 2^-7 → 1.0 = 0x3F80
    assert_eq!(o[2] & 0xffff, 0x4300);
    assert_eq!(o[2] >> 16, 0x3F80);
    assert_eq!(o[3] & 0xffff, 7);
}
