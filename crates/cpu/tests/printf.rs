//! Device-side `printf`, `assert` and `malloc`/`free` against the GPU.
//!
//! `tests/fixtures/kernels/printf.cu`, compiled by nvcc (`ptx/printf.{o3,g}_sm90.ptx`), runs
//! here as `tests/fixtures/tools/printf_host.cu` runs it on the GPU, and the transcripts must
//! match the GPU's (`gold/printf.VARIANT.stdout.txt`, `.stderr.txt`): every launch's printed
//! lines (in any order: a GPU prints them in an order of its own), status and outputs.

use ferrocuda_cpu::{Device, Error, LaunchConfig};
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// The transcript `printf_host` writes, made on the CPU device: (standard output, standard
/// error).
fn transcript(variant: &str) -> (String, String) {
    let path = fixtures().join(format!("ptx/printf.{variant}.ptx"));
    let ptx = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let dev = Device::with_workers(2);
    dev.capture_output();
    let m = dev
        .load_module(&ferrocuda_ptx::parse(&ptx).expect("nvcc's PTX parses"))
        .expect("the module loads");
    let mut out = String::new();
    let mut err = String::new();
    for (kernel, grid, block, n) in [
        ("printf_formats", 1u32, 8u32, 8usize),
        ("printf_edges", 1, 1, 1),
        ("printf_divergent", 2, 40, 80),
        ("device_heap", 2, 64, 256),
        ("assert_some", 1, 32, 32),
    ] {
        let buf = dev.memory().alloc(4 * n as u64).unwrap();
        let fill: Vec<u8> = std::iter::repeat_n(0x7777u32.to_le_bytes(), n)
            .flatten()
            .collect();
        dev.memory().write(buf, &fill).unwrap();
        out += &format!("== {kernel} <<<{grid}, {block}>>>\n");
        let k = m.kernel(kernel).expect("kernel exists");
        let cfg = LaunchConfig {
            grid: [grid, 1, 1],
            block: [block, 1, 1],
            dynamic_shared: 0,
        };
        let r = dev.launch(&k, &cfg, &buf.to_le_bytes());
        let printed = dev.take_output();
        out += &String::from_utf8(printed.stdout).expect("UTF-8 output");
        err += &String::from_utf8(printed.stderr).expect("UTF-8 messages");
        let status = match &r {
            Ok(()) => "CUDA_SUCCESS",
            Err(Error::Assert { .. }) => "CUDA_ERROR_ASSERT",
            Err(e) => panic!("{kernel}: {e}"),
        };
        out += &format!("== {kernel} status {status}\n");
        if r.is_ok() {
            let mut b = vec![0u8; 4 * n];
            dev.memory().read(buf, &mut b).unwrap();
            let vals: Vec<String> = b
                .chunks(4)
                .map(|c| i32::from_le_bytes(c.try_into().unwrap()).to_string())
                .collect();
            out += &format!("== {kernel} out {}\n", vals.join(" "));
        }
    }
    (out, err)
}

/// The transcript with each launch's printed lines sorted; the driver-level line after the
/// last launch (the context's sticky error, tested in the driver) left out.
fn normalized(t: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut printed: Vec<&str> = Vec::new();
    for line in t.lines() {
        if line.starts_with("== after assert") {
            continue;
        }
        if line.starts_with("== ") {
            printed.sort_unstable();
            lines.extend(printed.drain(..).map(String::from));
            lines.push(line.to_string());
        } else {
            printed.push(line);
        }
    }
    printed.sort_unstable();
    lines.extend(printed.drain(..).map(String::from));
    lines
}

fn check(variant: &str) {
    let (out, err) = transcript(variant);
    let gold = |what: &str| {
        let p = fixtures().join(format!("gold/printf.{variant}.{what}.txt"));
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"))
    };
    let (want, got) = (normalized(&gold("stdout")), normalized(&out));
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(g, w, "{variant}: standard output differs from the GPU's");
    }
    assert_eq!(got.len(), want.len(), "{variant}: line count");
    assert_eq!(
        normalized(&err),
        normalized(&gold("stderr")),
        "{variant}: assertion messages"
    );
}

#[test]
fn printf_assert_and_heap_as_the_gpu_at_o3() {
    check("o3_sm90");
}

#[test]
fn printf_assert_and_heap_as_the_gpu_at_g() {
    check("g_sm90");
}

/// 2048 threads print 1000 bytes each: a launch prints at most the 1 MiB of a GPU's printf
/// FIFO, in whole lines, and the rest is lost.
#[test]
fn a_launch_prints_at_most_the_printf_fifo() {
    const PTX: &str = r#"
.version 8.0
.target sm_90
.address_size 64
.extern .func (.param .b32 func_retval0) vprintf (.param .b64 vprintf_param_0, .param .b64 vprintf_param_1);
.global .align 1 .b8 fmt[7] = {37, 57, 57, 57, 100, 10, 0};
.visible .entry many()
{
    .local .align 8 .b8 depot[8];
    .reg .b32 %r<3>;
    .reg .b64 %rd<5>;
    mov.u32 %r1, %tid.x;
    st.local.u32 [depot], %r1;
    mov.u64 %rd1, depot;
    cvta.local.u64 %rd2, %rd1;
    mov.u64 %rd3, fmt;
    cvta.global.u64 %rd4, %rd3;
    {
    .param .b64 p0;
    st.param.b64 [p0], %rd4;
    .param .b64 p1;
    st.param.b64 [p1], %rd2;
    .param .b32 r;
    call.uni (r), vprintf, (p0, p1);
    ld.param.b32 %r2, [r];
    }
    ret;
}
"#;
    let dev = Device::with_workers(2);
    dev.capture_output();
    let m = dev
        .load_module(&ferrocuda_ptx::parse(PTX).unwrap())
        .unwrap();
    let k = m.kernel("many").unwrap();
    let cfg = LaunchConfig {
        grid: [2, 1, 1],
        block: [1024, 1, 1],
        dynamic_shared: 0,
    };
    dev.launch(&k, &cfg, &[]).unwrap();
    let out = dev.take_output().stdout;
    assert_eq!(out.len(), 1000 * ((1 << 20) / 1000));
    assert!(out
        .split(|&c| c == b'\n')
        .all(|l| l.is_empty() || l.len() == 999));
    // The next launch has a FIFO of its own.
    dev.launch(&k, &cfg, &[]).unwrap();
    assert_eq!(dev.take_output().stdout.len(), out.len());
}
