//! The CUDA system functions device code calls: `vprintf` (`printf`), `__assertfail`
//! (`assert`), `malloc` and `free`.
//!
//! Each active lane makes its own call, in lane order. What kernels print is kept per block
//! and written out in block order when the launch ends (a GPU prints at the next
//! synchronisation, in an order of its own); a launch prints at most the 1 MiB of a GPU's
//! printf FIFO, and lines beyond it are lost, as there.

use super::{fault, le_read, printf, sr, Cta, Lanes, Space, Warp};
use crate::lower::{ArgSrc, RetDst, SystemCall};
use crate::{Error, Site};
use std::sync::atomic::Ordering;

/// The longest string `%s`, a format or an assertion message may be; a GPU stops at a NUL it
/// may never find, this stops here.
const MAX_STRING: usize = 1 << 16;

impl Cta<'_> {
    pub(super) fn system_call(
        &mut self,
        w: &mut Warp,
        exec: u32,
        sc: SystemCall,
        args: &[ArgSrc],
        rets: &[RetDst],
    ) -> Result<(), Error> {
        let mut assert_message = None;
        for l in Lanes(exec) {
            let base = w.regs[sr::FRAME as usize][l] as usize;
            let arg = |i: usize| -> u64 {
                match args.get(i) {
                    Some(ArgSrc::Reg(s)) => w.regs[*s as usize][l],
                    Some(&ArgSrc::Frame(off, size)) => {
                        le_read(&w.local[l], base + off as usize, size.min(8) as usize).unwrap_or(0)
                    }
                    None => 0,
                }
            };
            let result = match sc {
                SystemCall::Vprintf => {
                    let (fmt, buf) = (arg(0), arg(1));
                    let fmt = self.string(w, l, fmt)?;
                    let mut out = Vec::new();
                    let n = printf::format(
                        &fmt,
                        &mut |o, n| self.peek(w, l, buf.wrapping_add(o), n),
                        &mut |a| self.string(w, l, a),
                        &mut out,
                    )?;
                    let room = &self.l.printf_room;
                    let fits = room
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| {
                            r.checked_sub(out.len())
                        })
                        .is_ok();
                    if fits {
                        self.stdout.extend_from_slice(&out);
                    }
                    n as u32 as u64
                }
                SystemCall::AssertFail => {
                    let (message, file) = (self.string(w, l, arg(0))?, self.string(w, l, arg(1))?);
                    let (line, function) = (arg(2) as u32, self.string(w, l, arg(3))?);
                    let t = |d: u32| w.regs[(sr::TID + d) as usize][l];
                    let [bx, by, bz] = self.cta;
                    let text = format!(
                        "{}:{line}: {}: block: [{bx},{by},{bz}], thread: [{},{},{}] Assertion \
                         `{}` failed.",
                        String::from_utf8_lossy(&file),
                        String::from_utf8_lossy(&function),
                        t(0),
                        t(1),
                        t(2),
                        String::from_utf8_lossy(&message),
                    );
                    self.stderr.extend_from_slice(text.as_bytes());
                    self.stderr.push(b'\n');
                    assert_message.get_or_insert(text);
                    0
                }
                SystemCall::Malloc => self.l.heap.malloc(self.l.mem, arg(0)),
                SystemCall::Free => {
                    self.l.heap.free(self.l.mem, arg(0))?;
                    0
                }
            };
            match rets.first() {
                Some(&RetDst::Frame(off, size)) => {
                    let at = base + off as usize;
                    let n = size.min(8) as usize;
                    if let Some(dst) = w.local[l].get_mut(at..at + n) {
                        dst.copy_from_slice(&result.to_le_bytes()[..n]);
                    }
                }
                Some(&RetDst::Reg(s)) => w.regs[s as usize][l] = result,
                Some(RetDst::Discard) | None => {}
            }
        }
        match assert_message {
            Some(message) => Err(Error::Assert {
                message,
                at: Site::default(),
            }),
            None => Ok(()),
        }
    }

    /// One lane's read of `bytes` at the generic address `addr`, without touching the block's
    /// allocation cache (system calls are rare; their readers only borrow the block).
    fn peek(&self, w: &Warp, lane: usize, addr: u64, bytes: u32) -> Result<u64, Error> {
        if addr & (bytes as u64 - 1) != 0 {
            return Err(fault(addr, bytes, "load"));
        }
        let v = match Self::classify(addr) {
            (Space::Global, a) => self
                .l
                .mem
                .lookup(a)
                .and_then(|al| al.load(a - al.base, bytes)),
            (space, a) => self.read_block_space(w, lane, space, a, bytes),
        };
        v.ok_or_else(|| fault(addr, bytes, "load"))
    }

    /// The NUL-terminated string at the generic address `addr` (without the NUL).
    fn string(&self, w: &Warp, lane: usize, addr: u64) -> Result<Vec<u8>, Error> {
        let mut s = Vec::new();
        while s.len() < MAX_STRING {
            match self.peek(w, lane, addr.wrapping_add(s.len() as u64), 1)? as u8 {
                0 => break,
                c => s.push(c),
            }
        }
        Ok(s)
    }
}
