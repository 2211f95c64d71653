//! Conformance: every case of `tests/fixtures/cases*.txt` runs on the CPU device through the
//! driver layer and must reproduce the outputs an NVIDIA GPU produced (`tests/fixtures/gold/`):
//! bit for bit, or within the stated tolerance for `.approx`-based results. The manifest
//! format is documented at the top of `tests/fixtures/cases.txt`; how the gold files were made
//! is in `tests/fixtures/README.md`.
//!
//! Each test covers one group of cases (one source module) and reports every mismatch of the
//! group in a single failure message.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use driver::{ContextFlags, DeviceRepr, KernelArg};
use ferrocuda_driver as driver;

/// The fixtures directory.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

// ------------------------------------------------------------------------------------------
// Manifest
// ------------------------------------------------------------------------------------------

/// One kernel argument as the manifest gives it.
#[derive(Debug, Clone, PartialEq)]
enum Arg {
    /// A by-value parameter: scalars and raw struct bytes.
    Value(Vec<u8>),
    /// A device buffer initialised from a file (path relative to the fixtures directory).
    Buf(String),
    /// A zeroed device buffer of this many bytes.
    Zeros(usize),
}

/// Element type of a tolerance check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elem {
    F16,
    Bf16,
    F32,
    F64,
}

impl Elem {
    fn size(self) -> usize {
        match self {
            Elem::F16 | Elem::Bf16 => 2,
            Elem::F32 => 4,
            Elem::F64 => 8,
        }
    }
}

/// How an output is compared with gold.
#[derive(Debug, Clone, PartialEq)]
enum Mode {
    Exact,
    Tolerance {
        elem: Elem,
        ulp: Option<u64>,
        abs: Option<f64>,
        rel: Option<f64>,
        /// Elements `start..end` only (the whole buffer when `None`).
        range: Option<(usize, usize)>,
    },
}

#[derive(Debug, Clone, PartialEq)]
struct Case {
    name: String,
    source: String,
    module: String,
    variants: Vec<String>,
    kernel: String,
    grid: [u32; 3],
    block: [u32; 3],
    shared: u32,
    args: Vec<Arg>,
    checks: Vec<(usize, Mode)>,
    globals: Vec<(String, Mode)>,
    expect_error: bool,
}

fn parse_int(s: &str) -> Result<i128, String> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let v = match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        Some(hex) => i128::from_str_radix(hex, 16),
        None => body.parse::<i128>(),
    }
    .map_err(|e| format!("bad integer `{s}`: {e}"))?;
    Ok(if neg { -v } else { v })
}

fn int_bytes(v: i128, bytes: usize, signed: bool) -> Result<Vec<u8>, String> {
    let bits = 8 * bytes as u32;
    let (lo, hi) = if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    };
    if v < lo || v > hi {
        return Err(format!("{v} does not fit in {bits} bits"));
    }
    Ok(v.to_le_bytes()[..bytes].to_vec())
}

fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    if s.len() % 2 != 0 {
        return Err(format!("odd-length hex `{s}`"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| format!("bad hex `{s}`: {e}")))
        .collect()
}

fn parse_arg(spec: &str) -> Result<Arg, String> {
    let (kind, val) = spec
        .split_once(':')
        .ok_or_else(|| format!("argument `{spec}` lacks KIND:"))?;
    let int = |bytes, signed| parse_int(val).and_then(|v| int_bytes(v, bytes, signed));
    Ok(match kind {
        "u8" => Arg::Value(int(1, false)?),
        "i8" => Arg::Value(int(1, true)?),
        "u16" => Arg::Value(int(2, false)?),
        "i16" => Arg::Value(int(2, true)?),
        "u32" => Arg::Value(int(4, false)?),
        "i32" => Arg::Value(int(4, true)?),
        "u64" => Arg::Value(int(8, false)?),
        "i64" => Arg::Value(int(8, true)?),
        "f32" | "f64" => {
            let wide = kind == "f64";
            if val.starts_with("0x") || val.starts_with("0X") {
                Arg::Value(int(if wide { 8 } else { 4 }, false)?)
            } else if wide {
                let v: f64 = val.parse().map_err(|e| format!("bad f64 `{val}`: {e}"))?;
                Arg::Value(v.to_le_bytes().to_vec())
            } else {
                let v: f32 = val.parse().map_err(|e| format!("bad f32 `{val}`: {e}"))?;
                Arg::Value(v.to_le_bytes().to_vec())
            }
        }
        "raw" => Arg::Value(parse_hex(val)?),
        "buf" => Arg::Buf(val.to_string()),
        "zeros" => Arg::Zeros(
            parse_int(val)?
                .try_into()
                .map_err(|_| format!("bad size `{val}`"))?,
        ),
        _ => return Err(format!("unknown argument kind `{kind}`")),
    })
}

