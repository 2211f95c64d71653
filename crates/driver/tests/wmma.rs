//! The warp matrix API of CUDA C++ (`nvcuda::wmma`) on every device: nvcc's PTX of
//! `tests/fixtures/kernels/wmma.cu` (`-O3` and `-G`), with small integer inputs so that every
//! product and sum is exact and the host knows the only right answer. On a machine with an
//! NVIDIA GPU the same PTX runs there too.

mod common;

use common::half;

const VARIANTS: [(&str, &str); 2] = [
    (
        "o3_sm90",
        include_str!("../../../tests/fixtures/ptx/wmma.o3_sm90.ptx"),
    ),
    (
        "g_sm90",
        include_str!("../../../tests/fixtures/ptx/wmma.g_sm90.ptx"),
    ),
];

fn bf16(v: i64) -> u16 {
    ((v as f32).to_bits() >> 16) as u16
}

struct Rng(u64);

impl Rng {
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + (self.0 % (hi - lo + 1) as u64) as i64
    }
    fn matrix(&mut self, n: usize, lo: i64, hi: i64) -> Vec<i64> {
        (0..n).map(|_| self.int(lo, hi)).collect()
    }
}

/// `a·b + c` of row-major `m×k`, `k×n`, `m×n` integer matrices.
fn product(m: usize, n: usize, k: usize, a: &[i64], b: &[i64], c: &[i64]) -> Vec<i64> {
    (0..m * n)
        .map(|i| {
            let (r, col) = (i / n, i % n);
            c[i] + (0..k)
                .map(|kk| a[r * k + kk] * b[kk * n + col])
                .sum::<i64>()
        })
        .collect()
}

/// Column-major copy of a row-major `rows×cols` matrix.
fn transpose(x: &[i64], rows: usize, cols: usize) -> Vec<i64> {
    (0..rows * cols)
        .map(|i| x[(i % rows) * cols + i / rows])
        .collect()
}

fn bytes<T: Copy, const N: usize>(
    v: &[i64],
    f: impl Fn(i64) -> T,
    to: impl Fn(T) -> [u8; N],
) -> Vec<u8> {
    v.iter().flat_map(|&x| to(f(x))).collect()
}

fn f16s(v: &[i64]) -> Vec<u8> {
    bytes(v, half, u16::to_le_bytes)
}
fn f32s(v: &[i64]) -> Vec<u8> {
    bytes(v, |x| x as f32, f32::to_le_bytes)
}

/// A kernel, its input buffers' bytes, and the bytes its output must hold.
type Case = (&'static str, Vec<Vec<u8>>, Vec<u8>);

#[test]
fn wmma_kernels_give_the_exact_products() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut cases: Vec<Case> = Vec::new();
    {
        let (a, b, c) = (
            rng.matrix(256, -3, 3),
            rng.matrix(256, -3, 3),
            rng.matrix(256, -50, 50),
        );
        let d = product(16, 16, 16, &a, &b, &c);
        cases.push((
            "wmma_f16",
            vec![f16s(&a), f16s(&transpose(&b, 16, 16)), f32s(&c)],
            f32s(&d),
        ));
    }
    {
        let (a, b) = (rng.matrix(256, -3, 3), rng.matrix(256, -3, 3));
        let d = product(16, 16, 16, &a, &b, &[0; 256]);
        cases.push((
            "wmma_f16_half_acc",
            vec![f16s(&a), f16s(&b)],
            f16s(&transpose(&d, 16, 16)),
        ));
    }
    {
        // a: 32 rows of 24 (16 used), b: 16×8; d = 2·(a·b + 1).
        let a24 = rng.matrix(32 * 24, -3, 3);
        let a: Vec<i64> = (0..32 * 16).map(|i| a24[(i / 16) * 24 + i % 16]).collect();
        let b = rng.matrix(128, -3, 3);
        let d: Vec<i64> = product(32, 8, 16, &a, &b, &[1; 256])
            .iter()
            .map(|x| 2 * x)
            .collect();
        cases.push(("wmma_m32n8k16_shared", vec![f16s(&a24), f16s(&b)], f32s(&d)));
    }
    {
        let (a, b) = (rng.matrix(256, -8, 8), rng.matrix(256, -8, 8));
        let d = product(16, 16, 16, &a, &b, &[0; 256]);
        let b16 = |v: &[i64]| bytes(v, bf16, u16::to_le_bytes);
        cases.push((
            "wmma_bf16",
            vec![b16(&a), b16(&transpose(&b, 16, 16))],
            f32s(&d),
        ));
    }
    {
        let (a, b, c) = (
            rng.matrix(256, -128, 127),
            rng.matrix(256, -128, 127),
            rng.matrix(256, -1000, 1000),
        );
        let d = product(16, 16, 16, &a, &b, &c);
        let s8 = |v: &[i64]| v.iter().map(|&x| x as i8 as u8).collect::<Vec<u8>>();
        let s32 = |v: &[i64]| bytes(v, |x| x as i32, i32::to_le_bytes);
        cases.push((
            "wmma_s8",
            vec![s8(&a), s8(&transpose(&b, 16, 16)), s32(&c)],
            s32(&d),
        ));
    }
    {
        let (a, b) = (rng.matrix(128, -100, 100), rng.matrix(128, -100, 100));
        let d = product(16, 16, 8, &a, &b, &[0; 256]);
        cases.push(("wmma_tf32", vec![f32s(&a), f32s(&b)], f32s(&d)));
    }
    {
        let (a, b, c) = (
            rng.matrix(32, -1000, 1000),
            rng.matrix(32, -1000, 1000),
            rng.matrix(64, -1000, 1000),
        );
        let d = product(8, 8, 4, &a, &b, &c);
        let f64s = |v: &[i64]| bytes(v, |x| x as f64, f64::to_le_bytes);
        cases.push((
            "wmma_f64",
            vec![f64s(&a), f64s(&b), f64s(&c)],
            f64s(&transpose(&d, 8, 8)),
        ));
    }
    for ctx in common::contexts() {
        for (variant, ptx) in VARIANTS {
            let m = ctx
                .load_ptx(ptx)
                .unwrap_or_else(|e| panic!("{variant}: {e}"));
            for (name, inputs, want) in &cases {
                let bufs: Vec<_> = inputs.iter().map(|b| ctx.upload(b).unwrap()).collect();
                let out = ctx.alloc_zeroed::<u8>(want.len()).unwrap();
                let mut args: Vec<&dyn ferrocuda_driver::DeviceRepr> = bufs
                    .iter()
                    .map(|b| b as &dyn ferrocuda_driver::DeviceRepr)
                    .collect();
                args.push(&out);
                let s = ctx.default_stream();
                m.function(name)
                    .unwrap()
                    .launch(1u32, 32u32, 0, &s, &args)
                    .and_then(|()| s.synchronize())
                    .unwrap_or_else(|e| panic!("{name} [{variant}] on {:?}: {e}", ctx.device()));
                assert_eq!(
                    &out.to_vec().unwrap(),
                    want,
                    "{name} [{variant}] on {:?}",
                    ctx.device()
                );
            }
        }
    }
}
