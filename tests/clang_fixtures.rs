//! PTX written by clang's NVPTX back end (`tests/fixtures/clang/`) runs on the CPU device with
//! the results the kernels' C++ source defines (computed here on the host).

use ferrocuda_driver::{self as driver, Context, ContextFlags, Device, DeviceRepr, JitOptions};

fn cpu_context() -> Context {
    driver::init().unwrap();
    Context::new(Device::from_spec("cpu").unwrap(), ContextFlags::SCHED_AUTO).unwrap()
}

fn collatz_steps(mut v: i64) -> i64 {
    let mut steps = 0;
    while v > 1 && steps < 1000 {
        v = if v & 1 != 0 { 3 * v + 1 } else { v / 2 };
        steps += 1;
    }
    steps
}

#[test]
fn clang_kernels_match_their_source() {
    for variant in ["o3_sm_70", "o3_sm_80"] {
        let path = format!(
            "{}/tests/fixtures/clang/clang_kernels.{variant}.ptx",
            env!("CARGO_MANIFEST_DIR")
        );
        let ctx = cpu_context();
        let m = ctx.load_module_file(&path, &JitOptions::default()).unwrap();
        let stream = ctx.default_stream();

        let n = 1000usize;
        let x: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 7.0).collect();
        let y: Vec<f32> = (0..n).map(|i| (i % 13) as f32 * 1.25).collect();
        let dx = ctx.upload(&x).unwrap();
        let dy = ctx.upload(&y).unwrap();
        let a = 3.0f32;
        let args: [&dyn DeviceRepr; 4] = [&(n as i32), &a, &dx, &dy];
        m.function("clang_saxpy")
            .unwrap()
            .launch(n.div_ceil(256) as u32, 256u32, 0, &stream, &args)
            .unwrap();
        let got = dy.to_vec().unwrap();
        for i in 0..n {
            // clang contracts a * x + y into one fma, as the GPU computes it.
            assert_eq!(
                got[i].to_bits(),
                a.mul_add(x[i], y[i]).to_bits(),
                "{variant} saxpy[{i}]"
            );
        }

        let blocks = 8usize;
        let input: Vec<i32> = (0..blocks * 256)
            .map(|i| (i as i32 * 7919) % 1000 - 500)
            .collect();
        let din = ctx.upload(&input).unwrap();
        let dout = ctx.alloc_zeroed::<i32>(blocks).unwrap();
        let args: [&dyn DeviceRepr; 2] = [&din, &dout];
        m.function("clang_block_sum")
            .unwrap()
            .launch(blocks as u32, 256u32, 0, &stream, &args)
            .unwrap();
        let sums = dout.to_vec().unwrap();
        for (b, s) in sums.iter().enumerate() {
            let want: i32 = input[b * 256..(b + 1) * 256].iter().sum();
            assert_eq!(*s, want, "{variant} block_sum[{b}]");
        }

        let vals: Vec<i64> = (0..300).map(|i| i * 37 + 1).collect();
        let dv = ctx.upload(&vals).unwrap();
        let dsteps = ctx.alloc_zeroed::<i64>(vals.len()).unwrap();
        let args: [&dyn DeviceRepr; 3] = [&dv, &dsteps, &(vals.len() as i32)];
        m.function("clang_collatz")
            .unwrap()
            .launch(3u32, 128u32, 0, &stream, &args)
            .unwrap();
        let steps = dsteps.to_vec().unwrap();
        for (i, v) in vals.iter().enumerate() {
            assert_eq!(steps[i], collatz_steps(*v), "{variant} collatz({v})");
        }
    }
}
