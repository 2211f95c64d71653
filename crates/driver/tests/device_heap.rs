//! Device-side `malloc`/`free` through the driver layer, on every device. The kernel is
//! nvcc's (`tests/fixtures/kernels/printf.cu`).

mod common;

const PTX: &str = include_str!("../../../tests/fixtures/ptx/printf.o3_sm90.ptx");

#[test]
fn device_heap_blocks_work_and_a_huge_request_is_null() {
    for ctx in common::contexts() {
        let m = ctx.load_ptx(PTX).unwrap();
        let f = m.function("device_heap").unwrap();
        let out = ctx.alloc_zeroed::<i32>(256).unwrap();
        let s = ctx.default_stream();
        f.launch(2u32, 64u32, 0, &s, &[&out]).unwrap();
        s.synchronize().unwrap();
        let got = out.to_vec().unwrap();
        for t in 0..128 {
            // p[0..4] = 10t + k, summed; malloc(1 TiB) is null.
            assert_eq!(got[2 * t], 40 * t as i32 + 6, "thread {t}");
            assert_eq!(got[2 * t + 1], 1, "thread {t}");
        }
    }
}