fn parse_mode(tokens: &[&str]) -> Result<Mode, String> {
    match tokens {
        ["exact"] => Ok(Mode::Exact),
        [ty, rest @ ..] if !rest.is_empty() => {
            let elem = match *ty {
                "f16" => Elem::F16,
                "bf16" => Elem::Bf16,
                "f32" => Elem::F32,
                "f64" => Elem::F64,
                _ => return Err(format!("unknown element type `{ty}`")),
            };
            let (mut ulp, mut abs, mut rel, mut range) = (None, None, None, None);
            for t in rest {
                if let Some(v) = t.strip_prefix("ulp:") {
                    ulp = Some(v.parse().map_err(|e| format!("bad ulp `{t}`: {e}"))?);
                } else if let Some(v) = t.strip_prefix("abs:") {
                    abs = Some(v.parse().map_err(|e| format!("bad abs `{t}`: {e}"))?);
                } else if let Some(v) = t.strip_prefix("rel:") {
                    rel = Some(v.parse().map_err(|e| format!("bad rel `{t}`: {e}"))?);
                } else if let Some(v) = t.strip_prefix("range:") {
                    let (a, b) = v
                        .split_once("..")
                        .ok_or_else(|| format!("bad range `{t}`"))?;
                    let a: usize = a.parse().map_err(|e| format!("bad range `{t}`: {e}"))?;
                    let b: usize = b.parse().map_err(|e| format!("bad range `{t}`: {e}"))?;
                    if a >= b {
                        return Err(format!("empty range `{t}`"));
                    }
                    range = Some((a, b));
                } else {
                    return Err(format!("unknown tolerance `{t}`"));
                }
            }
            if ulp.is_none() && abs.is_none() && rel.is_none() {
                return Err(format!("`{}` names no tolerance", tokens.join(" ")));
            }
            Ok(Mode::Tolerance {
                elem,
                ulp,
                abs,
                rel,
                range,
            })
        }
        _ => Err(format!("bad comparison `{}`", tokens.join(" "))),
    }
}

fn parse_dims(t: &[&str]) -> Result<[u32; 3], String> {
    if t.len() != 3 {
        return Err("expected 3 dimensions".into());
    }
    let mut d = [0u32; 3];
    for (slot, s) in d.iter_mut().zip(t) {
        *slot = s.parse().map_err(|e| format!("bad dimension `{s}`: {e}"))?;
    }
    Ok(d)
}

