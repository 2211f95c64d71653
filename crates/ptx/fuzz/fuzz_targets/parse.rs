//! Arbitrary bytes into the PTX front end: it must return `Ok` or a positioned `Err`, never
//! panic, hang or exhaust memory, and a successful parse must summarise without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let src = String::from_utf8_lossy(data);
    match ferrocuda_ptx::parse(&src) {
        Ok(m) => {
            let _ = ferrocuda_ptx::describe::describe(&m);
        }
        Err(e) => {
            assert!(e.line >= 1 && e.col >= 1);
            let lines = src.lines().count().max(1) + 1;
            assert!((e.line as usize) <= lines, "error line outside input");
            let _ = e.to_string();
        }
    }
});
