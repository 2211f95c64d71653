//! `fcuda demo`: the seed programs, run from the repository's example sources themselves.

use std::process::ExitCode;

use ferrocuda_runtime::Result;

#[allow(dead_code)]
#[path = "../../../examples/contexts.rs"]
mod contexts;
#[allow(dead_code)]
#[path = "../../../examples/runtime_example.rs"]
mod runtime_example;
#[allow(dead_code)]
#[path = "../../../examples/vector_add.rs"]
mod vector_add;
#[allow(dead_code)]
#[path = "../../../examples/version_check.rs"]
mod version_check;

/// One seed program: its title and its `run`.
type Program = (&'static str, fn() -> Result<()>);

pub fn run() -> Result<ExitCode> {
    let programs: [Program; 4] = [
        ("runtime_example (seed 000)", runtime_example::run),
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
