//! `fcuda`: ferrocuda from the command line.
//!
//! - `fcuda devices`: every device of every platform, with deviceQuery's essentials.
//! - `fcuda ptx MODULE`: check a PTX, cubin or fatbin file (or a CUDA executable) and list
//!   what it holds.
//! - `fcuda run MODULE KERNEL …`: launch one kernel with arguments given as text.
//! - `fcuda demo`: run the seed programs (the repository's examples) on the default device.
//!
//! Failures print one line naming the CUDA error (`-v` adds the detail) and exit non-zero;
//! never a backtrace.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod demo;
mod devices;
mod ptx;
mod run;

/// ferrocuda's command-line tool: devices, PTX checks, kernel launches and the demo.
#[derive(Parser, Debug)]
#[command(name = "fcuda", version, about, propagate_version = true)]
struct Cli {
    /// Print the full detail of errors (PTX diagnostics, JIT logs, causes).
    #[arg(short, long, global = true)]
    verbose: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List every device of every platform with its essential properties (deviceQuery).
    Devices,
    /// Check a PTX, cubin or fatbin file (or an executable embedding fatbins): kernels with
    /// parameter layouts, globals, launch bounds; errors are positioned at line:column and
    /// exit non-zero.
    Ptx {
        /// The module file (`.ptx`, `.cubin`, `.fatbin`, or a CUDA executable).
        module: PathBuf,
    },
    /// Run the seed programs (runtime_example, vector_add, contexts, version_check) on the
    /// default device; exit non-zero if any fails.
    Demo,
    /// Launch one kernel of a module and write its buffers out.
    ///
    /// Each ARG is one kernel parameter, in order: TYPE:VALUE for a scalar (u8 i8 u16 i16 u32
    /// i32 u64 i64 f32 f64; integers in decimal or 0x hex, floats also as 0x bits),
    /// raw:HEX for bytes passed as one parameter (a struct by value), buf:FILE for a device
    /// buffer initialised from the file's bytes, zeros:BYTES for a zeroed device buffer.
    Run(run::RunArgs),
}

fn main() -> ExitCode {
    quiet_panics();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Devices => devices::run(),
        Command::Ptx { module } => ptx::run(module),
        Command::Demo => demo::run(),
        Command::Run(args) => run::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            report(&e, cli.verbose);
            ExitCode::FAILURE
        }
    }
}

/// Replaces the default panic report (message and backtrace) with one line. A closed
/// stdout (`fcuda ptx big.fatbin | head`) ends the program quietly, as Unix tools do.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("unknown cause");
        if msg.contains("Broken pipe") {
            std::process::exit(141);
        }
        eprintln!("error: internal error in fcuda: {msg}");
    }));
}

/// Prints an error as one line, or with all its detail under `-v`.
fn report(e: &ferrocuda_runtime::Error, verbose: bool) {
    let text = e.to_string();
    if verbose {
        eprintln!("error: {text}");
    } else {
        let first = text.lines().next().unwrap_or("");
        eprintln!("error: {first}");
        if text.lines().nth(1).is_some() {
            eprintln!("(run with -v for the detail)");
        }
    }
}
