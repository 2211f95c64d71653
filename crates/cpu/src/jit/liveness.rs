//! Which registers are live where a thread stops (barriers, loop heads): only those are saved
//! to its register frame and loaded back when it resumes.

/// One instruction's effect on registers and where control goes next.
pub(super) struct Flow {
    /// Registers read (the guard included).
    pub(super) uses: Vec<u32>,
    /// Registers written.
    pub(super) defs: Vec<u32>,
    /// The writes always happen (no guard), so they end the old values' lives.
    pub(super) kills: bool,
    /// Instructions (indices into the same slice) that may run next.
    pub(super) succs: Vec<u32>,
}

/// For each index in `at`, the registers (below `nregs`) live on entry to that instruction.
pub(super) fn live_in(flows: &[Flow], nregs: usize, at: &[u32]) -> Vec<Vec<u32>> {
    let words = nregs.div_ceil(64).max(1);
    let n = flows.len();
    let mut live = vec![0u64; n * words];
    let mut out = vec![0u64; words];
    let mut changed = true;
    while changed {
        changed = false;
        for i in (0..n).rev() {
            let f = &flows[i];
            out.iter_mut().for_each(|w| *w = 0);
            for &s in &f.succs {
                let s = s as usize;
                for k in 0..words {
                    out[k] |= live[s * words + k];
                }
            }
            if f.kills {
                for &d in &f.defs {
                    out[d as usize / 64] &= !(1u64 << (d % 64));
                }
            }
            for &u in &f.uses {
                out[u as usize / 64] |= 1u64 << (u % 64);
            }
            let cur = &mut live[i * words..(i + 1) * words];
            if cur != &out[..] {
                cur.copy_from_slice(&out);
                changed = true;
            }
        }
    }
    at.iter()
        .map(|&i| {
            let row = &live[i as usize * words..(i as usize + 1) * words];
            (0..nregs as u32)
                .filter(|&r| row[r as usize / 64] >> (r % 64) & 1 != 0)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(uses: &[u32], defs: &[u32], succs: &[u32]) -> Flow {
        Flow {
            uses: uses.to_vec(),
            defs: defs.to_vec(),
            kills: true,
            succs: succs.to_vec(),
        }
    }

    #[test]
    fn loop_carried_registers_are_live_at_the_loop_head() {
        // 0: r0 = ..; 1: r1 = r0 (loop head); 2: r0 = r0 + r1, back to 1 or on to 3; 3: use r2.
        let flows = [
            flow(&[], &[0], &[1]),
            flow(&[0], &[1], &[2]),
            flow(&[0, 1], &[0], &[1, 3]),
            flow(&[2], &[], &[]),
        ];
        let l = live_in(&flows, 3, &[0, 1, 3]);
        assert_eq!(l[0], vec![2]);
        assert_eq!(l[1], vec![0, 2]);
        assert_eq!(l[2], vec![2]);
    }

    #[test]
    fn guarded_writes_keep_the_old_value_live() {
        let mut g = flow(&[1], &[0], &[1]);
        g.kills = false;
        let flows = [g, flow(&[0], &[], &[])];
        assert_eq!(live_in(&flows, 2, &[0]), vec![vec![0, 1]]);
    }
}