/// Parses one manifest file (`file` names it in messages).
fn parse_manifest(text: &str, file: &str) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    let mut cur: Option<Case> = None;
    for (n, line) in text.lines().enumerate() {
        let at = format!("{file}:{}", n + 1);
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.is_empty() || t[0].starts_with('#') {
            continue;
        }
        let err = |m: String| format!("{at}: {m}");
        if t[0] == "case" {
            if cur.is_some() {
                return Err(err("`case` inside a case".into()));
            }
            let name = t.get(1).ok_or_else(|| err("case without a name".into()))?;
            cur = Some(Case {
                name: name.to_string(),
                source: at.clone(),
                module: String::new(),
                variants: Vec::new(),
                kernel: String::new(),
                grid: [1; 3],
                block: [1; 3],
                shared: 0,
                args: Vec::new(),
                checks: Vec::new(),
                globals: Vec::new(),
                expect_error: false,
            });
            continue;
        }
        let c = cur
            .as_mut()
            .ok_or_else(|| err(format!("`{}` outside a case", t[0])))?;
        let one = || {
            t.get(1)
                .copied()
                .ok_or_else(|| err(format!("`{}` needs a value", t[0])))
        };
        match t[0] {
            "module" => c.module = one()?.to_string(),
            "variants" => c.variants = t[1..].iter().map(|s| s.to_string()).collect(),
            "kernel" => c.kernel = one()?.to_string(),
            "grid" => c.grid = parse_dims(&t[1..]).map_err(err)?,
            "block" => c.block = parse_dims(&t[1..]).map_err(err)?,
            "shared" => {
                c.shared = one()?
                    .parse()
                    .map_err(|e| err(format!("bad shared: {e}")))?
            }
            "arg" => c.args.push(parse_arg(one()?).map_err(err)?),
            "check" => {
                let k: usize = one()?.parse().map_err(|e| err(format!("bad index: {e}")))?;
                c.checks.push((k, parse_mode(&t[2..]).map_err(err)?));
            }
            "global" => c
                .globals
                .push((one()?.to_string(), parse_mode(&t[2..]).map_err(err)?)),
            "expect" => c.expect_error = true,
            "end" => {
                let c = cur.take().expect("inside a case");
                if c.module.is_empty() || c.kernel.is_empty() || c.variants.is_empty() {
                    return Err(err(format!(
                        "case {} lacks module, kernel or variants",
                        c.name
                    )));
                }
                for (k, _) in &c.checks {
                    if !matches!(c.args.get(*k), Some(Arg::Buf(_) | Arg::Zeros(_))) {
                        return Err(err(format!(
                            "case {}: check {k} is not a buffer argument",
                            c.name
                        )));
                    }
                }
                cases.push(c);
            }
            d => return Err(err(format!("unknown directive `{d}`"))),
        }
    }
    if let Some(c) = cur {
        return Err(format!("{file}: case {} has no `end`", c.name));
    }
    Ok(cases)
}

/// Every case of every `cases*.txt` manifest.
fn all_cases() -> Vec<Case> {
    let dir = fixtures();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/fixtures exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n.starts_with("cases") && n.ends_with(".txt")
        })
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable manifest");
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        cases.extend(parse_manifest(&text, &name).unwrap_or_else(|e| panic!("{e}")));
    }
    cases
}

// ------------------------------------------------------------------------------------------
// Gold and comparison
// ------------------------------------------------------------------------------------------

/// The gold file for output `what` (`out3`, `global.g_counter`) of a case in a variant:
/// the per-variant file when the variants disagreed on the GPU, else the common one.
fn gold_file(case: &str, variant: &str, what: &str) -> PathBuf {
    let gold = fixtures().join("gold");
    let per_variant = gold.join(format!("{case}.{variant}.{what}.bin"));
    if per_variant.exists() {
        per_variant
    } else {
        gold.join(format!("{case}.{what}.bin"))
    }
}

/// Maps float bits to integers ordered like the floats, for ULP distances.
fn ordered(bits: u64, width: u32) -> i128 {
    let sign = 1u64 << (width - 1);
    if bits & sign != 0 {
        -((bits & !sign) as i128)
    } else {
        bits as i128
    }
}

fn elem_value(elem: Elem, bits: u64) -> (f64, bool) {
    match elem {
        Elem::F64 => {
            let v = f64::from_bits(bits);
            (v, v.is_nan())
        }
        Elem::F32 => {
            let v = f32::from_bits(bits as u32);
            (f64::from(v), v.is_nan())
        }
        Elem::F16 => {
            let (e, m) = ((bits >> 10) & 0x1f, bits & 0x3ff);
            let mag = match e {
                0 => m as f64 * 2f64.powi(-24),
                31 if m != 0 => f64::NAN,
                31 => f64::INFINITY,
                _ => (1.0 + m as f64 / 1024.0) * 2f64.powi(e as i32 - 15),
            };
            let v = if bits & 0x8000 != 0 { -mag } else { mag };
            (v, v.is_nan())
        }
        Elem::Bf16 => {
            let v = f32::from_bits((bits as u32) << 16);
            (f64::from(v), v.is_nan())
        }
    }
}

fn read_elem(b: &[u8], size: usize, i: usize) -> u64 {
    let mut w = [0u8; 8];
    w[..size].copy_from_slice(&b[i * size..(i + 1) * size]);
    u64::from_le_bytes(w)
}

