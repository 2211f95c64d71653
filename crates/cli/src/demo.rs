//! `fcuda demo`: the seed programs, run from the repository's example sources themselves.

use std::process::ExitCode;

use ferrocuda_runtime::Result;

#[allow(dead_code)]
#[path = "../../../examples/contexts.rs"]
mod contexts;
#[allow(dead_code)]
#[path = "../../../examples/driver_api.rs"]
mod driver_api;
#[allow(dead_code)]
#[path = "../../../examples/runtime_example.rs"]
mod runtime_example;
#[allow(dead_code)]
#[path = "../../../examples/vector_add.rs"]
mod vector_add;
#[allow(dead_code)]
#[path = "../../../examples/version_check.rs"]
mod version_check;

/// Seed 001's driver-layer program, its error seen as the runtime reports it.
fn driver_api_program() -> Result<()> {
    driver_api::run().map_err(Into::into)
}

/// One seed program: its title and its `run`.
type Program = (&'static str, fn() -> Result<()>);

pub fn run() -> Result<ExitCode> {
    let programs: [Program; 5] = [
        ("runtime_example (seed 000)", runtime_example::run),
        ("driver_api (seed 001)", driver_api_program),
        ("vector_add (seed 002)", vector_add::run),
        ("contexts (seeds 002, 004)", contexts::run),
        ("version_check (seed 002)", version_check::run),
    ];
    let mut failed = 0;
    for (name, program) in programs {
        println!("== {name}");
        match program() {
            Ok(()) => println!("-- ok"),
            Err(e) => {
                failed += 1;
                println!("-- FAILED: {}", e.to_string().lines().next().unwrap_or(""));
            }
        }
    }
    if failed == 0 {
        println!("all {} programs passed", programs.len());
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{failed} of {} programs failed", programs.len());
        Ok(ExitCode::FAILURE)
    }
}
