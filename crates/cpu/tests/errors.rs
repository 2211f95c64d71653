mod common;
use common::*;
use ferrocuda_cpu::Error;

const FAULTS: &str = r#"
.version 8.0
.target sm_90
.address_size 64

.visible .entry read_at(.param .u64 p)
{
    .reg .b32 %r<3>;
    .reg .b64 %rd<3>;
    ld.param.u64 %rd1, [p];
    ld.global.u32 %r1, [%rd1];
    ret;
}

.visible .entry write_at(.param .u64 p)
{
    .reg .b64 %rd<3>;
    ld.param.u64 %rd1, [p];
    st.global.u32 [%rd1], 1;
    ret;
}

.visible .entry shared_oob()
{
    .shared .align 4 .b8 s[16];
    .reg .b32 %r<3>;
    mov.u32 %r1, s;
    ld.shared.u32 %r2, [%r1+16];
    ret;
}

.visible .entry traps(.param .u32 who)
{
    .reg .b32 %r<3>;
    .reg .pred %p<2>;
    ld.param.u32 %r1, [who];
    mov.u32 %r2, %tid.x;
    setp.eq.u32 %p1, %r1, %r2;
    @%p1 trap;
    ret;
}

.visible .entry breaks()
{
    brkpt;
    ret;
}

.visible .entry stuck()
{
    .reg .b32 %r<3>;
    .reg .pred %p<2>;
    mov.u32 %r1, %tid.x;
    setp.eq.u32 %p1, %r1, 0;
    @%p1 bra DONE;
    bar.sync 0, 64;
DONE:
    ret;
}

.visible .entry fixed()
.reqntid 64, 1, 1
{
    ret;
}
"#;

#[test]
fn out_of_bounds_reads_and_writes_report_address_and_line() {
    let m = load(FAULTS);
    let a = upload_u32(&[0; 4]);
    let e = run(
        &m,
        "read_at",
        cfg([2, 1, 1], [32, 1, 1], 0),
        Params::default().u64(a + 16),
    )
    .unwrap_err();
    match &e {
        Error::IllegalAddress {
            addr, bytes, at, ..
        } => {
            assert_eq!(*addr, a + 16);
            assert_eq!(*bytes, 4);
            assert_eq!(at.kernel, "read_at");
            assert_eq!((at.line, at.col), (11, 5));
        }
        e => panic!("{e}"),
    }
    let e = run(
        &m,
        "write_at",
        cfg([1, 1, 1], [1, 1, 1], 0),
        Params::default().u64(0),
    )
    .unwrap_err();
    assert!(matches!(e, Error::IllegalAddress { addr: 0, .. }), "{e}");
    let e = run(
        &m,
        "shared_oob",
        cfg([1, 1, 1], [1, 1, 1], 0),
        Params::default(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::IllegalAddress { addr: 16, .. }), "{e}");
    // Memory after a fault is still usable.
    run(
        &m,
        "write_at",
        cfg([1, 1, 1], [1, 1, 1], 0),
        Params::default().u64(a),
    )
    .unwrap();
    assert_eq!(download_u32(a, 1), [1]);
}

#[test]
fn misaligned_access_is_reported() {
    let m = load(FAULTS);
    let a = upload_u32(&[0; 4]);
    let e = run(
        &m,
        "read_at",
        cfg([1, 1, 1], [1, 1, 1], 0),
        Params::default().u64(a + 2),
    )
    .unwrap_err();
    assert!(
        matches!(e, Error::MisalignedAddress { bytes: 4, .. }),
        "{e}"
    );
    assert_eq!(e.site().unwrap().line, 11);
}

#[test]
fn trap_and_brkpt_stop_the_grid() {
    let m = load(FAULTS);
    let e = run(
        &m,
        "traps",
        cfg([100, 1, 1], [64, 1, 1], 0),
        Params::default().u32(37),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Trap { .. }), "{e}");
    assert_eq!(e.site().unwrap().kernel, "traps");
    run(
        &m,
        "traps",
        cfg([3, 1, 1], [32, 1, 1], 0),
        Params::default().u32(40),
    )
    .unwrap();
    let e = run(
        &m,
        "breaks",
        cfg([1, 1, 1], [1, 1, 1], 0),
        Params::default(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::IllegalInstruction { .. }), "{e}");
}

#[test]
fn barrier_that_cannot_complete_is_a_deadlock_error() {
    let m = load(FAULTS);
    let e = run(
        &m,
        "stuck",
        cfg([1, 1, 1], [32, 1, 1], 0),
        Params::default(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Deadlock { .. }), "{e}");
}

