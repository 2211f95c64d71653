//! Modules from nvcc's containers (tests/fixtures/samples, built by nvcc 13.0): a fatbin with
//! sm_90 cubin and compute_90 PTX runs everywhere; a bare cubin runs on the GPU only.
//! `FERROCUDA_FIXTURES` names the fixtures folder when the tests run elsewhere.

mod common;

use std::path::PathBuf;

use common::contexts;
use ferrocuda_driver::{ErrorCode, JitOptions, Platform};

fn fixture(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("FERROCUDA_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures"));
    let path = dir.join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn run_vector_add(ctx: &ferrocuda_driver::Context, m: &ferrocuda_driver::Module) {
    let f = m.function("vector_add").unwrap();
    let n = 1000i32;
    let a: Vec<f32> = (0..n).map(|i| i as f32).collect();
    let b: Vec<f32> = (0..n).map(|i| 0.5 * i as f32).collect();
    let (da, db) = (ctx.upload(&a).unwrap(), ctx.upload(&b).unwrap());
    let dc = ctx.alloc_zeroed::<f32>(n as usize).unwrap();
    let s = ctx.default_stream();
    f.launch(4u32, 256u32, 0, &s, &[&da, &db, &dc, &n]).unwrap();
    let c = dc.to_vec().unwrap();
    for i in 0..n as usize {
        assert_eq!(c[i], a[i] + b[i], "element {i} on {}", ctx.device());
    }
    // The layout is known (from PTX, or cuFuncGetParamInfo for a cubin): a missing
    // argument is refused.
    let e = f.launch(4u32, 256u32, 0, &s, &[&da, &db, &dc]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidValue, "{e}");
}

#[test]
fn fatbin_with_ptx_loads_and_runs_on_every_device() {
    let image = fixture("samples/sample.fatbin");
    for ctx in contexts() {
        let m = ctx
            .load_module_data(&image, &JitOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", ctx.device()));
        run_vector_add(&ctx, &m);
    }
}

#[test]
fn compressed_fatbins_load() {
    for name in [
        "samples/sample_compressed.fatbin",
        "containers/sample_mode_speed.fatbin",
        "containers/sample_mode_size.fatbin",
    ] {
        let image = fixture(name);
        for ctx in contexts() {
            let m = ctx
                .load_module_data(&image, &JitOptions::default())
                .unwrap_or_else(|e| panic!("{name} on {}: {e}", ctx.device()));
            m.function("vector_add").unwrap();
        }
    }
}

#[test]
fn cubin_runs_on_a_gpu_and_is_no_binary_for_gpu_on_the_cpu_device() {
    let image = fixture("samples/sample_sm90.cubin");
    for ctx in contexts() {
        let r = ctx.load_module_data(&image, &JitOptions::default());
        match ctx.platform() {
            Platform::Cpu => {
                let e = r.unwrap_err();
                assert_eq!(e.code(), ErrorCode::NoBinaryForGpu, "{e}");
                assert!(e.to_string().contains("CPU device needs PTX"), "{e}");
            }
            Platform::Nvidia => {
                let (major, _) = ctx.device().compute_capability().unwrap();
                if major == 9 {
                    run_vector_add(&ctx, &r.unwrap());
                } else {
                    eprintln!("skipping: the sm_90 cubin does not run on {}", ctx.device());
                }
            }
        }
    }
}

#[test]
fn a_truncated_fatbin_is_invalid_image() {
    let image = fixture("samples/sample.fatbin");
    for ctx in contexts() {
        let e = ctx
            .load_module_data(&image[..64], &JitOptions::default())
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidImage, "{}: {e}", ctx.device());
    }
}
