//! Modules: loading from memory and files, image detection, errors, globals, attributes.

mod common;

use common::{contexts, kernels, DOUBLE_PTX, KERNELS_PTX};
use ferrocuda_driver::{ErrorCode, FunctionAttribute, JitOptions, Platform};

#[test]
fn load_ptx_from_memory_and_file() {
    for ctx in contexts() {
        let m = ctx
            .load_module_data(DOUBLE_PTX.as_bytes(), &JitOptions::default())
            .unwrap();
        let f = m.function("my_kernel").unwrap();
        assert_eq!(f.name(), "my_kernel");
        // NUL-terminated text, as C callers pass it.
        let mut z = DOUBLE_PTX.as_bytes().to_vec();
        z.push(0);
        ctx.load_module_data(&z, &JitOptions::default()).unwrap();
        let dir = std::env::temp_dir().join(format!("ferrocuda-driver-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("double.ptx");
        std::fs::write(&path, DOUBLE_PTX).unwrap();
        let opts = JitOptions {
            max_registers: Some(32),
            optimization_level: Some(3),
            generate_line_info: true,
            ..JitOptions::default()
        };
        let m = ctx.load_module_file(&path, &opts).unwrap();
        m.function("my_kernel").unwrap();
        let _ = std::fs::remove_file(&path);
    }
}

#[test]
fn missing_file_is_file_not_found() {
    for ctx in contexts() {
        let e = ctx
            .load_module_file("/nonexistent/k.ptx", &JitOptions::default())
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::FileNotFound);
        assert!(e.to_string().contains("/nonexistent/k.ptx"), "{e}");
    }
}

#[test]
fn bad_ptx_is_a_positioned_invalid_ptx_error() {
    let bad = ".version 7.0\n.target sm_50\n.address_size 64\n.visible .entry k()\n{\n    frobnicate.u32 %r1;\n    ret;\n}\n";
    for ctx in contexts() {
        let e = ctx.load_ptx(bad).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidPtx, "{e}");
        let text = e.to_string();
        assert!(text.starts_with("CUDA_ERROR_INVALID_PTX"), "{text}");
        if ctx.platform() == Platform::Cpu {
            // The parser's report: line:col, the source line and a caret.
            assert!(text.contains("6:5"), "{text}");
            assert!(text.contains("frobnicate"), "{text}");
            assert!(text.contains('^'), "{text}");
        } else {
            // libcuda's JIT log names the line too.
            assert!(text.contains("JIT log") || text.contains("line"), "{text}");
        }
        assert_eq!(ctx.load_ptx("").unwrap_err().code(), ErrorCode::InvalidPtx);
    }
}

#[test]
fn images_that_are_neither_ptx_cubin_nor_fatbin_are_invalid_image() {
    for ctx in contexts() {
        let e = ctx
            .load_module_data(&[0xde, 0xad, 0xbe, 0xef, 0, 1], &JitOptions::default())
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidImage, "{e}");
    }
}

#[test]
fn missing_kernel_and_global_are_not_found() {
    for ctx in contexts() {
        let m = kernels(&ctx);
        let e = m.function("nope").unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotFound);
        assert!(e.to_string().starts_with("CUDA_ERROR_NOT_FOUND"), "{e}");
        assert_eq!(m.global("nope").unwrap_err().code(), ErrorCode::NotFound);
    }
}

#[test]
fn globals_have_address_size_and_initial_value() {
    for ctx in contexts() {
        let m = kernels(&ctx);
        let (ptr, bytes) = m.global("counter").unwrap();
        assert_eq!(bytes, 4);
        assert_ne!(ptr.as_raw(), 0);
        let mut v = [0u32];
        m.copy_from_global("counter", &mut v).unwrap();
        assert_eq!(v, [7], "initialiser applied");
        // A kernel writes it through its address.
        let s = ctx.default_stream();
        let f = m.function("store_at").unwrap();
        f.launch(1u32, 1u32, 0, &s, &[&ptr, &41u32]).unwrap();
        m.copy_from_global("counter", &mut v).unwrap();
        assert_eq!(v, [41]);
        m.copy_to_global("counter", &[100u32]).unwrap();
        m.copy_from_global("counter", &mut v).unwrap();
        assert_eq!(v, [100]);
        let e = m.copy_to_global("counter", &[1u64]).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidValue);
    }
}

