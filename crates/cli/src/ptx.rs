//! `fcuda ptx MODULE`: check a module file and list what it holds.

use std::path::Path;
use std::process::ExitCode;

use ferrocuda_ptx::container::{
    self, Compression, Cubin, EntryKind, FatbinEntry, GlobalSpace, Image, ImageKind,
};
use ferrocuda_runtime::{Error, ErrorCode, Result};

/// Reads a file, mapping I/O failures onto the CUDA codes `cuModuleLoad` uses.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        let code = if e.kind() == std::io::ErrorKind::NotFound {
            ErrorCode::FileNotFound
        } else {
            ErrorCode::OperatingSystem
        };
        Error::with_detail(code, format!("{}: {e}", path.display()))
    })
}

pub fn run(path: &Path) -> Result<ExitCode> {
    let bytes = read(path)?;
    let name = path.display().to_string();
    let image = Image::parse(&bytes).map_err(|e| {
        let code = match e {
            container::Error::NotUtf8 { .. } => ErrorCode::InvalidPtx,
            _ => ErrorCode::InvalidKernelImage,
        };
        Error::with_detail(code, format!("{name}: {e}"))
    })?;
    let ok = match &image {
        Image::Ptx(text) => check_ptx(&name, text, ""),
        Image::Cubin(c) => {
            println!("{name}: {}", cubin_title(c));
            print!("{}", describe_cubin(c, ""));
            true
        }
        Image::Fatbin(_) | Image::HostElf(_) => {
            let what = if image.kind() == ImageKind::HostElf {
                "host ELF with embedded fatbins"
            } else {
                "fatbin"
            };
            println!("{name}: {what}");
            let mut ok = true;
            for (i, f) in image.fatbins().iter().enumerate() {
                println!("fatbin {i} at {:#x}: {} entries", f.offset, f.entries.len());
                for e in &f.entries {
                    ok &= entry(&name, e);
                }
            }
            ok
        }
    };
    if ok {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("error: cudaErrorInvalidPtx: {name} does not parse");
        Ok(ExitCode::FAILURE)
    }
}

/// Prints one fatbin entry and what it holds; `false` when its contents do not check.
fn entry(name: &str, e: &FatbinEntry<'_>) -> bool {
    let compression = match e.compression() {
        Compression::None => String::new(),
        Compression::Lz4 => ", lz4-compressed".into(),
        Compression::Zstd => ", zstd-compressed".into(),
    };
    let id = e
        .identifier
        .map(|s| format!(", from {s}"))
        .unwrap_or_default();
    let version = match e.kind {
        EntryKind::Ptx => format!("PTX ISA {}.{}", e.code_version.0, e.code_version.1),
        _ => format!("code version {}.{}", e.code_version.0, e.code_version.1),
    };
    let arch = match e.kind {
        EntryKind::Ptx => format!("compute_{}", e.arch),
        _ => e.arch_name(),
    };
    println!(
        "  entry {}: {} {arch} ({version}, {} bytes{compression}{id})",
        e.index,
        e.kind.name(),
        e.payload_size
    );
    let label = format!("{name}[entry {}]", e.index);
    match e.kind {
        EntryKind::Ptx => match e.ptx() {
            Ok(text) => check_ptx(&label, &text, "    "),
            Err(err) => {
                eprintln!("{label}: {err}");
                false
            }
        },
        EntryKind::Elf => match e.data().map_err(|e| e.to_string()).and_then(|d| {
            Cubin::parse(&d)
                .map(|c| describe_cubin(&c, "    "))
                .map_err(|e| e.to_string())
        }) {
            Ok(text) => {
                print!("{text}");
                true
            }
            Err(err) => {
                eprintln!("{label}: {err}");
                false
            }
        },
        _ => true,
    }
}

fn cubin_title(c: &Cubin<'_>) -> String {
    let kind = if c.elf_type == 1 {
        "relocatable cubin"
    } else {
        "cubin"
    };
    let from = c
        .virtual_arch
        .map(|v| format!(" (from compute_{v})"))
        .unwrap_or_default();
    format!("{kind} {}{from}", c.arch_name())
}

/// Kernels (with their parameter layout and resources) and globals of a cubin.
fn describe_cubin(c: &Cubin<'_>, indent: &str) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for k in &c.kernels {
        let _ = writeln!(out, "{indent}kernel {}", k.name);
        let bytes = k.param_bytes.unwrap_or_else(|| {
            k.params
                .iter()
                .map(|p| p.offset + p.size)
                .max()
                .unwrap_or(0)
        });
        let _ = writeln!(out, "{indent}  params ({bytes} bytes):");
        for p in &k.params {
            let _ = writeln!(
                out,
                "{indent}    {} size {} offset {}",
                p.ordinal, p.size, p.offset
            );
        }
        let mut res = Vec::new();
        if let Some(r) = k.registers {
            res.push(format!("{r} registers"));
        }
        if k.shared_bytes > 0 {
            res.push(format!("{} bytes static shared", k.shared_bytes));
        }
        if let Some([x, y, z]) = k.max_threads {
            res.push(format!("maxntid {x}x{y}x{z}"));
        }
        if let Some([x, y, z]) = k.req_threads {
            res.push(format!("reqntid {x}x{y}x{z}"));
        }
        if let Some(r) = k.max_registers {
            res.push(format!("maxnreg {r}"));
        }
        if !res.is_empty() {
            let _ = writeln!(out, "{indent}  {}", res.join(", "));
        }
    }
    if !c.globals.is_empty() {
        let _ = writeln!(out, "{indent}globals:");
        for g in &c.globals {
            let space = match g.space {
                GlobalSpace::Global => ".global",
                GlobalSpace::Constant => ".const",
            };
            let _ = writeln!(
                out,
                "{indent}  {space} {} size {} ({} + {:#x})",
                g.name, g.size, g.section, g.offset
            );
        }
    }
    out
}

/// Parses PTX text and prints its summary, or its positioned diagnostic; `false` on errors.
fn check_ptx(name: &str, text: &str, indent: &str) -> bool {
    match ferrocuda_ptx::parse(text) {
        Ok(m) => {
            let summary = ferrocuda_ptx::describe::describe(&m);
            if indent.is_empty() {
                print!("{name}: {summary}");
            } else {
                for line in summary.lines() {
                    println!("{indent}{line}");
                }
            }
            true
        }
        Err(e) => {
            eprintln!("{name}:{e}");
            false
        }
    }
}
