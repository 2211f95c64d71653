//! Fuzzes the container readers: detection, fatbin/host/cubin parsing, decompression and PTX
//! extraction must return errors on any input, never panic or allocate without bound.
#![no_main]

use ferrocuda_ptx::container::{native_image, Cubin, EntryKind, Image};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Image::detect(data);
    let Ok(img) = Image::parse(data) else { return };
    for e in img.entries() {
        if let Ok(payload) = e.data() {
            if e.kind == EntryKind::Elf {
                if let Ok(c) = Cubin::parse(&payload) {
                    for k in &c.kernels {
                        let _ = k.signature();
                    }
                }
            }
        }
        let _ = e.ptx();
    }
    if let Image::Cubin(c) = &img {
        for k in &c.kernels {
            let _ = k.signature();
        }
    }
    let _ = img.ptx_modules(90);
    let _ = img.ptx_for(90);
    for fb in img.fatbins() {
        let _ = fb.defines_kernels();
        let _ = fb.bytes(data);
    }
    if let Ok(native) = native_image(data) {
        // What a GPU driver is handed parses again on its own.
        let _ = Image::parse(native);
    }
});
