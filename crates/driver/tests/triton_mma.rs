//! Triton's tensor-core matmul on every device: `tl.dot` of two f16 tiles compiled for sm_80
//! lowers to `ldmatrix` and `mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32`
//! (`tests/fixtures/triton/mma_sm80.py`, Triton 3.6.0). The inputs are small integers, so every
//! product and sum is exact and the host knows the only right answer; the GPU JIT-compiles the
//! same PTX where one is present.

mod common;

use common::half;

use ferrocuda_driver::Dim3;

const PTX: &str = include_str!("../../../tests/fixtures/ptx/triton_matmul_f16_mma.sm80.ptx");
/// From the compiler's metadata (`triton_matmul_f16_mma.sm80.json`): 4 warps, 4096 bytes of
/// dynamic shared memory, 32×32×32 blocks.
const WARPS: u32 = 4;
const SHARED: u32 = 4096;
const BM: usize = 32;
const BN: usize = 32;

#[test]
fn triton_f16_dot_runs_on_every_device() {
    // Edges that are not multiples of the blocks: masked loads and stores.
    let (m, n, k) = (70usize, 45usize, 83usize);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % 7) as i64 - 3
    };
    let a: Vec<i64> = (0..m * k).map(|_| next()).collect();
    let b: Vec<i64> = (0..k * n).map(|_| next()).collect();
    let want: Vec<f32> = (0..m * n)
        .map(|i| {
            let (r, c) = (i / n, i % n);
            (0..k).map(|kk| a[r * k + kk] * b[kk * n + c]).sum::<i64>() as f32
        })
        .collect();
    let ha: Vec<u16> = a.iter().map(|&v| half(v)).collect();
    let hb: Vec<u16> = b.iter().map(|&v| half(v)).collect();
    for ctx in common::contexts() {
        let module = ctx.load_ptx(PTX).unwrap_or_else(|e| panic!("{e}"));
        let f = module.function("matmul_f16").unwrap();
        let (da, db) = (ctx.upload(&ha).unwrap(), ctx.upload(&hb).unwrap());
        let dc = ctx.alloc_zeroed::<f32>(m * n).unwrap();
        let scratch = ferrocuda_driver::DevicePtr::from_raw(0);
        let (mi, ni, ki) = (m as i32, n as i32, k as i32);
        let grid = Dim3::from((m.div_ceil(BM) as u32, n.div_ceil(BN) as u32));
        let s = ctx.default_stream();
        f.launch(
            grid,
            32 * WARPS,
            SHARED,
            &s,
            &[&da, &db, &dc, &mi, &ni, &ki, &scratch, &scratch],
        )
        .and_then(|()| s.synchronize())
        .unwrap_or_else(|e| panic!("{:?}: {e}", ctx.device()));
        assert_eq!(dc.to_vec().unwrap(), want, "{:?}", ctx.device());
    }
}
