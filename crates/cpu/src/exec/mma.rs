//! `mma.sync`: the warp-wide matrix multiply-accumulate of the tensor cores.
//!
//! The 32 lanes of a warp hold fragments of `A` (m×k), `B` (k×n) and `C` (m×n) in their
//! registers, in the layouts the PTX ISA gives for each shape and type (lane `l` is in group
//! `g = l / 4` at `t = l % 4`); the executor gathers the matrices, computes `D = A·B + C` and
//! scatters `D` back the same way.
//!
//! Products of `f16`, `bf16` and `tf32` values are exact in `f64`, and so is the sum of a
//! fragment's products but for extreme exponent spreads; `D` is that sum rounded once to the
//! destination type. A GPU's tensor cores add in an order and with internal widths of their
//! own, so a result may differ from the GPU's in its last bit; integer-valued inputs (exact
//! everywhere) give the GPU's bits, which is how the layouts are tested.

use crate::fp;
use crate::lower::{MmaOp, MmaShape, MmaType};

/// Where element `i` of a lane's fragment of one operand lies: `(row, col)`.
fn position(op: &MmaOp, which: Operand, lane: usize, i: usize) -> (usize, usize) {
    let (g, t) = (lane / 4, lane % 4);
    use MmaShape::*;
    use MmaType::*;
    match (which, op.shape, op.a_ty) {
        (Operand::A, M16N8K16, F16 | Bf16) => {
            (g + 8 * ((i >> 1) & 1), 2 * t + (i & 1) + 8 * (i >> 2))
        }
        (Operand::A, M16N8K8, F16 | Bf16) => (g + 8 * (i >> 1), 2 * t + (i & 1)),
        (Operand::A, M16N8K8, _) => (g + 8 * (i & 1), t + 4 * (i >> 1)),
        (Operand::A, M16N8K4, _) => (g + 8 * i, t),
        (Operand::A, M16N8K32, _) => (g + 8 * ((i >> 2) & 1), 4 * t + (i & 3) + 16 * (i >> 3)),
        (Operand::A, M16N8K16, _) => (g + 8 * (i >> 2), 4 * t + (i & 3)),
        (Operand::A, M8N8K4, _) => (g, t),
        (Operand::B, M16N8K16, F16 | Bf16) => (2 * t + (i & 1) + 8 * (i >> 1), g),
        (Operand::B, M16N8K8, F16 | Bf16) => (2 * t + i, g),
        (Operand::B, M16N8K8, _) => (t + 4 * i, g),
        (Operand::B, M16N8K4, _) => (t, g),
        (Operand::B, M16N8K32, _) => (4 * t + (i & 3) + 16 * (i >> 2), g),
        (Operand::B, M16N8K16, _) => (4 * t + i, g),
        (Operand::B, M8N8K4, _) => (t, g),
        (Operand::C, M8N8K4, _) => (g, 2 * t + i),
        (Operand::C, _, _) => (g + 8 * (i >> 1), 2 * t + (i & 1)),
    }
}

#[derive(Clone, Copy)]
enum Operand {
    A,
    B,
    C,
}

/// Bits of one element of `ty`.
pub(super) fn bits(ty: MmaType) -> usize {
    match ty {
        MmaType::F16 | MmaType::Bf16 => 16,
        MmaType::S8 | MmaType::U8 => 8,
        MmaType::F64 => 64,
        _ => 32,
    }
}

/// Elements of `ty` one 32-bit register holds (a 64-bit register holds one `f64`).
pub(super) fn per_register(ty: MmaType) -> usize {
    (32 / bits(ty)).max(1)
}

/// Registers that hold `elements` of `ty`.
pub(super) fn registers_for(elements: usize, ty: MmaType) -> usize {
    elements.div_ceil(per_register(ty))
}