/// Compares one output; `None` when it matches, else a description of the mismatches.
fn compare(expected: &[u8], got: &[u8], mode: &Mode) -> Option<String> {
    if expected.len() != got.len() {
        return Some(format!("{} bytes, gold has {}", got.len(), expected.len()));
    }
    match mode {
        Mode::Exact => {
            if expected == got {
                return None;
            }
            // Report in 32-bit words when the size allows, else bytes.
            let size = if expected.len() % 4 == 0 { 4 } else { 1 };
            let n = expected.len() / size;
            let bad: Vec<usize> = (0..n)
                .filter(|&i| read_elem(expected, size, i) != read_elem(got, size, i))
                .collect();
            let i = bad[0];
            Some(format!(
                "{} of {n} {}-byte words differ; first at index {i}: expected {:#0w$x}, got {:#0w$x}",
                bad.len(),
                size,
                read_elem(expected, size, i),
                read_elem(got, size, i),
                w = 2 + 2 * size
            ))
        }
        Mode::Tolerance {
            elem,
            ulp,
            abs,
            rel,
            range,
        } => {
            let size = elem.size();
            let width = 8 * size as u32;
            let n = expected.len() / size;
            let (start, end) = range.unwrap_or((0, n));
            if end > n {
                return Some(format!("range {start}..{end} exceeds the {n} elements"));
            }
            let mut bad = Vec::new();
            let mut worst_ulp = 0i128;
            for i in start..end {
                let (e, g) = (read_elem(expected, size, i), read_elem(got, size, i));
                if e == g {
                    continue;
                }
                let ((ev, enan), (gv, gnan)) = (elem_value(*elem, e), elem_value(*elem, g));
                if enan && gnan {
                    continue;
                }
                let d = if enan || gnan {
                    i128::MAX
                } else {
                    (ordered(e, width) - ordered(g, width)).abs()
                };
                let ok_ulp = ulp.is_some_and(|u| d <= i128::from(u));
                let finite = !enan && !gnan;
                let ok_abs = abs.is_some_and(|a| finite && (ev - gv).abs() <= a);
                let ok_rel = rel.is_some_and(|r| finite && (ev - gv).abs() <= r * ev.abs());
                if !(ok_ulp || ok_abs || ok_rel) {
                    worst_ulp = worst_ulp.max(d);
                    bad.push(i);
                }
            }
            let &i = bad.first()?;
            let (e, g) = (read_elem(expected, size, i), read_elem(got, size, i));
            Some(format!(
                "{} of {} {elem:?} elements outside tolerance; first at index {i}: expected {:#0w$x} ({}), got {:#0w$x} ({}); worst ULP distance {}",
                bad.len(),
                end - start,
                e,
                elem_value(*elem, e).0,
                g,
                elem_value(*elem, g).0,
                if worst_ulp == i128::MAX { "NaN vs number".to_string() } else { worst_ulp.to_string() },
                w = 2 + 2 * size
            ))
        }
    }
}

// ------------------------------------------------------------------------------------------
// Running a case on the CPU device
// ------------------------------------------------------------------------------------------

/// What a run produced: the outputs by name (`out3`, `global.NAME`), or the launch's error.
enum Outcome {
    Outputs(Vec<(String, Vec<u8>)>),
    Failed(driver::Error),
}

