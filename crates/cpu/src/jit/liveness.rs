//! Which registers are live where a thread stops (barriers, loop heads): only those are saved
//! to its register frame and loaded back when it resumes. And which of them the frame holds
//! already (`unchanged`), so that a stop need not save them again.

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
    rows(&live, words, nregs, at)
}

/// The registers set in the rows (of `words` words each) of `bits` at `at`.
fn rows(bits: &[u64], words: usize, nregs: usize, at: &[u32]) -> Vec<Vec<u32>> {
    at.iter()
        .map(|&i| {
            let row = &bits[i as usize * words..(i as usize + 1) * words];
            (0..nregs as u32)
                .filter(|&r| row[r as usize / 64] >> (r % 64) & 1 != 0)
                .collect()
        })
        .collect()
}

/// For each instruction in `at`: the registers (below `nregs`) that are the same as in the
/// thread's frame whenever control reaches it, because they were loaded from the frame where
/// the thread last resumed and not written since. `resumes` are the places the code resumes
/// at, with the registers loaded there; the code's entry loads nothing. Nothing flows past an
/// instruction whose `succs` the caller emptied (one that always stops the thread).
pub(super) fn unchanged(
    flows: &[Flow],
    nregs: usize,
    entry: u32,
    resumes: &[(u32, Vec<u32>)],
    at: &[u32],
) -> Vec<Vec<u32>> {
    let words = nregs.div_ceil(64).max(1);
    let n = flows.len();
    // Must-analysis: everything until shown otherwise.
    let mut inn = vec![u64::MAX; n * words];
    let mut seeds: Vec<Option<Vec<u64>>> = vec![None; n];
    let meet = |pc: usize, set: &[u64], seeds: &mut Vec<Option<Vec<u64>>>| {
        let e = seeds[pc].get_or_insert_with(|| vec![u64::MAX; words]);
        for k in 0..words {
            e[k] &= set[k];
        }
    };
    if (entry as usize) < n {
        meet(entry as usize, &vec![0; words], &mut seeds);
    }
    for (pc, regs) in resumes {
        let mut set = vec![0u64; words];
        for &r in regs {
            if (r as usize) < nregs {
                set[r as usize / 64] |= 1 << (r % 64);
            }
        }
        if (*pc as usize) < n {
            meet(*pc as usize, &set, &mut seeds);
        }
    }
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, f) in flows.iter().enumerate() {
        for &s in &f.succs {
            if (s as usize) < n {
                preds[s as usize].push(i);
            }
        }
    }
    let out = |inn: &[u64], i: usize| -> Vec<u64> {
        let mut o = inn[i * words..(i + 1) * words].to_vec();
        for &d in &flows[i].defs {
            if (d as usize) < nregs {
                o[d as usize / 64] &= !(1u64 << (d % 64));
            }
        }
        o
    };
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..n {
            let mut cur = seeds[i].clone().unwrap_or_else(|| vec![u64::MAX; words]);
            if seeds[i].is_none() && preds[i].is_empty() {
                // Unreachable: nothing known.
                cur.iter_mut().for_each(|w| *w = 0);
            }
            for &p in &preds[i] {
                let o = out(&inn, p);
                for k in 0..words {
                    cur[k] &= o[k];
                }
            }
            if inn[i * words..(i + 1) * words] != cur[..] {
                inn[i * words..(i + 1) * words].copy_from_slice(&cur);
                changed = true;
            }
        }
    }
    rows(&inn, words, nregs, at)
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
    fn registers_loaded_at_a_resume_and_not_written_stay_unchanged() {
        // 0 (entry): r0 = ..; 1 (resume, loads r0 and r1): r1 = ..; 2: stop.
        let flows = [
            flow(&[], &[0], &[1]),
            flow(&[0], &[1], &[2]),
            flow(&[0, 1], &[], &[]),
        ];
        let u = unchanged(&flows, 2, 0, &[(1, vec![0, 1])], &[1, 2]);
        // From the entry, r0 was written: nothing is unchanged at 1 or 2.
        assert_eq!(u, vec![Vec::<u32>::new(), vec![]]);
        // Without the path from the entry, r0 stays as loaded and r1 is written.
        let flows = [
            flow(&[], &[0], &[]),
            flow(&[0], &[1], &[2]),
            flow(&[0, 1], &[], &[]),
        ];
        let u = unchanged(&flows, 2, 0, &[(1, vec![0, 1])], &[1, 2]);
        assert_eq!(u, vec![vec![0, 1], vec![0]]);
    }

    #[test]
    fn guarded_writes_keep_the_old_value_live() {
        let mut g = flow(&[1], &[0], &[1]);
        g.kills = false;
        let flows = [g, flow(&[0], &[], &[])];
        assert_eq!(live_in(&flows, 2, &[0]), vec![vec![0, 1]]);
    }
}
