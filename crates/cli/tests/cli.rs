//! `fcuda` end to end: the built binary's commands, their output, files and exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fcuda(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fcuda"))
        .args(args)
        .output()
        .expect("fcuda runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn repo(p: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(p)
        .to_string_lossy()
        .into_owned()
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fcuda-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[test]
fn devices_lists_the_cpu_device() {
    let o = fcuda(&["devices"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("(cpu): \"ferrocuda CPU device\""), "{out}");
    assert!(out.contains("NVIDIA platform:"), "{out}");
    assert!(out.contains("max threads per block"), "{out}");
    assert!(out.contains("warp size                       32"), "{out}");
}

#[test]
fn ptx_lists_kernels_and_parameters() {
    let o = fcuda(&["ptx", &repo("examples/kernels/vector_add.ptx")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("kernel vector_add"), "{out}");
    assert!(out.contains("params (28 bytes)"), "{out}");
    assert!(
        out.contains("vector_add_param_3 .u32 size 4 align 4 offset 24"),
        "{out}"
    );

    let o = fcuda(&["ptx", &repo("crates/runtime/tests/kernels/faults.ptx")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("globals:"), "{}", stdout(&o));
    assert!(stdout(&o).contains(".global counter"), "{}", stdout(&o));
}

#[test]
fn ptx_reads_fatbins_cubins_and_executables() {
    let o = fcuda(&["ptx", &repo("tests/fixtures/samples/sample.fatbin")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("fatbin 0 at 0x0: 3 entries"), "{out}");
    assert!(out.contains("entry 0: elf sm_80"), "{out}");
    assert!(out.contains("ptx compute_90 (PTX ISA"), "{out}");
    assert!(out.contains("kernel vector_add (visible"), "{out}");

    let o = fcuda(&[
        "ptx",
        &repo("tests/fixtures/samples/sample_compressed.fatbin"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("zstd-compressed"), "{}", stdout(&o));

    let o = fcuda(&["ptx", &repo("tests/fixtures/samples/sample_sm90.cubin")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("cubin sm_90"), "{out}");
    assert!(
        out.contains("kernel reduce_sum\n  params (20 bytes):"),
        "{out}"
    );
    assert!(out.contains(".global counter size 4"), "{out}");

    let o = fcuda(&["ptx", &repo("tests/fixtures/containers/exe_lz4")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("host ELF with embedded fatbins"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("lz4-compressed"), "{}", stdout(&o));
}

#[test]
fn ptx_reports_errors_positioned_and_fails() {
    let bad = repo("crates/runtime/tests/kernels/bad.ptx");
    let o = fcuda(&["ptx", &bad]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("bad.ptx:10:2: unknown instruction"), "{err}");
    assert!(err.contains("\tfrobnicate.u32"), "{err}");
    assert!(err.contains("^^^^^^^^^^"), "{err}");
    assert!(err.contains("cudaErrorInvalidPtx"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let o = fcuda(&["ptx", "/no/such/file.ptx"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error: cudaErrorFileNotFound"),
        "{}",
        stderr(&o)
    );

    let dir = scratch("ptx-binary");
    let junk = dir.join("junk.ptx");
    std::fs::write(&junk, [0xffu8, 0xfe, 0x00, 0x01]).unwrap();
    let o = fcuda(&["ptx", junk.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error: cudaErrorInvalidKernelImage"),
        "{}",
        stderr(&o)
    );
    // A truncated fatbin.
    let fatbin = std::fs::read(repo("tests/fixtures/samples/sample.fatbin")).unwrap();
    let cut = dir.join("cut.fatbin");
    std::fs::write(&cut, &fatbin[..100]).unwrap();
    let o = fcuda(&["ptx", cut.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error: cudaErrorInvalidKernelImage"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

#[test]
fn run_writes_buffers_and_globals() {
    let dir = scratch("run");
    let a: Vec<u8> = (0..64).flat_map(|i| (i as f32).to_le_bytes()).collect();
    let b: Vec<u8> = (0..64)
        .flat_map(|i| (0.5 * i as f32).to_le_bytes())
        .collect();
    std::fs::write(dir.join("a.bin"), &a).unwrap();
    std::fs::write(dir.join("b.bin"), &b).unwrap();
    let out = dir.join("out");
    let o = fcuda(&[
        "run",
        &repo("examples/kernels/vector_add.ptx"),
        "vector_add",
        "--grid",
        "2",
        "--block",
        "32,1,1",
        "--device",
        "cpu",
        "--out",
        out.to_str().unwrap(),
        &format!("buf:{}", dir.join("a.bin").display()),
        &format!("buf:{}", dir.join("b.bin").display()),
        "zeros:256",
        "i32:64",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("vector_add<<<(2, 1, 1), (32, 1, 1), 0>>> on cpu: ok"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("out_2.bin (256 bytes)"),
        "{}",
        stdout(&o)
    );
    let c = f32s(&std::fs::read(out.join("out_2.bin")).unwrap());
    assert_eq!(c.len(), 64);
    for (i, x) in c.iter().enumerate() {
        assert_eq!(*x, 1.5 * i as f32);
    }
    assert_eq!(std::fs::read(out.join("out_0.bin")).unwrap(), a);
    assert!(!out.join("out_3.bin").exists(), "scalars are not written");

    let o = fcuda(&[
        "run",
        &repo("crates/runtime/tests/kernels/faults.ptx"),
        "bump_counter",
        "--grid",
        "1",
        "--block",
        "1",
        "--out",
        out.to_str().unwrap(),
        "--global",
        "counter",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(out.join("global_counter.bin")).unwrap(),
        8u32.to_le_bytes()
    );
}

#[test]
fn run_passes_structs_by_value() {
    let dir = scratch("run-struct");
    let o = fcuda(&[
        "run",
        &repo("crates/cli/tests/kernels/structs.ptx"),
        "store_pair",
        "--grid",
        "1",
        "--block",
        "1",
        "--out",
        dir.to_str().unwrap(),
        "raw:2a000000 00000000 0807060504030201",
        "zeros:16",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = std::fs::read(dir.join("out_1.bin")).unwrap();
    assert_eq!(&out[..4], &42u32.to_le_bytes());
    assert_eq!(&out[8..], &0x0102030405060708u64.to_le_bytes());
    assert!(
        !dir.join("out_0.bin").exists(),
        "raw arguments are not buffers"
    );

    // A struct of the wrong size names the parameter.
    let o = fcuda(&[
        "run",
        &repo("crates/cli/tests/kernels/structs.ptx"),
        "store_pair",
        "--grid",
        "1",
        "--block",
        "1",
        "raw:2a000000",
        "zeros:16",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("store_pair_param_0"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("expected 16 bytes, got 4"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn run_takes_fatbins_and_reports_cubins_the_device_cannot_run() {
    let dir = scratch("run-fatbin");
    let ones: Vec<u8> = (0..32).flat_map(|_| 1.0f32.to_le_bytes()).collect();
    std::fs::write(dir.join("ones.bin"), &ones).unwrap();
    let buf = format!("buf:{}", dir.join("ones.bin").display());
    let o = fcuda(&[
        "run",
        &repo("tests/fixtures/samples/sample.fatbin"),
        "vector_add",
        "--grid",
        "1",
        "--block",
        "32",
        "--device",
        "cpu",
        "--out",
        dir.to_str().unwrap(),
        &buf,
        &buf,
        "zeros:128",
        "i32:32",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        f32s(&std::fs::read(dir.join("out_2.bin")).unwrap()),
        vec![2.0; 32]
    );

    let o = fcuda(&[
        "run",
        &repo("tests/fixtures/samples/sample_sm90.cubin"),
        "vector_add",
        "--grid",
        "1",
        "--block",
        "32",
        "--device",
        "cpu",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error: cudaErrorNoKernelImageForDevice"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn run_errors_name_the_cuda_error() {
    let vadd = repo("examples/kernels/vector_add.ptx");
    // Too few arguments for the kernel's parameters.
    let o = fcuda(&[
        "run",
        &vadd,
        "vector_add",
        "--grid",
        "1",
        "--block",
        "1",
        "u64:0",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.starts_with("error: cudaErrorInvalidValue"), "{err}");
    assert!(
        err.contains("takes 4 parameters, 1 argument given"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    // A wrong size names the parameter.
    let o = fcuda(&[
        "run",
        &vadd,
        "vector_add",
        "--grid",
        "1",
        "--block",
        "1",
        "zeros:4",
        "zeros:4",
        "zeros:4",
        "u64:1",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("vector_add_param_3"), "{}", stderr(&o));
    // A missing kernel.
    let o = fcuda(&["run", &vadd, "nope", "--grid", "1", "--block", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error: cudaErrorInvalidDeviceFunction"),
        "{}",
        stderr(&o)
    );
    // A configuration the device cannot run.
    let o = fcuda(&[
        "run",
        &vadd,
        "vector_add",
        "--grid",
        "1",
        "--block",
        "4096",
        "zeros:4",
        "zeros:4",
        "zeros:4",
        "i32:1",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error: cudaErrorInvalidConfiguration"),
        "{}",
        stderr(&o)
    );
    // A kernel that faults: the sticky error comes back from the synchronisation.
    let o = fcuda(&[
        "run",
        &repo("crates/runtime/tests/kernels/faults.ptx"),
        "store_at",
        "--grid",
        "1",
        "--block",
        "1",
        "u64:16",
        "u32:1",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error: cudaErrorIllegalAddress"),
        "{}",
        stderr(&o)
    );
    // A module that does not parse: one line, the positioned detail under -v.
    let bad = repo("crates/runtime/tests/kernels/bad.ptx");
    let o = fcuda(&[
        "run", &bad, "broken", "--grid", "1", "--block", "1", "u64:0",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error: cudaErrorInvalidPtx"),
        "{}",
        stderr(&o)
    );
    let o = fcuda(&[
        "-v", "run", &bad, "broken", "--grid", "1", "--block", "1", "u64:0",
    ]);
    assert!(stderr(&o).contains("frobnicate"), "{}", stderr(&o));
    assert!(stderr(&o).lines().count() > 1, "{}", stderr(&o));
    // Globals need --out.
    let o = fcuda(&[
        "run",
        &vadd,
        "vector_add",
        "--grid",
        "1",
        "--block",
        "1",
        "--global",
        "g",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("--global needs --out"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_command_lines_are_usage_errors() {
    let vadd = repo("examples/kernels/vector_add.ptx");
    for args in [
        vec![
            "run",
            vadd.as_str(),
            "vector_add",
            "--grid",
            "1",
            "--block",
            "1",
            "float:1",
        ],
        vec![
            "run",
            vadd.as_str(),
            "vector_add",
            "--grid",
            "1",
            "--block",
            "1",
            "u8:300",
        ],
        vec![
            "run",
            vadd.as_str(),
            "vector_add",
            "--grid",
            "0,1,2,3",
            "--block",
            "1",
        ],
        vec!["run", vadd.as_str(), "vector_add", "--block", "1"],
        vec!["frobnicate"],
        vec![],
    ] {
        let o = fcuda(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
    let o = fcuda(&[
        "run",
        &vadd,
        "vector_add",
        "--grid",
        "1",
        "--block",
        "1",
        "u8:300",
    ]);
    assert!(
        stderr(&o).contains("does not fit in 8 bits"),
        "{}",
        stderr(&o)
    );
    let o = fcuda(&[
        "run",
        &vadd,
        "vector_add",
        "--grid",
        "1",
        "--block",
        "1",
        "--device",
        "cuda:7",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("error: cudaError"), "{}", stderr(&o));
}

#[test]
fn help_on_every_command() {
    for args in [
        vec!["--help"],
        vec!["devices", "--help"],
        vec!["ptx", "--help"],
        vec!["run", "--help"],
        vec!["demo", "--help"],
    ] {
        let o = fcuda(&args);
        assert!(o.status.success(), "{args:?}");
        assert!(
            stdout(&o).contains("Usage: fcuda"),
            "{args:?}: {}",
            stdout(&o)
        );
    }
    let o = fcuda(&["run", "--help"]);
    assert!(stdout(&o).contains("zeros:BYTES"), "{}", stdout(&o));
}

#[test]
fn demo_runs_the_seed_programs() {
    let o = fcuda(&["demo"]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}\n{}", stderr(&o));
    assert!(out.contains("Result[0] = 2"), "{out}");
    assert!(
        out.contains("same result from both APIs, c = a + b: true"),
        "{out}"
    );
    assert!(out.contains("plugin C after the reset: 2"), "{out}");
    assert!(
        out.contains("result check passed: 1024 elements doubled"),
        "{out}"
    );
    assert!(out.contains("all 5 programs passed"), "{out}");
}

#[test]
fn demo_fails_on_a_driver_older_than_the_runtime() {
    let o = Command::new(env!("CARGO_BIN_EXE_fcuda"))
        .arg("demo")
        .env("FERROCUDA_TEST_DRIVER_VERSION", "12040")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("FAILED: cudaErrorInsufficientDriver"), "{out}");
    // Seed 001's driver-layer program has no runtime to check versions: it still runs.
    assert!(out.contains("4 of 5 programs failed"), "{out}");
    assert!(out.contains("result check passed"), "{out}");
}