fn run_case(case: &Case, variant: &str) -> Result<Outcome, String> {
    let dir = fixtures();
    let ptx_path = dir
        .join("ptx")
        .join(format!("{}.{variant}.ptx", case.module));
    let ptx = std::fs::read_to_string(&ptx_path)
        .map_err(|e| format!("cannot read {}: {e}", ptx_path.display()))?;
    driver::init().map_err(|e| format!("init: {e}"))?;
    let dev = driver::Device::from_spec("cpu").map_err(|e| format!("cpu device: {e}"))?;
    // A context per run: a fault leaves its context unusable, as on a GPU.
    let ctx =
        driver::Context::new(dev, ContextFlags::SCHED_AUTO).map_err(|e| format!("context: {e}"))?;
    let module = ctx.load_ptx(&ptx).map_err(|e| format!("load: {e}"))?;
    let func = module
        .function(&case.kernel)
        .map_err(|e| format!("function: {e}"))?;
    let mut buffers = Vec::new();
    let mut values: Vec<Vec<u8>> = Vec::new();
    for (k, arg) in case.args.iter().enumerate() {
        match arg {
            Arg::Value(b) => values.push(b.clone()),
            Arg::Buf(path) => {
                let data =
                    std::fs::read(dir.join(path)).map_err(|e| format!("arg {k}: {path}: {e}"))?;
                let buf = ctx
                    .upload::<u8>(&data)
                    .map_err(|e| format!("arg {k}: upload: {e}"))?;
                values.push(buf.device_ptr().as_raw().to_le_bytes().to_vec());
                buffers.push((k, buf));
            }
            Arg::Zeros(n) => {
                let buf = ctx
                    .alloc_zeroed::<u8>(*n)
                    .map_err(|e| format!("arg {k}: alloc: {e}"))?;
                values.push(buf.device_ptr().as_raw().to_le_bytes().to_vec());
                buffers.push((k, buf));
            }
        }
    }
    let kargs: Vec<KernelArg<'_>> = values.iter().map(|v| KernelArg::bytes(v)).collect();
    let refs: Vec<&dyn DeviceRepr> = kargs.iter().map(|a| a as &dyn DeviceRepr).collect();
    let stream = ctx.default_stream();
    let launched = func
        .launch(case.grid, case.block, case.shared, &stream, &refs)
        .and_then(|()| stream.synchronize());
    if let Err(e) = launched {
        return Ok(Outcome::Failed(e));
    }
    let mut outs = Vec::new();
    for (k, _) in &case.checks {
        let (_, buf) = buffers
            .iter()
            .find(|(i, _)| i == k)
            .expect("checked buffer exists");
        outs.push((
            format!("out{k}"),
            buf.to_vec().map_err(|e| format!("read arg {k}: {e}"))?,
        ));
    }
    for (name, _) in &case.globals {
        let bytes = read_global(&ctx, &module, name)?;
        outs.push((format!("global.{name}"), bytes));
    }
    Ok(Outcome::Outputs(outs))
}

/// A module global's bytes: copied by a small kernel into a buffer (the driver API has no
/// raw device-to-host copy from a bare address).
fn read_global(
    ctx: &driver::Context,
    module: &driver::Module,
    name: &str,
) -> Result<Vec<u8>, String> {
    const COPY: &str = ".version 7.0\n.target sm_50\n.address_size 64\n\
        .visible .entry copy_bytes(.param .u64 src, .param .u64 dst, .param .u32 n)\n{\n\
        .reg .pred %p;\n.reg .b32 %r<3>;\n.reg .b64 %rd<5>;\n.reg .b16 %h;\n\
        ld.param.u64 %rd1, [src];\nld.param.u64 %rd2, [dst];\nld.param.u32 %r1, [n];\n\
        mov.u32 %r2, 0;\nLOOP:\nsetp.ge.u32 %p, %r2, %r1;\n@%p bra DONE;\n\
        cvt.u64.u32 %rd3, %r2;\nadd.u64 %rd4, %rd1, %rd3;\nld.global.u8 %h, [%rd4];\n\
        add.u64 %rd4, %rd2, %rd3;\nst.global.u8 [%rd4], %h;\nadd.u32 %r2, %r2, 1;\nbra LOOP;\n\
        DONE:\nret;\n}\n";
    let (ptr, size) = module
        .global(name)
        .map_err(|e| format!("global {name}: {e}"))?;
    let copier = ctx
        .load_ptx(COPY)
        .map_err(|e| format!("copy kernel: {e}"))?;
    let f = copier
        .function("copy_bytes")
        .map_err(|e| format!("copy kernel: {e}"))?;
    let dst = ctx
        .alloc_zeroed::<u8>(size as usize)
        .map_err(|e| format!("alloc: {e}"))?;
    let n = u32::try_from(size).map_err(|_| format!("global {name} too large"))?;
    let stream = ctx.default_stream();
    f.launch(1u32, 1u32, 0, &stream, &[&ptr, &dst, &n])
        .and_then(|()| stream.synchronize())
        .map_err(|e| format!("copying global {name}: {e}"))?;
    dst.to_vec()
        .map_err(|e| format!("reading global {name}: {e}"))
}

/// Runs every variant of `case`; appends a line per mismatch to `report` and returns how
/// many of the variants failed.
fn check_case(case: &Case, report: &mut String) -> usize {
    let mut failed = 0;
    for variant in &case.variants {
        let before = report.len();
        check_variant(case, variant, report);
        if report.len() != before {
            failed += 1;
        }
    }
    failed
}