/// Element `i` of a lane's fragment, from its registers (`regs[r]` is the lane's value of the
/// fragment's register `r`), as `f64` (the float types) or as an integer.
pub(super) fn element(ty: MmaType, regs: &[u64], i: usize) -> f64 {
    let b = bits(ty);
    let per = per_register(ty);
    let (r, k) = (i / per, i % per);
    let raw = regs.get(r).copied().unwrap_or(0);
    let v = if b >= 32 {
        raw
    } else {
        (raw >> (k * b)) & ((1 << b) - 1)
    };
    match ty {
        MmaType::F16 => fp::f16_to_f64(v as u16),
        MmaType::Bf16 => fp::bf16_to_f64(v as u16),
        // `.tf32` operands: the low 13 fraction bits take no part.
        MmaType::Tf32 => f32::from_bits(v as u32 & !0x1fff) as f64,
        MmaType::F32 => f32::from_bits(v as u32) as f64,
        MmaType::F64 => f64::from_bits(v),
        MmaType::S8 => v as u8 as i8 as f64,
        MmaType::U8 => v as u8 as f64,
        MmaType::S32 => v as u32 as i32 as f64,
    }
}

/// `(m, n, k)` of a shape.
fn dims(shape: MmaShape) -> (usize, usize, usize) {
    match shape {
        MmaShape::M16N8K4 => (16, 8, 4),
        MmaShape::M16N8K8 => (16, 8, 8),
        MmaShape::M16N8K16 => (16, 8, 16),
        MmaShape::M16N8K32 => (16, 8, 32),
        MmaShape::M8N8K4 => (8, 8, 4),
    }
}

/// How many elements of each operand a lane holds.
fn per_lane(op: &MmaOp, which: Operand) -> usize {
    let (m, n, k) = dims(op.shape);
    match which {
        Operand::A => m * k / 32,
        Operand::B => k * n / 32,
        Operand::C => m * n / 32,
    }
}

/// Runs the warp's `mma` on its 32 lanes: `a[l]`, `b[l]`, `c[l]` are lane `l`'s fragment
/// registers; returns each lane's `D` registers.
pub(super) fn run(op: &MmaOp, a: &[Vec<u64>], b: &[Vec<u64>], c: &[Vec<u64>]) -> Vec<Vec<u64>> {
    let (m, n, k) = dims(op.shape);
    let mut am = vec![0f64; m * k];
    let mut bm = vec![0f64; k * n];
    let mut cm = vec![0f64; m * n];
    for lane in 0..32 {
        for i in 0..per_lane(op, Operand::A) {
            let (r, col) = position(op, Operand::A, lane, i);
            am[r * k + col] = element(op.a_ty, &a[lane], i);
        }
        for i in 0..per_lane(op, Operand::B) {
            let (r, col) = position(op, Operand::B, lane, i);
            bm[r * n + col] = element(op.b_ty, &b[lane], i);
        }
        for i in 0..per_lane(op, Operand::C) {
            let (r, col) = position(op, Operand::C, lane, i);
            cm[r * n + col] = element(op.c_ty, &c[lane], i);
        }
    }
    let dm = product((m, n, k), (&am, &bm, &cm), op.a_ty, op.d_ty, op.satfinite);
    let per = per_register(op.d_ty);
    let nd = per_lane(op, Operand::C);
    (0..32)
        .map(|lane| {
            let mut regs = vec![0u64; nd.div_ceil(per)];
            for i in 0..nd {
                let (r, col) = position(op, Operand::C, lane, i);
                let v = dm[r * n + col];
                if per == 1 {
                    regs[i] = v;
                } else {
                    regs[i / per] |= v << ((i % per) * bits(op.d_ty));
                }
            }
            regs
        })
        .collect()
}

/// `D = A·B + C` of row-major `m×k`, `k×n` and `m×n` matrices (elements as [`element`] gives
/// them), as the bits of `d_ty` elements: exact products, one final rounding (sequential fused
/// steps for `f64`; integer sums that wrap, or clamp with `.satfinite`).
pub(super) fn product(
    (m, n, k): (usize, usize, usize),
    (am, bm, cm): (&[f64], &[f64], &[f64]),
    a_ty: MmaType,
    d_ty: MmaType,
    satfinite: bool,
) -> Vec<u64> {
    let int = matches!(a_ty, MmaType::S8 | MmaType::U8);
    let mut dm = vec![0u64; m * n];
    for r in 0..m {
        for col in 0..n {
            dm[r * n + col] = if int {
                let mut s = cm[r * n + col] as i64;
                for kk in 0..k {
                    s += am[r * k + kk] as i64 * bm[kk * n + col] as i64;
                }
                let s = if satfinite {
                    s.clamp(i32::MIN as i64, i32::MAX as i64)
                } else {
                    s
                };
                s as i32 as u32 as u64
            } else if d_ty == MmaType::F64 {
                let mut s = cm[r * n + col];
                for kk in 0..k {
                    s = am[r * k + kk].mul_add(bm[kk * n + col], s);
                }
                s.to_bits()
            } else {
                let mut s = 0f64;
                for kk in 0..k {
                    s += am[r * k + kk] * bm[kk * n + col];
                }
                let s = s + cm[r * n + col];
                match d_ty {
                    MmaType::F16 => fp::f64_to_small(s, 5, 10) as u64,
                    _ => fp::canon32(s as f32),
                }
            };
        }
    }
    dm
}

