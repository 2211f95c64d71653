//! PTX that loads, compiled to machine code kernel by kernel: the compiler must produce code
//! or decline (leaving the kernel to the interpreter), never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static DEVICE: OnceLock<ferrocuda_cpu::Device> = OnceLock::new();
    let dev = DEVICE.get_or_init(|| ferrocuda_cpu::Device::with_workers(1));
    let src = String::from_utf8_lossy(data);
    if let Ok(m) = ferrocuda_ptx::parse(&src) {
        if let Ok(loaded) = dev.load_module(&m) {
            for name in loaded.kernel_names() {
                let k = loaded.kernel(name).expect("a listed kernel exists");
                let _ = k.interpreted_because();
            }
        }
    }
});