/// Runs one variant of `case`, appending a line per mismatch to `report`.
fn check_variant(case: &Case, variant: &str, report: &mut String) {
    {
        let tag = format!("{} [{variant}] ({})", case.name, case.source);
        let outcome = match run_case(case, variant) {
            Ok(o) => o,
            Err(e) => {
                let _ = writeln!(report, "{tag}: {e}");
                return;
            }
        };
        match (outcome, case.expect_error) {
            (Outcome::Failed(e), true) => {
                let gold = fixtures()
                    .join("gold")
                    .join(format!("{}.{variant}.error.txt", case.name));
                let want = std::fs::read_to_string(&gold).unwrap_or_default();
                let want = want.trim();
                if !want.is_empty() && want != e.code().name() {
                    let _ = writeln!(
                        report,
                        "{tag}: failed with {} ({e}); the GPU gave {want}",
                        e.code().name()
                    );
                }
            }
            (Outcome::Failed(e), false) => {
                let _ = writeln!(report, "{tag}: launch failed: {e}");
            }
            (Outcome::Outputs(_), true) => {
                let _ = writeln!(report, "{tag}: launch succeeded; the GPU reported an error");
            }
            (Outcome::Outputs(outs), false) => {
                dump_outputs(case, variant, &outs);
                let modes = case
                    .checks
                    .iter()
                    .map(|(k, m)| (format!("out{k}"), m))
                    .chain(case.globals.iter().map(|(n, m)| (format!("global.{n}"), m)));
                for ((what, mode), (_, got)) in modes.zip(&outs) {
                    let path = gold_file(&case.name, variant, &what);
                    match std::fs::read(&path) {
                        Ok(expected) => {
                            if let Some(m) = compare(&expected, got, mode) {
                                let _ = writeln!(report, "{tag}: {what}: {m}");
                            }
                        }
                        Err(e) => {
                            let _ = writeln!(
                                report,
                                "{tag}: {what}: no gold ({}: {e})",
                                path.display()
                            );
                        }
                    }
                }
            }
        }
    }
}

/// With `FERROCUDA_CONFORMANCE_DUMP=DIR` set, writes what the CPU device produced to
/// `DIR/CASE.VARIANT.WHAT.bin`, named like the gold files, for a closer look at mismatches.
fn dump_outputs(case: &Case, variant: &str, outs: &[(String, Vec<u8>)]) {
    let Some(dir) = std::env::var_os("FERROCUDA_CONFORMANCE_DUMP") else {
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("dump directory can be created");
    for (what, bytes) in outs {
        let path = dir.join(format!("{}.{variant}.{what}.bin", case.name));
        std::fs::write(&path, bytes).expect("dump file can be written");
    }
}

/// The CPU device compiles every kernel the compiler covers at its first launch, so that the
/// groups check compiled code wherever it exists, unless `FERROCUDA_CPU_JIT` chooses otherwise
/// ([`every_group_on_the_interpreter`] reruns them all with the interpreter alone).
fn compiled_unless_told() {
    if std::env::var_os("FERROCUDA_CPU_JIT").is_none() {
        ferrocuda_cpu::set_default_compilation(ferrocuda_cpu::Compilation::Eager);
    }
}

/// Runs the selected cases, failing with every mismatch found.
fn run_group(select: impl Fn(&Case) -> bool) {
    compiled_unless_told();
    let cases: Vec<Case> = all_cases().into_iter().filter(|c| select(c)).collect();
    assert!(
        !cases.is_empty(),
        "no cases selected: is the manifest fragment (cases.triton.txt) missing?"
    );
    let mut report = String::new();
    let failed: usize = cases.iter().map(|c| check_case(c, &mut report)).sum();
    let runs: usize = cases.iter().map(|c| c.variants.len()).sum();
    assert!(
        report.is_empty(),
        "{failed} of {runs} case runs failed:\n{report}"
    );
}

macro_rules! module_groups {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            run_group(|c| c.module == stringify!($name));
        }
    )*};
}