/// How many registers each operand takes: `(a, b, c)` (`d` as `c`, in `c`'s type for `d`).
pub(crate) fn register_counts(
    shape: MmaShape,
    a_ty: MmaType,
    c_ty: MmaType,
    d_ty: MmaType,
) -> (usize, usize, usize, usize) {
    let (m, n, k) = dims(shape);
    (
        registers_for(m * k / 32, a_ty),
        registers_for(k * n / 32, a_ty),
        registers_for(m * n / 32, c_ty),
        registers_for(m * n / 32, d_ty),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(shape: MmaShape, a: MmaType, c: MmaType) -> MmaOp {
        MmaOp {
            shape,
            a_ty: a,
            b_ty: a,
            c_ty: c,
            d_ty: c,
            satfinite: false,
            d: Vec::new(),
            a: Vec::new(),
            b: Vec::new(),
            c: Vec::new(),
        }
    }

    /// Every element of every operand is held by exactly one lane and register slot.
    #[test]
    fn fragments_cover_each_matrix_once() {
        use MmaShape::*;
        use MmaType::*;
        for o in [
            op(M16N8K16, F16, F32),
            op(M16N8K8, F16, F32),
            op(M16N8K8, Tf32, F32),
            op(M16N8K4, Tf32, F32),
            op(M16N8K32, S8, S32),
            op(M16N8K16, S8, S32),
            op(M8N8K4, F64, F64),
        ] {
            let (m, n, k) = dims(o.shape);
            for (which, rows, cols) in [(Operand::A, m, k), (Operand::B, k, n), (Operand::C, m, n)]
            {
                let mut seen = vec![0; rows * cols];
                for lane in 0..32 {
                    for i in 0..per_lane(&o, which) {
                        let (r, c) = position(&o, which, lane, i);
                        assert!(r < rows && c < cols, "{:?}", o.shape);
                        seen[r * cols + c] += 1;
                    }
                }
                assert!(seen.iter().all(|&s| s == 1), "{:?} {:?}", o.shape, o.a_ty);
            }
        }
    }

    /// `D = A·B + C` with small integers in f16, laid out as the fragments say.
    #[test]
    fn f16_product_of_identity_and_counting_matrices() {
        let o = op(MmaShape::M16N8K16, MmaType::F16, MmaType::F32);
        let h = |x: f64| fp::f64_to_small(x, 5, 10) as u64;
        let (mut a, mut b, mut c) = (
            vec![vec![0u64; 4]; 32],
            vec![vec![0u64; 2]; 32],
            vec![vec![0u64; 4]; 32],
        );
        for lane in 0..32 {
            for i in 0..8 {
                let (r, col) = position(&o, Operand::A, lane, i);
                a[lane][i / 2] |= h(if r == col { 1.0 } else { 0.0 }) << (16 * (i % 2));
            }
            for i in 0..4 {
                let (r, col) = position(&o, Operand::B, lane, i);
                b[lane][i / 2] |= h((r * 8 + col) as f64) << (16 * (i % 2));
            }
            for i in 0..4 {
                c[lane][i] = (0.5f32).to_bits() as u64;
            }
        }
        let d = run(&o, &a, &b, &c);
        for lane in 0..32 {
            for i in 0..4 {
                let (r, col) = position(&o, Operand::C, lane, i);
                // I·B + 0.5: rows 0..16 of B (k = r).
                let want = (r * 8 + col) as f32 + 0.5;
                assert_eq!(f32::from_bits(d[lane][i] as u32), want, "lane {lane} i {i}");
            }
        }
    }
}