#[test]
fn function_attributes_and_signature() {
    for ctx in contexts() {
        let m = kernels(&ctx);
        let f = m.function("axpb").unwrap();
        let sig = f.signature().expect("layout known");
        assert_eq!(sig.params.len(), 3);
        assert_eq!((sig.params[1].offset, sig.params[1].size), (8, 8));
        assert_eq!((sig.params[2].offset, sig.params[2].size), (16, 4));
        let max = f.attribute(FunctionAttribute::MaxThreadsPerBlock).unwrap();
        assert!(max > 0 && max <= 1024);
        assert!(f.attribute(FunctionAttribute::NumRegs).unwrap() >= 0);
        assert_eq!(f.attribute(FunctionAttribute::SharedSizeBytes).unwrap(), 0);
        // The virtual architecture of `.target sm_50`.
        assert_eq!(f.attribute(FunctionAttribute::PtxVersion).unwrap(), 50);
        assert!(f.attribute(FunctionAttribute::BinaryVersion).unwrap() >= 50);
        assert_eq!(
            f.attribute(FunctionAttribute::MaxDynamicSharedSizeBytes)
                .unwrap(),
            48 * 1024
        );
        f.set_attribute(FunctionAttribute::MaxDynamicSharedSizeBytes, 64 * 1024)
            .unwrap();
        assert_eq!(
            f.attribute(FunctionAttribute::MaxDynamicSharedSizeBytes)
                .unwrap(),
            64 * 1024
        );
        let e = f
            .set_attribute(FunctionAttribute::MaxDynamicSharedSizeBytes, 1 << 30)
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidValue);
    }
}

#[test]
fn kernels_module_parses() {
    // Guards the test kernels themselves.
    ferrocuda_ptx::parse(KERNELS_PTX).unwrap();
    ferrocuda_ptx::parse(DOUBLE_PTX).unwrap();
}

/// A module, function, stream, event or page-locked buffer may hold the last reference to its
/// context: it must be released before the context is destroyed (on a GPU, unloading a module
/// of a destroyed context crashes inside libcuda).
#[test]
fn resources_holding_the_last_context_reference_release_first() {
    use ferrocuda_driver::{Context, ContextFlags, EventFlags, PinnedHostBuffer, StreamFlags};
    for dev in common::devices() {
        for _ in 0..3 {
            let ctx = Context::new(dev, ContextFlags::SCHED_AUTO).unwrap();
            let m = ctx
                .load_module_data(DOUBLE_PTX.as_bytes(), &JitOptions::default())
                .unwrap();
            let f = m.function("my_kernel").unwrap();
            let s = ctx.create_stream(StreamFlags::NON_BLOCKING, 0).unwrap();
            let e = ctx.create_event(EventFlags::DEFAULT).unwrap();
            let p = PinnedHostBuffer::<u32>::new(&ctx, 1024).unwrap();
            drop(ctx);
            drop(m);
            // Each of these is now among the last owners of the context.
            drop(s);
            drop(e);
            drop(p);
            drop(f);
        }
    }
}

#[test]
fn host_executables_load_their_embedded_fatbin() {
    // `tests/fixtures/fatbin/app`: an nvcc-built program (sm_80 and sm_90 cubins, compute_90
    // PTX). The GPU loads its fatbin's cubin, the CPU device its PTX; both run app_scale.
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures");
    let app = std::fs::read(format!("{root}/fatbin/app")).unwrap();
    for ctx in contexts() {
        let m = ctx.load_module_data(&app, &JitOptions::default()).unwrap();
        let f = m.function("app_scale").unwrap();
        let host: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let buf = ctx.upload(&host).unwrap();
        let stream = ctx.default_stream();
        f.launch(1u32, 128u32, 0, &stream, &[&buf, &0.5f32, &100u32])
            .unwrap();
        stream.synchronize().unwrap();
        let got = buf.to_vec().unwrap();
        assert_eq!(got[99], 49.5, "{:?}", ctx.device().platform());
        let (addr, size) = m.global("app_counter").unwrap();
        assert_eq!(size, 4);
        assert_ne!(addr.as_raw(), 0);
        // Two translation units embed two modules: refused on every platform.
        let two = std::fs::read(format!("{root}/containers/exe_plain")).unwrap();
        let e = ctx
            .load_module_data(&two, &JitOptions::default())
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotSupported, "{e}");
    }
}
