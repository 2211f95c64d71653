//! `wmma`: the warp-level matrix API of CUDA C++ (`nvcuda::wmma`): `load`, `mma`, `store`.
//!
//! Unlike `mma.sync`, the PTX ISA leaves the layout of a `wmma` fragment in the lanes'
//! registers to the implementation: programs only fill fragments with `wmma.load` (or set every
//! element alike), multiply them, and write them out with `wmma.store`. The executor's layout:
//! slot `s` of lane `l` (slots counted over the fragment's registers, low half first) holds
//! element `(l · slots + s) mod (rows · cols)` of the matrix in row-major order, so a fragment
//! with more slots than elements (`f16` `a` and `b`) holds each element more than once.

use super::mma::{bits, element, per_register, product, registers_for};
use super::{per_lane, set_per_lane, whole_warp, Cta, Warp};
use crate::lower::{MmaType, WmmaFrag, WmmaMemOp, WmmaOp, NONE};
use crate::Error;

/// Element slots of one lane's fragment.
pub(crate) fn slots(f: &WmmaFrag) -> usize {
    f.regs * per_register(f.ty)
}

/// How many registers a fragment takes (PTX ISA: `f16` `a`/`b` fragments are always eight
/// `.f16x2` registers, whatever the shape; the others hold their elements once).
pub(crate) fn registers(ty: MmaType, rows: usize, cols: usize, which: u8) -> usize {
    if ty == MmaType::F16 && which != b'c' {
        8
    } else {
        registers_for(rows * cols / 32, ty)
    }
}

/// The element of `f` that slot `s` of lane `lane` holds (row-major index).
fn index(f: &WmmaFrag, lane: usize, s: usize) -> usize {
    (lane * slots(f) + s) % (f.rows * f.cols)
}

/// Lane `lane`'s registers of fragment `f` holding `elems` (row-major bits of each element).
pub(super) fn scatter(f: &WmmaFrag, elems: &[u64], lane: usize) -> Vec<u64> {
    let b = bits(f.ty);
    let per = per_register(f.ty);
    let mut regs = vec![0u64; f.regs];
    for s in 0..slots(f) {
        let v = elems[index(f, lane, s)];
        if per == 1 {
            regs[s] = v;
        } else {
            regs[s / per] |= (v & ((1u64 << b) - 1)) << ((s % per) * b);
        }
    }
    regs
}

/// The row-major bits of a fragment's elements, from the lanes' registers (`regs[l]`).
pub(super) fn gather(f: &WmmaFrag, regs: &[Vec<u64>]) -> Vec<u64> {
    let b = bits(f.ty);
    let per = per_register(f.ty);
    let n = slots(f);
    (0..f.rows * f.cols)
        .map(|e| {
            let (lane, s) = (e / n, e % n);
            let raw = regs[lane].get(s / per).copied().unwrap_or(0);
            if per == 1 {
                raw
            } else {
                (raw >> ((s % per) * b)) & ((1u64 << b) - 1)
            }
        })
        .collect()
}

/// `D = A·B + C` on the lanes' fragments; returns each lane's `D` registers.
pub(super) fn run(op: &WmmaOp, a: &[Vec<u64>], b: &[Vec<u64>], c: &[Vec<u64>]) -> Vec<Vec<u64>> {
    let values = |f: &WmmaFrag, regs: &[Vec<u64>]| -> Vec<f64> {
        gather(f, regs)
            .into_iter()
            .map(|v| element(f.ty, &[v], 0))
            .collect()
    };
    let (m, n, k) = (op.a.rows, op.b.cols, op.a.cols);
    let d = product(
        (m, n, k),
        (&values(&op.a, a), &values(&op.b, b), &values(&op.c, c)),
        op.a.ty,
        op.d.ty,
        op.satfinite,
    );
    (0..32).map(|lane| scatter(&op.d, &d, lane)).collect()
}

impl Cta<'_> {
    /// The first lane's address and stride (a `wmma` operand is the same in every lane), and
    /// the byte address of each element of the matrix, row-major.
    fn wmma_addresses(w: &Warp, m: &WmmaMemOp) -> Vec<u64> {
        let f = &m.frag;
        let base = w.regs[m.addr as usize][0].wrapping_add(m.off as u64);
        let stride = if m.stride == NONE {
            (if m.row_major { f.cols } else { f.rows }) as u64
        } else {
            w.regs[m.stride as usize][0] as u32 as u64
        };
        let bytes = (bits(f.ty) / 8) as u64;
        (0..f.rows * f.cols)
            .map(|e| {
                let (r, c) = ((e / f.cols) as u64, (e % f.cols) as u64);
                let at = if m.row_major {
                    r * stride + c
                } else {
                    c * stride + r
                };
                base.wrapping_add(at.wrapping_mul(bytes))
            })
            .collect()
    }

    pub(super) fn wmma_load(
        &mut self,
        w: &mut Warp,
        exec: u32,
        m: &WmmaMemOp,
    ) -> Result<(), Error> {
        whole_warp(exec, "wmma.load")?;
        let bytes = (bits(m.frag.ty) / 8) as u32;
        let mut elems = Vec::with_capacity(m.frag.rows * m.frag.cols);
        for a in Self::wmma_addresses(w, m) {
            elems.push(self.load(w, 0, m.space, a, bytes)?);
        }
        let regs: Vec<Vec<u64>> = (0..32).map(|l| scatter(&m.frag, &elems, l)).collect();
        set_per_lane(&mut w.regs, &m.regs, &regs);
        Ok(())
    }

    pub(super) fn wmma_store(
        &mut self,
        w: &mut Warp,
        exec: u32,
        m: &WmmaMemOp,
    ) -> Result<(), Error> {
        whole_warp(exec, "wmma.store")?;
        let bytes = (bits(m.frag.ty) / 8) as u32;
        let elems = gather(&m.frag, &per_lane(&w.regs, &m.regs));
        for (a, v) in Self::wmma_addresses(w, m).into_iter().zip(elems) {
            self.store(w, 0, m.space, a, bytes, v)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_reads_back_what_scatter_wrote() {
        for (ty, rows, cols, which) in [
            (MmaType::F16, 16, 16, b'a'),
            (MmaType::F16, 16, 8, b'b'),
            (MmaType::F32, 16, 16, b'c'),
            (MmaType::S8, 32, 16, b'a'),
            (MmaType::F64, 8, 8, b'c'),
        ] {
            let f = WmmaFrag {
                ty,
                rows,
                cols,
                regs: registers(ty, rows, cols, which),
            };
            let mask = if bits(ty) == 64 {
                u64::MAX
            } else {
                (1u64 << bits(ty)) - 1
            };
            let elems: Vec<u64> = (0..rows * cols)
                .map(|i| (i as u64 * 2654435761) & mask)
                .collect();
            let regs: Vec<Vec<u64>> = (0..32).map(|l| scatter(&f, &elems, l)).collect();
            assert!(slots(&f) * 32 >= rows * cols);
            assert_eq!(gather(&f, &regs), elems, "{ty:?} {rows}x{cols}");
        }
    }
}