#[test]
fn bad_launch_configurations_are_rejected() {
    let m = load(FAULTS);
    let p = || Params::default().u64(0);
    let bad =
        |g: [u32; 3], b: [u32; 3], s: u32| run(&m, "write_at", cfg(g, b, s), p()).unwrap_err();
    assert!(matches!(
        bad([0, 1, 1], [1, 1, 1], 0),
        Error::InvalidConfiguration(_)
    ));
    assert!(matches!(
        bad([1, 1, 1], [1, 0, 1], 0),
        Error::InvalidConfiguration(_)
    ));
    assert!(matches!(
        bad([1, 1, 1], [1025, 1, 1], 0),
        Error::InvalidConfiguration(_)
    ));
    assert!(matches!(
        bad([1, 1, 1], [32, 32, 2], 0),
        Error::InvalidConfiguration(_)
    ));
    assert!(matches!(
        bad([1, 1, 1], [1, 1, 65], 0),
        Error::InvalidConfiguration(_)
    ));
    assert!(matches!(
        bad([1, 65536, 1], [1, 1, 1], 0),
        Error::InvalidConfiguration(_)
    ));
    assert!(matches!(
        bad([1, 1, 1], [1, 1, 1], 300 * 1024),
        Error::SharedMemoryTooLarge { .. }
    ));
    let e = run(
        &m,
        "write_at",
        cfg([1, 1, 1], [1, 1, 1], 0),
        Params::default(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidValue(_)), "{e}");
    let e = run(
        &m,
        "fixed",
        cfg([1, 1, 1], [32, 1, 1], 0),
        Params::default(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidConfiguration(_)), "{e}");
    run(
        &m,
        "fixed",
        cfg([1, 1, 1], [64, 1, 1], 0),
        Params::default(),
    )
    .unwrap();
    assert_eq!(
        m.kernel("fixed")
            .unwrap()
            .attributes()
            .max_threads_per_block,
        64
    );
}

#[test]
fn unsupported_instructions_fail_at_load_with_position() {
    let src = r#"
.version 8.0
.target sm_90
.address_size 64

.visible .entry tc(.param .u64 p)
{
    .reg .b32 %r<20>;
    .reg .f32 %f<10>;
    mma.sync.aligned.m8n8k4.row.col.f32.f16.f16.f32 {%f1, %f2, %f3, %f4, %f5, %f6, %f7, %f8}, {%r1, %r2}, {%r3, %r4}, {%f1, %f2, %f3, %f4, %f5, %f6, %f7, %f8};
    ret;
}
"#;
    let e = try_load(src).unwrap_err();
    match &e {
        Error::Unsupported { what, at } => {
            assert!(what.contains("mma"), "{what}");
            assert_eq!(at.line, 10);
            assert_eq!(at.kernel, "tc");
        }
        e => panic!("{e}"),
    }
}

/// Whole-warp accesses where only lane 31 is out of bounds or misaligned: the fault names
/// that lane's address, for loads and stores, global and shared.
#[test]
fn one_bad_lane_of_a_full_warp_faults() {
    let kernel = |name: &str, space: &str, first: &str, second: &str| {
        let base = if space == "shared" {
            "mov.u32 %r5, s;\n    add.s32 %r6, %r5, %r3;\n    cvt.u64.u32 %rd3, %r6;"
        } else {
            "cvt.u64.u32 %rd2, %r3;\n    add.s64 %rd3, %rd1, %rd2;"
        };
        format!(
            ".visible .entry {name}(.param .u64 p, .param .u32 extra)\n{{\n    \
             .shared .align 4 .b8 s[128];\n    .reg .b32 %r<8>;\n    .reg .b64 %rd<6>;\n    \
             .reg .pred %p<2>;\n    ld.param.u64 %rd1, [p];\n    ld.param.u32 %r1, [extra];\n    \
             mov.u32 %r2, %tid.x;\n    shl.b32 %r3, %r2, 2;\n    setp.eq.u32 %p1, %r2, 31;\n    \
             selp.b32 %r4, %r1, 0, %p1;\n    add.s32 %r3, %r3, %r4;\n    {base}\n    \
             {first}\n    {second}\n    ret;\n}}\n"
        )
    };
    let mut src = String::from(".version 8.0\n.target sm_90\n.address_size 64\n");
    for space in ["shared", "global"] {
        let ld = format!("ld.{space}.u32 %r7, [%rd3];");
        let st = format!("st.{space}.u32 [%rd3], %r2;");
        src += &kernel(&format!("{space}_ld"), space, &ld, &st);
        src += &kernel(&format!("{space}_st"), space, &st, &ld);
    }
    let m = load(&src);
    let a = upload_u32(&[0; 32]);
    for space in ["shared", "global"] {
        let base = if space == "shared" { 0 } else { a };
        for k in ["ld", "st"] {
            let name = format!("{space}_{k}");
            let go = |extra: u32| {
                run(
                    &m,
                    &name,
                    cfg([1, 1, 1], [32, 1, 1], 0),
                    Params::default().u64(a).u32(extra),
                )
            };
            go(0).unwrap();
            let e = go(4).unwrap_err();
            assert!(
                matches!(e, Error::IllegalAddress { addr, .. } if addr == base + 128),
                "{name}: {e}"
            );
            let e = go(2).unwrap_err();
            assert!(
                matches!(e, Error::MisalignedAddress { addr, .. } if addr == base + 126),
                "{name}: {e}"
            );
        }
    }
    assert_eq!(download_u32(a, 32), (0..32).collect::<Vec<u32>>());
}