module_groups!(
    seed,
    reduce,
    matmul,
    histogram,
    vote,
    divergence,
    libm,
    libm_fastmath,
    f64,
    half,
    intops,
    rounding,
    convert,
    denormal,
    setp,
    params,
    memory,
    globals,
    atomics,
    calls,
    errors,
);

/// Kernels compiled by Triton (and numba, once its fragment exists).
#[test]
fn triton_and_numba() {
    run_group(|c| c.module.starts_with("triton_") || c.module.starts_with("numba_"));
}

/// Every group again on the interpreter alone: this test binary run a second time with
/// `FERROCUDA_CPU_JIT=0` (skipped where the environment already sets it, the second run
/// included).
#[test]
fn every_group_on_the_interpreter() {
    if std::env::var_os("FERROCUDA_CPU_JIT").is_some() {
        return;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = std::process::Command::new(exe)
        .env("FERROCUDA_CPU_JIT", "0")
        .args(["--skip", "every_group_on_the_interpreter"])
        .output()
        .expect("the test binary runs again");
    assert!(
        out.status.success(),
        "on the interpreter:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("test seed ... ok"), "{report}");
}

/// Every group above covers some cases, and every case belongs to a group.
#[test]
fn every_case_is_in_a_group() {
    const GROUPS: &[&str] = &[
        "seed",
        "reduce",
        "matmul",
        "histogram",
        "vote",
        "divergence",
        "libm",
        "libm_fastmath",
        "f64",
        "half",
        "intops",
        "rounding",
        "convert",
        "denormal",
        "setp",
        "params",
        "memory",
        "globals",
        "atomics",
        "calls",
        "errors",
    ];
    let orphans: Vec<String> = all_cases()
        .into_iter()
        .filter(|c| {
            !GROUPS.contains(&c.module.as_str())
                && !c.module.starts_with("triton_")
                && !c.module.starts_with("numba_")
        })
        .map(|c| format!("{} (module {})", c.name, c.module))
        .collect();
    assert!(
        orphans.is_empty(),
        "cases outside every test group: {orphans:?}"
    );
}

/// Every PTX fixture (compiler output of every variant) parses.
#[test]
fn every_ptx_fixture_parses() {
    let mut failures = String::new();
    let mut count = 0;
    let dirs = [fixtures().join("ptx"), fixtures().join("samples")];
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("readable directory")
            .map(|e| e.expect("readable entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "ptx"))
            .collect();
        paths.sort();
        for p in paths {
            count += 1;
            let text = std::fs::read_to_string(&p).expect("readable PTX");
            if let Err(e) = ferrocuda_ptx::parse(&text) {
                let _ = writeln!(failures, "{}: {e}", p.display());
            }
        }
    }
    assert!(count > 0, "no PTX fixtures found");
    assert!(
        failures.is_empty(),
        "PTX fixtures that do not parse:\n{failures}"
    );
}

/// The manifest is self-consistent: inputs exist, and every checked output has gold.
#[test]
fn manifest_is_consistent() {
    let dir = fixtures();
    let mut problems = String::new();
    let cases = all_cases();
    let mut names = BTreeSet::new();
    for c in &cases {
        if !names.insert(c.name.clone()) {
            let _ = writeln!(problems, "{}: duplicate case name", c.source);
        }
        for a in &c.args {
            if let Arg::Buf(p) = a {
                if !dir.join(p).is_file() {
                    let _ = writeln!(problems, "{}: missing input {p}", c.source);
                }
            }
        }
        for v in &c.variants {
            let ptx = dir.join("ptx").join(format!("{}.{v}.ptx", c.module));
            if !ptx.is_file() {
                let _ = writeln!(problems, "{}: missing {}", c.source, ptx.display());
            }
            if c.expect_error {
                continue;
            }
            let outs = c
                .checks
                .iter()
                .map(|(k, _)| format!("out{k}"))
                .chain(c.globals.iter().map(|(n, _)| format!("global.{n}")));
            for what in outs {
                if !gold_file(&c.name, v, &what).is_file() {
                    let _ = writeln!(problems, "{}: no gold for {what} in {v}", c.source);
                }
            }
        }
    }
    assert!(problems.is_empty(), "manifest problems:\n{problems}");
}

#[test]
fn manifest_parser_reads_every_form() {
    let text = "# comment\ncase t\nmodule m\nvariants a b\nkernel k\ngrid 2 1 1\nblock 32 1 1\nshared 16\n\
        arg u8:255\narg i16:-2\narg f32:1.5\narg f64:0x7FF0000000000000\narg raw:0a0b\narg buf:inputs/x\n\
        arg zeros:64\ncheck 5 exact\ncheck 6 f32 ulp:2 abs:1e-6\nglobal g exact\nend\n";
    let cases = parse_manifest(text, "t.txt").expect("parses");
    let c = &cases[0];
    assert_eq!(c.variants, ["a", "b"]);
    assert_eq!(c.grid, [2, 1, 1]);
    assert_eq!(c.shared, 16);
    assert_eq!(c.args[0], Arg::Value(vec![255]));
    assert_eq!(c.args[1], Arg::Value(vec![0xfe, 0xff]));
    assert_eq!(c.args[2], Arg::Value(1.5f32.to_le_bytes().to_vec()));
    assert_eq!(c.args[3], Arg::Value(f64::INFINITY.to_le_bytes().to_vec()));
    assert_eq!(c.args[4], Arg::Value(vec![10, 11]));
    assert_eq!(c.args[6], Arg::Zeros(64));
    assert_eq!(
        c.checks[1],
        (
            6,
            Mode::Tolerance {
                elem: Elem::F32,
                ulp: Some(2),
                abs: Some(1e-6),
                rel: None,
                range: None
            }
        )
    );
    assert_eq!(
        parse_mode(&["f64", "rel:0.5", "range:2..8"]),
        Ok(Mode::Tolerance {
            elem: Elem::F64,
            ulp: None,
            abs: None,
            rel: Some(0.5),
            range: Some((2, 8))
        })
    );
    assert!(parse_mode(&["f32"]).is_err());
    assert!(parse_mode(&["f32", "range:4..4", "ulp:1"]).is_err());
    assert!(parse_mode(&["f32", "range:0..4"]).is_err());
    assert!(parse_manifest("case t\nmodule m\nend\n", "t").is_err());
    assert!(parse_manifest(
        "case t\nmodule m\nvariants a\nkernel k\narg u8:256\nend\n",
        "t"
    )
    .is_err());
    assert!(parse_manifest(
        "case t\nmodule m\nvariants a\nkernel k\narg zeros:4\ncheck 1 exact\nend\n",
        "t"
    )
    .is_err());
}

#[test]
fn comparison_modes() {
    let one = 1.0f32.to_le_bytes();
    let next = f32::from_bits(1.0f32.to_bits() + 1).to_le_bytes();
    assert!(compare(&one, &one, &Mode::Exact).is_none());
    assert!(compare(&one, &next, &Mode::Exact).is_some());
    let tol = |ulp, abs| Mode::Tolerance {
        elem: Elem::F32,
        ulp,
        abs,
        rel: None,
        range: None,
    };
    assert!(compare(&one, &next, &tol(Some(1), None)).is_none());
    assert!(compare(&one, &next, &tol(Some(0), None)).is_some());
    assert!(compare(&one, &next, &tol(None, Some(1e-6))).is_none());
    let nan_a = 0x7fc0_0000u32.to_le_bytes();
    let nan_b = 0x7fff_ffffu32.to_le_bytes();
    assert!(compare(&nan_a, &nan_b, &tol(Some(0), None)).is_none());
    assert!(compare(&nan_a, &one, &tol(Some(1000), Some(1e9))).is_some());
    // Across zero: -0.0 and the smallest positive subnormal are one ULP apart.
    let neg0 = (-0.0f32).to_le_bytes();
    let tiny = f32::from_bits(1).to_le_bytes();
    assert!(compare(&neg0, &tiny, &tol(Some(1), None)).is_none());
    // Relative tolerance and ranges.
    let big: Vec<u8> = [1000.0f32, 1.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let off: Vec<u8> = [1000.5f32, 2.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let rel = |range| Mode::Tolerance {
        elem: Elem::F32,
        ulp: None,
        abs: None,
        rel: Some(1e-3),
        range,
    };
    assert!(compare(&big, &off, &rel(Some((0, 1)))).is_none());
    assert!(compare(&big, &off, &rel(None)).is_some());
    assert!(compare(&big, &off, &rel(Some((0, 3)))).is_some());
}
