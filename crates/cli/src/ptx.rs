//! `fcuda ptx MODULE`: check a module file and list what it holds.

use std::path::Path;
use std::process::ExitCode;

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
    let shown = path.display();
    if bytes.starts_with(b"\x7fELF") || bytes.starts_with(&[0x50, 0xed, 0x55, 0xba]) {
        return Err(Error::with_detail(
            ErrorCode::InvalidKernelImage,
            format!("{shown}: cubin and fatbin images are not readable by this build"),
        ));
    }
    let text = std::str::from_utf8(bytes.strip_suffix(b"\0").unwrap_or(&bytes)).map_err(|e| {
        Error::with_detail(
            ErrorCode::InvalidPtx,
            format!(
                "{shown}: not PTX text (not UTF-8 at byte {})",
                e.valid_up_to()
            ),
        )
    })?;
    Ok(check_ptx(&shown.to_string(), text))
}

/// Parses PTX text and prints its summary, or its positioned diagnostic.
fn check_ptx(name: &str, text: &str) -> ExitCode {
    match ferrocuda_ptx::parse(text) {
        Ok(m) => {
            print!("{name}: {}", ferrocuda_ptx::describe::describe(&m));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{name}:{e}");
            eprintln!("error: cudaErrorInvalidPtx: {name} does not parse");
            ExitCode::FAILURE
        }
    }
}
