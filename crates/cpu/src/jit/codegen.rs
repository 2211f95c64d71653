//! Translating a lowered kernel into one Cranelift function that runs a pass over a block
//! (see the module documentation of `jit`).

use super::body::{check, flows, op_name, ret_site_slot, Body};
use super::liveness::{live_in, unchanged, Flow};
use super::{JitCtx, JitKernel, EXITED, PASS_DONE, PASS_FAULT, SLICE, STOP_SLICED, WAITING};
use crate::exec::compiled::{h_alu, h_atom, h_mem, h_misc, h_nan64, mem_code};
use crate::lower::{
    sr, ArgSrc, BinK, CallTarget, ICmp, Op, Program, RetDst, Slot, Space, TriK, NONE,
};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32, F64, I16, I32, I64, I8};
use cranelift_codegen::ir::{
    AbiParam, Block, BlockArg, InstBuilder, JumpTableData, MemFlagsData, SigRef, Signature, Type,
    Value,
};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Module};
use std::collections::HashMap;
use std::mem::offset_of;
use std::sync::Mutex;

mod vector;

type Ctx = JitCtx<'static, 'static>;

/// Where a thread resumes after it stopped.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Resume {
    /// The kernel's first instruction.
    Entry,
    /// A loop head, after a slice of backward branches.
    LoopHead,
    /// The instruction after a barrier, once the barrier is released.
    Barrier,
    /// Where the quad function leaves a quad's threads to the one-thread function, which runs
    /// each on from there: a conditional branch (or guarded exit) they take different ways,
    /// a shared-memory access whose check failed or whose guard they disagree on.
    Handoff,
}

/// Compiles `kernel`, or says why compiled code cannot run it.
///
/// `param_bytes` is the size of the kernel's parameters, which a launch checks its parameter
/// buffer against: loads of constant offsets inside it need no check of their own.
pub(crate) fn compile(prog: &Program, kernel: u32, param_bytes: u32) -> Result<JitKernel, String> {
    let body = check(prog, kernel)?;
    let carry = prog.nslots;
    // Registers, the carry flag, and each function's return site.
    let slots = prog.nslots + 1 + prog.funcs.len() as u32;
    // Kernels that qualify get a second function, four threads at a time (see `vector`); the
    // one-thread function then also runs some quads, from `JitCtx::first`.
    let want_quads = vector::enabled() && vector::qualifies(&body, prog).is_ok();

    // Resume points and the registers live at each: first those both functions resume at,
    // then the branches where only the one-thread function does.
    let entry = body.entry();
    let mut resumes: Vec<(Resume, u32)> = vec![(Resume::Entry, entry)];
    let mut index: HashMap<(Resume, u32), u32> = HashMap::new();
    index.insert((Resume::Entry, entry), 0);
    let mut add = |key: (Resume, u32), resumes: &mut Vec<(Resume, u32)>| {
        if let std::collections::hash_map::Entry::Vacant(e) = index.entry(key) {
            e.insert(resumes.len() as u32);
            resumes.push(key);
        }
    };
    for &(_, start, end) in &body.funcs {
        for pc in start..end {
            match &prog.insts[pc as usize].op {
                Op::Bra { target } if *target <= pc => {
                    add((Resume::LoopHead, *target), &mut resumes)
                }
                Op::Bar { .. } => add((Resume::Barrier, pc + 1), &mut resumes),
                _ => {}
            }
        }
    }
    let quad_points = resumes.len() as u32;
    let flows = flows(&body, prog, carry);
    let entry_live = live_in(&flows, slots as usize, &[entry]).remove(0);
    let plan = want_quads.then(|| {
        let quad_pcs: Vec<u32> = resumes.iter().map(|r| r.1).collect();
        std::rc::Rc::new(vector::plan::QuadPlan::new(
            &body,
            prog,
            &flows,
            carry,
            &entry_live,
            &quad_pcs,
        ))
    });
    if let Some(plan) = &plan {
        for pc in plan.handoffs(&body, prog) {
            add((Resume::Handoff, pc), &mut resumes);
        }
    }
    let at: Vec<u32> = resumes.iter().map(|r| r.1).collect();
    let mut live = live_in(&flows, slots as usize, &at);
    // Registers loaded from the kernel's parameters are loaded again where threads resume,
    // not saved where they stop.
    let reload = reloadable(&body, prog, &flows, &entry_live, param_bytes);
    let mut reloads: Vec<Vec<u32>> = live
        .iter_mut()
        .map(|l| {
            let loads = l.iter().filter_map(|s| reload.get(s).copied()).collect();
            l.retain(|s| !reload.contains_key(s));
            loads
        })
        .collect();
    // Every resume point loads the registers live there, and every stop saves them: past a
    // few thousand, compiling takes longer than the interpreter would run most launches (150
    // barriers with 60 registers live at each: 0.6 s). Without the quad function's hand-over
    // points first.
    let saved = |live: &[Vec<u32>]| live.iter().map(Vec::len).sum::<usize>();
    if saved(&live[..quad_points as usize]) > MAX_SAVED {
        return Err(format!(
            "{} registers live where threads stop (barriers and loop heads)",
            saved(&live[..quad_points as usize])
        ));
    }
    let mut plan = plan;
    if saved(&live) > 2 * MAX_SAVED {
        resumes.truncate(quad_points as usize);
        live.truncate(quad_points as usize);
        reloads.truncate(quad_points as usize);
        plan = None;
    }
    let reloads = std::rc::Rc::new(reloads);
    let want_quads = plan.is_some();
    // A thread's frame holds the slots live where it may stop, and no others: the frames of a
    // block's threads stay small enough for the host's first-level cache.
    let mut frame_index = vec![u32::MAX; slots as usize];
    let mut frame_slots = 0;
    for &s in live.iter().flatten() {
        if frame_index[s as usize] == u32::MAX {
            frame_index[s as usize] = frame_slots;
            frame_slots += 1;
        }
    }
    let frame_slots = frame_slots.max(1);
    let frame_index = std::rc::Rc::new(frame_index);

    // The host's ISA, with its features (FMA where present).
    let mut flags = settings::builder();
    let set = |f: &mut settings::Builder, k: &str, v: &str| {
        f.set(k, v)
            .map_err(|e| format!("cranelift setting {k}: {e}"))
    };
    set(&mut flags, "opt_level", "speed")?;
    set(&mut flags, "use_colocated_libcalls", "false")?;
    set(&mut flags, "is_pic", "false")?;
    // Checking the IR between passes took half the compile time; builds with debug
    // assertions (and so the fuzzer) keep it.
    set(
        &mut flags,
        "enable_verifier",
        if cfg!(debug_assertions) {
            "true"
        } else {
            "false"
        },
    )?;
    let isa = cranelift_native::builder()
        .map_err(|e| format!("host not supported: {e}"))?
        .finish(settings::Flags::new(flags))
        .map_err(|e| format!("host not supported: {e}"))?;
    let mut module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
    let call_conv = module.isa().default_call_conv();
    let mut tramp_ids = Vec::new();
    for (i, nargs) in COLD_HELPERS {
        let f = cold_helper(i);
        tramp_ids.push((f, trampoline(&mut module, f, nargs, call_conv)?));
    }
    let (mut cx, trampolines) = pass_context(&mut module, &tramp_ids);
    let single_pass = resumes.len() == 1;
    let mut fbcx = FunctionBuilderContext::new();
    let mut site_bytes = Vec::new();
    {
        let b = FunctionBuilder::new(&mut cx.func, &mut fbcx);
        let mut t = Translator::new(b, &body, prog, call_conv, carry, frame_slots);
        t.frame_index = frame_index.clone();
        t.reloads = reloads.clone();
        t.trampolines = trampolines;
        t.from_first = want_quads;
        t.quad_points = if want_quads { quad_points } else { 0 };
        t.vplan = plan.clone();
        t.param_bytes = param_bytes as u64;
        t.run(
            &resumes,
            &live,
            &mut site_bytes,
            module.isa().frontend_config(),
        )?;
    }
    let dump = std::env::var_os("FERROCUDA_CPU_JIT_DUMP").is_some();
    let id = define(&mut module, &mut cx, "kernel", dump)?;

    // The quad functions are optional: if Cranelift cannot compile one, the kernel runs one
    // thread at a time (or through the whole quad function).
    let unchanged = want_quads
        .then(|| quad_unchanged(&body, prog, &flows, slots, &resumes, &live, quad_points));
    let mut quad_function = |region: Option<u32>, site_bytes: &mut Vec<u32>| {
        let (mut cx, trampolines) = pass_context(&mut module, &tramp_ids);
        let mut sb = site_bytes.clone();
        // Translating it must not cost the kernel its one-thread function, even on a panic.
        let translated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut fbcx = FunctionBuilderContext::new();
            let b = FunctionBuilder::new(&mut cx.func, &mut fbcx);
            let mut t = Translator::new(b, &body, prog, call_conv, carry, frame_slots);
            t.frame_index = frame_index.clone();
            t.reloads = reloads.clone();
            t.trampolines = trampolines;
            t.param_bytes = param_bytes as u64;
            t.quad_points = quad_points;
            t.vplan = plan.clone();
            t.vunchanged = unchanged.clone().unwrap_or_default();
            t.emit_only = region.map(|p| reach_to_barriers(prog, &flows, resumes[p as usize].1));
            t.run_quads(
                &resumes,
                &live,
                quad_points,
                region,
                &mut sb,
                module.isa().frontend_config(),
            )
        }));
        let mut id = None;
        if let Ok(Ok(())) = translated {
            let name = match region {
                Some(p) => format!("barrier{p}"),
                None => "quads".into(),
            };
            if let Ok(f) = define(&mut module, &mut cx, &name, dump) {
                *site_bytes = sb;
                id = Some(f);
            }
        }
        module.clear_context(&mut cx);
        id
    };
    let quads = want_quads
        .then(|| quad_function(None, &mut site_bytes))
        .flatten();
    // Past a barrier every quad usually resumes at the same point: a function for that point
    // alone runs a loop of the code to the next barrier, without the dispatch among all the
    // points and with the registers of that code alone to allocate.
    let mut barriers = Vec::new();
    if quads.is_some() && quad_points > 1 {
        let mut points: Vec<u32> = (1..quad_points)
            .filter(|&p| resumes[p as usize].0 == Resume::Barrier)
            .collect();
        if !points.is_empty() && points.len() <= MAX_BARRIER_FUNCTIONS {
            // And the code from the kernel's entry to the first barriers, for a block's first
            // round.
            points.push(0);
            barriers = vec![None; quad_points as usize];
            for p in points {
                barriers[p as usize] = quad_function(Some(p), &mut site_bytes);
            }
        }
    }
    module
        .finalize_definitions()
        .map_err(|e| format!("cranelift: {e}"))?;
    let code = module.get_finalized_function(id);
    let quads = quads.map(|id| module.get_finalized_function(id));
    let barriers = barriers
        .into_iter()
        .map(|f| f.map(|id| module.get_finalized_function(id)))
        .collect();
    Ok(JitKernel {
        module: Mutex::new(Some(module)),
        code,
        frame_slots,
        site_bytes,
        single_pass,
        one_round: quad_points == 1,
        quads,
        barriers,
        quad_points,
        resume_points: resumes.len() as u32,
    })
}

/// Per instruction where the quad function may stop (a barrier, a backward branch, a branch
/// or shared-memory access where it may hand its threads over): the registers the frame holds
/// already there, because the quad loaded them where it resumed and has not written them
/// since.
fn quad_unchanged(
    body: &Body,
    prog: &Program,
    flows: &[Flow],
    nregs: u32,
    resumes: &[(Resume, u32)],
    live: &[Vec<u32>],
    quad_points: u32,
) -> HashMap<u32, std::collections::HashSet<Slot>> {
    let Some((_, start, end)) = body.func_of(body.entry()) else {
        return HashMap::new();
    };
    // The quad function always stops at a barrier, and resumes only at its quad points.
    let flows: Vec<Flow> = flows
        .iter()
        .enumerate()
        .map(|(pc, f)| Flow {
            uses: Vec::new(),
            defs: f.defs.clone(),
            kills: f.kills,
            succs: match prog.insts[pc].op {
                Op::Bar { .. } => Vec::new(),
                _ => f.succs.clone(),
            },
        })
        .collect();
    let points: Vec<(u32, Vec<u32>)> = (1..quad_points as usize)
        .map(|i| (resumes[i].1, live[i].clone()))
        .collect();
    let stops: Vec<u32> = (start..end)
        .filter(|&pc| {
            let inst = &prog.insts[pc as usize];
            match &inst.op {
                Op::Bar { .. } | Op::Ld { .. } | Op::St { .. } => true,
                Op::Bra { target } => *target <= pc || inst.guard != NONE,
                Op::Exit | Op::Ret => inst.guard != NONE,
                _ => false,
            }
        })
        .collect();
    let sets = unchanged(&flows, nregs as usize, body.entry(), &points, &stops);
    stops
        .into_iter()
        .zip(sets)
        .map(|(pc, s)| (pc, s.into_iter().collect()))
        .collect()
}

/// Registers every thread of a block holds the same value in wherever they are live: written
/// once, by a load of a kernel parameter inside the parameters (at a constant offset), and not
/// read before. By register: that load.
fn reloadable(
    body: &Body,
    prog: &Program,
    flows: &[Flow],
    entry_live: &[Slot],
    param_bytes: u32,
) -> HashMap<Slot, u32> {
    let mut defs: HashMap<Slot, Vec<u32>> = HashMap::new();
    for &(_, start, end) in &body.funcs {
        for pc in start..end {
            for &d in &flows[pc as usize].defs {
                defs.entry(d).or_default().push(pc);
            }
        }
    }
    let kernel = body.func_of(body.entry()).map_or(0..0, |f| f.1..f.2);
    defs.into_iter()
        .filter_map(|(slot, pcs)| {
            let [pc] = pcs[..] else {
                return None;
            };
            let inst = &prog.insts[pc as usize];
            let Op::Ld {
                space: Space::KParam,
                n: 1,
                addr,
                off,
                bytes,
                ..
            } = &inst.op
            else {
                return None;
            };
            let at = body.consts.get(addr)?.wrapping_add(*off as u64);
            let fits = at % *bytes as u64 == 0
                && at
                    .checked_add(*bytes as u64)
                    .is_some_and(|e| e <= param_bytes as u64);
            (fits
                && inst.guard == NONE
                && kernel.contains(&pc)
                && body.is_reg(slot)
                && !entry_live.contains(&slot))
            .then_some((slot, pc))
        })
        .collect()
}

/// Per instruction: whether a quad that resumes at `from` can reach it before it stops at a
/// barrier.
fn reach_to_barriers(prog: &Program, flows: &[Flow], from: u32) -> Vec<bool> {
    let mut seen = vec![false; flows.len()];
    let mut todo = vec![from];
    while let Some(pc) = todo.pop() {
        if std::mem::replace(&mut seen[pc as usize], true) {
            continue;
        }
        if !matches!(prog.insts[pc as usize].op, Op::Bar { .. }) {
            todo.extend(&flows[pc as usize].succs);
        }
    }
    seen
}

/// The most registers a kernel may save over all the places its threads stop (see
/// `compile`).
const MAX_SAVED: usize = 2048;

/// The most barriers a kernel gets a quad function each for (each costs about as much
/// compiling as the whole quad function).
const MAX_BARRIER_FUNCTIONS: usize = 8;

/// The condition of an integer `setp`.
fn int_cc(cmp: ICmp, signed: bool) -> IntCC {
    match (cmp, signed) {
        (ICmp::Eq, _) => IntCC::Equal,
        (ICmp::Ne, _) => IntCC::NotEqual,
        (ICmp::Lt, true) => IntCC::SignedLessThan,
        (ICmp::Le, true) => IntCC::SignedLessThanOrEqual,
        (ICmp::Gt, true) => IntCC::SignedGreaterThan,
        (ICmp::Ge, true) => IntCC::SignedGreaterThanOrEqual,
        (ICmp::Lt, false) => IntCC::UnsignedLessThan,
        (ICmp::Le, false) => IntCC::UnsignedLessThanOrEqual,
        (ICmp::Gt, false) => IntCC::UnsignedGreaterThan,
        (ICmp::Ge, false) => IntCC::UnsignedGreaterThanOrEqual,
    }
}

/// A context for a pass function (`extern "C" fn(*mut JitCtx) -> u32`), with the trampolines
/// (by helper) declared in it.
fn pass_context(
    module: &mut JITModule,
    trampolines: &[(usize, cranelift_module::FuncId)],
) -> (
    cranelift_codegen::Context,
    HashMap<usize, cranelift_codegen::ir::FuncRef>,
) {
    let mut cx = module.make_context();
    cx.func.signature = module.make_signature();
    cx.func.signature.params.push(AbiParam::new(I64));
    cx.func.signature.returns.push(AbiParam::new(I32));
    let refs = trampolines
        .iter()
        .map(|&(f, id)| (f, declare_far(module, id, &mut cx.func)))
        .collect();
    (cx, refs)
}

/// Declares function `id` of `module` in `func`, called through its absolute address: the JIT
/// places each function in memory of its own, which can lie beyond a 32-bit call's reach.
fn declare_far(
    module: &mut JITModule,
    id: cranelift_module::FuncId,
    func: &mut cranelift_codegen::ir::Function,
) -> cranelift_codegen::ir::FuncRef {
    let f = module.declare_func_in_func(id, func);
    func.dfg.ext_funcs[f].colocated = false;
    f
}

/// Compiles the function in `cx` into `module` (printing its IR and machine code when
/// `dump`).
fn define(
    module: &mut JITModule,
    cx: &mut cranelift_codegen::Context,
    name: &str,
    dump: bool,
) -> Result<cranelift_module::FuncId, String> {
    if dump {
        cx.set_disasm(true);
        eprintln!("{name}:\n{}", cx.func.display());
    }
    let id = module
        .declare_anonymous_function(&cx.func.signature)
        .map_err(|e| format!("cranelift: {e}"))?;
    let r = module
        .define_function(id, cx)
        .map_err(|e| format!("cranelift: {e:?}"));
    if dump {
        if let Some(c) = cx.compiled_code() {
            eprintln!("{}", c.vcode.as_deref().unwrap_or(""));
        }
    }
    module.clear_context(cx);
    r.map(|()| id)
}

struct Translator<'a, 'b> {
    b: FunctionBuilder<'b>,
    body: &'a Body,
    prog: &'a Program,
    carry: u32,
    frame_slots: u32,
    /// Per slot: its place in the frame (slots never saved have none).
    frame_index: std::rc::Rc<Vec<u32>>,
    /// Per resume point: the parameter loads that give the registers live there that are
    /// loaded again instead of saved (see `reloadable`).
    reloads: std::rc::Rc<Vec<Vec<u32>>>,
    vars: HashMap<Slot, Variable>,
    t: Variable,
    tid: [Variable; 3],
    budget: Variable,
    ctx: Option<Value>,
    /// Cranelift block of each leader instruction.
    blocks: HashMap<u32, Block>,
    next_thread: Block,
    fault: Block,
    helper_sigs: HashMap<usize, SigRef>,
    call_conv: cranelift_codegen::isa::CallConv,
    fma: bool,
    resume_index: HashMap<(Resume, u32), u32>,
    live: Vec<Vec<u32>>,
    param_bytes: u64,
    /// The kernel reads `%tid.y` or `%tid.z`.
    reads_tid_yz: bool,
    /// Per call instruction: the block it returns to.
    return_blocks: std::collections::BTreeMap<u32, Block>,
    /// The global memory instructions' allocation entries (`JitCtx::sites`), loaded once.
    sites: Option<Value>,
    /// Values known to fit in 32 bits (no mask needed to write them to a 32-bit register).
    narrow: std::collections::HashSet<Value>,
    /// Per cold helper (by address): its trampoline.
    trampolines: HashMap<usize, cranelift_codegen::ir::FuncRef>,
    /// The quad function's registers, its first thread and that thread's `%tid` (see
    /// `vector`).
    vvars: HashMap<Slot, vector::VVar>,
    /// What the quad function knows of the kernel (see `vector::plan`), in both functions of
    /// a kernel that has one.
    vplan: Option<std::rc::Rc<vector::plan::QuadPlan>>,
    /// Per group of shared-memory accesses (by its first access): lane 0's base address,
    /// once checked.
    vgroup_checks: HashMap<u32, Value>,
    /// Per instruction where the quad function may stop: the registers the quad's frame
    /// holds already there (see `liveness::unchanged`).
    vunchanged: HashMap<u32, std::collections::HashSet<Slot>>,
    /// Instructions the quad function runs lane by lane.
    vlanes: u32,
    /// Predicate lanes (0 or 1) the quad function made from a lane mask, and that mask.
    vmasks: HashMap<Value, Value>,
    vt: Variable,
    /// The quad's register frame (advanced with `vt`).
    vframe: Variable,
    /// The quad function read `vtid` or `vframe` (else its thread loop need not advance them).
    vtid_used: bool,
    vframe_used: bool,
    /// The quad's lane the one-thread code runs as, in the quad function.
    lane: Option<u32>,
    /// Where the function for one barrier emits code (instructions it can reach from there);
    /// everywhere when `None`.
    emit_only: Option<Vec<bool>>,
    vtid: [Variable; 3],
    /// Where a quad's threads exit.
    vexit: Block,
    /// The site entry the next global access uses instead of one of its own (a quad's
    /// lane-by-lane access shares its vector access's entry).
    force_site: Option<u32>,
    /// The pass starts at thread `JitCtx::first` rather than 0.
    from_first: bool,
    /// Resume points below this are also the quad function's (0 without one): the one-thread
    /// function records those as `point + resumes` (see `JitKernel::resume_points`).
    quad_points: u32,
}

const FLAGS: MemFlagsData = MemFlagsData::trusted();

/// Loads of memory no one writes while a pass runs (the context's fields other than the
/// helpers' results, the kernel's parameters): Cranelift may merge them and hoist them out of
/// the thread loop.
fn invariant() -> MemFlagsData {
    FLAGS.with_readonly().with_can_move()
}

/// The helpers called off the straight line (an access the inline check did not pass, a NaN
/// result of `f64` arithmetic), with their number of arguments after the context.
const COLD_HELPERS: [(usize, usize); 2] = [(0, 4), (1, 5)];

fn cold_helper(i: usize) -> usize {
    match i {
        0 => h_mem as *const () as usize,
        _ => h_nan64 as *const () as usize,
    }
}

/// Defines a function of the `preserve_all` convention that calls `helper` (C convention)
/// with its arguments and leaves the result in the context's `ret`. Compiled code calls the
/// helpers of its slow paths through these: such a call clobbers no register, so the values
/// the thread loop keeps (parameters, pointers, loop counters) stay in registers instead of
/// being spilled around every slow path.
fn trampoline(
    module: &mut JITModule,
    helper: usize,
    nargs: usize,
    call_conv: cranelift_codegen::isa::CallConv,
) -> Result<cranelift_module::FuncId, String> {
    let mut cx = module.make_context();
    cx.func.signature.call_conv = cranelift_codegen::isa::CallConv::PreserveAll;
    let mut sig = Signature::new(call_conv);
    for _ in 0..=nargs {
        cx.func.signature.params.push(AbiParam::new(I64));
        sig.params.push(AbiParam::new(I64));
    }
    sig.returns.push(AbiParam::new(I64));
    let target = module.isa().frontend_config();
    let mut fbcx = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut cx.func, &mut fbcx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let args = b.block_params(entry).to_vec();
        let sig = b.import_signature(sig);
        let callee = b.ins().iconst(I64, helper as i64);
        let c = b.ins().call_indirect(sig, callee, &args);
        let r = b.inst_results(c)[0];
        b.ins()
            .store(FLAGS, r, args[0], offset_of!(Ctx, ret) as i32);
        b.ins().return_(&[]);
        b.seal_all_blocks();
        b.finalize(target);
    }
    let id = module
        .declare_anonymous_function(&cx.func.signature)
        .map_err(|e| format!("cranelift: {e}"))?;
    module
        .define_function(id, &mut cx)
        .map_err(|e| format!("cranelift: {e:?}"))?;
    module.clear_context(&mut cx);
    Ok(id)
}

impl<'a, 'b> Translator<'a, 'b> {
    fn new(
        mut b: FunctionBuilder<'b>,
        body: &'a Body,
        prog: &'a Program,
        call_conv: cranelift_codegen::isa::CallConv,
        carry: u32,
        frame_slots: u32,
    ) -> Self {
        let t = b.declare_var(I64);
        let tid = [b.declare_var(I64), b.declare_var(I64), b.declare_var(I64)];
        let budget = b.declare_var(I64);
        let next_thread = b.create_block();
        let fault = b.create_block();
        b.set_cold_block(fault);
        let vt = b.declare_var(I64);
        let vframe = b.declare_var(I64);
        let vtid = [b.declare_var(I64), b.declare_var(I64), b.declare_var(I64)];
        let vexit = b.create_block();
        #[cfg(target_arch = "x86_64")]
        let fma = std::is_x86_feature_detected!("fma");
        #[cfg(not(target_arch = "x86_64"))]
        let fma = cfg!(target_arch = "aarch64");
        Translator {
            b,
            body,
            prog,
            carry,
            frame_slots,
            frame_index: Default::default(),
            reloads: Default::default(),
            vars: HashMap::new(),
            t,
            tid,
            budget,
            ctx: None,
            blocks: HashMap::new(),
            next_thread,
            fault,
            helper_sigs: HashMap::new(),
            call_conv,
            fma,
            resume_index: HashMap::new(),
            live: Vec::new(),
            param_bytes: 0,
            reads_tid_yz: false,
            return_blocks: std::collections::BTreeMap::new(),
            narrow: std::collections::HashSet::new(),
            sites: None,
            trampolines: HashMap::new(),
            vvars: HashMap::new(),
            vplan: None,
            vgroup_checks: HashMap::new(),
            vunchanged: HashMap::new(),
            vlanes: 0,
            vmasks: HashMap::new(),
            vt,
            vframe,
            vtid_used: false,
            vframe_used: false,
            lane: None,
            emit_only: None,
            vtid,
            vexit,
            force_site: None,
            from_first: false,
            quad_points: 0,
        }
    }

    fn ctx(&self) -> Value {
        self.ctx.expect("the context is the function's parameter")
    }

    /// A field of the context that stays the same for the whole pass (not `status`,
    /// `fault_pc`, `scratch` or `ret`, which helpers write). Cranelift hoists these loads out
    /// of the thread loop.
    fn cf(&mut self, off: usize) -> Value {
        let ctx = self.ctx();
        self.b.ins().load(I64, invariant(), ctx, off as i32)
    }

    fn iconst(&mut self, v: u64) -> Value {
        self.b.ins().iconst(I64, v as i64)
    }

    fn var(&mut self, s: Slot) -> Variable {
        if let Some(&v) = self.vars.get(&s) {
            return v;
        }
        let v = self.b.declare_var(I64);
        self.vars.insert(s, v);
        v
    }

    /// The value of slot `s` for the running thread.
    fn get(&mut self, s: Slot) -> Value {
        if s == NONE {
            return self.iconst(0);
        }
        if let Some(&c) = self.body.consts.get(&s) {
            return self.iconst(c);
        }
        if s == self.carry || s >= sr::FIXED || (s == sr::FRAME && self.body.calls) {
            let v = self.var(s);
            return self.b.use_var(v);
        }
        let lane = |tr: &mut Self| {
            let t = tr.b.use_var(tr.t);
            tr.b.ins().band_imm_s(t, 31)
        };
        match s {
            _ if (sr::TID..sr::TID + 3).contains(&s) => {
                self.reads_tid_yz |= s != sr::TID;
                let k = (s - sr::TID) as usize;
                match self.lane {
                    // A lane of a quad: its quad's `%tid`, with `%tid.x` stepped to the lane.
                    Some(lane) => {
                        self.vtid_used = true;
                        let v = self.b.use_var(self.vtid[k]);
                        if k == 0 {
                            self.b.ins().iadd_imm_s(v, lane as i64)
                        } else {
                            v
                        }
                    }
                    None => self.b.use_var(self.tid[k]),
                }
            }
            _ if (sr::NTID..sr::NTID + 3).contains(&s) => {
                self.cf(offset_of!(Ctx, ntid) + 8 * (s - sr::NTID) as usize)
            }
            _ if (sr::CTAID..sr::CTAID + 3).contains(&s) => {
                self.cf(offset_of!(Ctx, ctaid) + 8 * (s - sr::CTAID) as usize)
            }
            _ if (sr::NCTAID..sr::NCTAID + 3).contains(&s) => {
                self.cf(offset_of!(Ctx, nctaid) + 8 * (s - sr::NCTAID) as usize)
            }
            sr::LANEID => lane(self),
            sr::WARPID => {
                let t = self.b.use_var(self.t);
                self.b.ins().ushr_imm_s(t, 5)
            }
            sr::NWARPID => self.iconst(64),
            sr::SMID => self.cf(offset_of!(Ctx, smid)),
            sr::NSMID => self.cf(offset_of!(Ctx, nsmid)),
            sr::GRIDID => self.cf(offset_of!(Ctx, gridid)),
            sr::DYN_SMEM => self.cf(offset_of!(Ctx, dyn_smem)),
            sr::TOTAL_SMEM => self.cf(offset_of!(Ctx, total_smem)),
            sr::DYN_BASE => self.cf(offset_of!(Ctx, dyn_base)),
            sr::LM_EQ | sr::LM_LE | sr::LM_LT | sr::LM_GE | sr::LM_GT => {
                let l = lane(self);
                let one = self.iconst(1);
                let ones = self.iconst(0xffff_ffff);
                let r = match s {
                    sr::LM_EQ => self.b.ins().ishl(one, l),
                    sr::LM_LE => {
                        let two = self.iconst(2);
                        let x = self.b.ins().ishl(two, l);
                        self.b.ins().iadd_imm_s(x, -1)
                    }
                    sr::LM_LT => {
                        let x = self.b.ins().ishl(one, l);
                        self.b.ins().iadd_imm_s(x, -1)
                    }
                    sr::LM_GE => self.b.ins().ishl(ones, l),
                    _ => {
                        let l1 = self.b.ins().iadd_imm_s(l, 1);
                        self.b.ins().ishl(ones, l1)
                    }
                };
                self.b.ins().band_imm_s(r, 0xffff_ffff)
            }
            _ => self.iconst(0),
        }
    }

    /// Writes `v` (masked to `wm`) to slot `d`.
    fn set(&mut self, d: Slot, v: Value, wm: u64) {
        if d == NONE {
            return;
        }
        let v = self.mask(v, wm);
        let var = self.var(d);
        self.b.def_var(var, v);
    }

    fn mask(&mut self, v: Value, wm: u64) -> Value {
        if wm == u64::MAX || (wm == 0xffff_ffff && self.narrow.contains(&v)) {
            v
        } else if wm == 0xffff_ffff {
            self.low32(v)
        } else {
            self.b.ins().band_imm_s(v, wm as i64)
        }
    }

    /// The low 32 bits, zero-extended: as a narrowing and a widening, which is one 32-bit move
    /// on x86-64 (where masking would load the mask from memory) and which the optimizer folds
    /// into 32-bit uses.
    fn low32(&mut self, v: Value) -> Value {
        let n = self.b.ins().ireduce(I32, v);
        self.b.ins().uextend(I64, n)
    }

    fn sext_from(&mut self, v: Value, ty: Type) -> Value {
        let n = self.b.ins().ireduce(ty, v);
        self.b.ins().sextend(I64, n)
    }

    fn f32_of(&mut self, v: Value) -> Value {
        let n = self.b.ins().ireduce(I32, v);
        self.b.ins().bitcast(F32, MemFlagsData::new(), n)
    }

    /// The bits of an `f64` result, a NaN replaced by the one the GPU gives (an operand's,
    /// quieted, in the order `ops` lists them), computed off the straight line.
    fn nan64(&mut self, r: Value, ops: &[Value]) -> Value {
        let bits = self.b.ins().bitcast(I64, MemFlagsData::new(), r);
        let nan = self.b.ins().fcmp(FloatCC::Unordered, r, r);
        let join = self.b.create_block();
        self.b.append_block_param(join, I64);
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        self.b
            .ins()
            .brif(nan, slow, &[], join, &[BlockArg::Value(bits)]);
        self.b.switch_to_block(slow);
        let mut args = vec![bits];
        for i in 0..3 {
            let v = match ops.get(i) {
                Some(&v) => v,
                None => self.iconst(0),
            };
            args.push(v);
        }
        let n = self.iconst(ops.len() as u64);
        args.push(n);
        let p = self.call_cold(h_nan64 as *const () as usize, &args);
        self.b.ins().jump(join, &[BlockArg::Value(p)]);
        self.b.switch_to_block(join);
        self.b.block_params(join)[0]
    }

    /// The bits of an `f32` result, NaN made the GPU's canonical NaN.
    fn canon32(&mut self, f: Value) -> Value {
        let bits = self.b.ins().bitcast(I32, MemFlagsData::new(), f);
        let bits = self.b.ins().uextend(I64, bits);
        let nan = self.b.ins().fcmp(FloatCC::Unordered, f, f);
        let c = self.iconst(crate::fp::NAN32 as u64);
        let r = self.b.ins().select(nan, c, bits);
        self.narrow.insert(r);
        r
    }

    fn sig(&mut self, nargs: usize) -> SigRef {
        if let Some(&s) = self.helper_sigs.get(&nargs) {
            return s;
        }
        let mut sig = Signature::new(self.call_conv);
        for _ in 0..nargs {
            sig.params.push(AbiParam::new(I64));
        }
        sig.returns.push(AbiParam::new(I64));
        let s = self.b.import_signature(sig);
        self.helper_sigs.insert(nargs, s);
        s
    }

    /// Calls helper `f` (an `extern "C"` function of the executor) with the context first.
    fn call(&mut self, f: usize, args: &[Value]) -> Value {
        let sig = self.sig(args.len() + 1);
        let callee = self.iconst(f as u64);
        let mut all = vec![self.ctx()];
        all.extend_from_slice(args);
        let c = self.b.ins().call_indirect(sig, callee, &all);
        self.b.inst_results(c)[0]
    }

    /// Calls helper `f` from a block off the straight line, through its trampoline.
    fn call_cold(&mut self, f: usize, args: &[Value]) -> Value {
        let Some(&fref) = self.trampolines.get(&f) else {
            return self.call(f, args);
        };
        let mut all = vec![self.ctx()];
        all.extend_from_slice(args);
        self.b.ins().call(fref, &all);
        let ctx = self.ctx();
        self.b
            .ins()
            .load(I64, FLAGS, ctx, offset_of!(Ctx, ret) as i32)
    }

    /// After a helper that may fault: on to the fault exit if it did.
    fn check_status(&mut self, pc: u32) {
        let ctx = self.ctx();
        let st = self
            .b
            .ins()
            .load(I64, FLAGS, ctx, offset_of!(Ctx, status) as i32);
        let cont = self.b.create_block();
        let pcv = self.iconst(pc as u64);
        self.b
            .ins()
            .brif(st, self.fault, &[BlockArg::Value(pcv)], cont, &[]);
        self.b.switch_to_block(cont);
    }

    /// Whether the quad function holds register `s` as 64-bit lanes.
    fn is_wide(&self, s: Slot) -> bool {
        self.vplan.as_ref().is_some_and(|p| p.wide.contains(&s))
    }

    /// Where the running thread saves slot `s` when it stops, as (pointer, offset), and
    /// whether it is a 32-bit slot: in its quad's frame (see `JitCtx::regs`), the quad's 32-bit
    /// registers (those the quad function holds as `i32x4`) as four 32-bit lanes, the others
    /// as four 64-bit lanes.
    fn frame_slot(&mut self, s: Slot) -> (Value, i32, bool) {
        let narrow = self.vplan.is_some() && !self.is_wide(s);
        let t = self.b.use_var(self.t);
        let frame = self.frame_of(t);
        let lane = self.b.ins().band_imm_s(t, 3);
        let lane = self.b.ins().ishl_imm_s(lane, if narrow { 2 } else { 3 });
        let p = self.b.ins().iadd(frame, lane);
        let off = self.frame_offset(s);
        (p, off, narrow)
    }

    /// The frame of the quad thread `t` belongs to.
    fn frame_of(&mut self, t: Value) -> Value {
        let quad = self.b.ins().ushr_imm_s(t, 2);
        let stride = self.iconst(self.frame_slots as u64 * 32);
        let off = self.b.ins().imul(quad, stride);
        let regs = self.cf(offset_of!(Ctx, regs));
        self.b.ins().iadd(regs, off)
    }

    /// The offset of slot `s` in a quad's frame.
    fn frame_offset(&self, s: Slot) -> i32 {
        (self.frame_index[s as usize] * 32) as i32
    }

    /// Saves the registers live at resume point `ri`, records it as the thread's (`waiting` at
    /// a barrier), and moves on to the next thread.
    fn stop_at(&mut self, ri: u32, waiting: bool) {
        let live = self.live[ri as usize].clone();
        for s in live {
            let v = self.get(s);
            let (p, off, narrow) = self.frame_slot(s);
            if narrow {
                self.b.ins().istore32(FLAGS, v, p, off);
            } else {
                self.b.ins().store(FLAGS, v, p, off);
            }
        }
        if !waiting {
            self.note_stop(STOP_SLICED);
        }
        let ri = if ri < self.quad_points {
            ri + self.live.len() as u32
        } else {
            ri
        };
        self.store_resume(if waiting { ri | WAITING } else { ri });
        self.b.ins().jump(self.next_thread, &[]);
    }

    /// Records in the context's `stops` that a thread stopped as `what` says.
    fn note_stop(&mut self, what: u64) {
        let ctx = self.ctx();
        let v = self
            .b
            .ins()
            .load(I64, FLAGS, ctx, offset_of!(Ctx, stops) as i32);
        let v = self.b.ins().bor_imm_s(v, what as i64);
        self.b
            .ins()
            .store(FLAGS, v, ctx, offset_of!(Ctx, stops) as i32);
    }

    fn store_resume(&mut self, v: u32) {
        let t = self.b.use_var(self.t);
        let off = self.b.ins().ishl_imm_s(t, 2);
        let resume = self.cf(offset_of!(Ctx, resume));
        let p = self.b.ins().iadd(resume, off);
        let v = self.b.ins().iconst(I32, v as i64);
        self.b.ins().store(FLAGS, v, p, 0);
    }

    /// The pass function's entry block: the context (its parameter) and the global memory
    /// instructions' allocation entries.
    fn enter_pass(&mut self) {
        let entry = self.b.create_block();
        self.b.append_block_params_for_function_params(entry);
        self.b.switch_to_block(entry);
        self.ctx = Some(self.b.block_params(entry)[0]);
        self.sites = Some(self.cf(offset_of!(Ctx, sites)));
    }

    /// Starts the thread loop over thread index `t`: its head (returned, for the next thread
    /// to jump back to) goes on while `t` is one of the pass's threads, else the pass returns
    /// [`PASS_DONE`]. Leaves the builder in the loop's body, with a fresh slice of backward
    /// branches. Also emits the fault exit, which records the faulting instruction and
    /// returns [`PASS_FAULT`].
    fn thread_loop(&mut self, t: Variable) -> Block {
        let head = self.b.create_block();
        self.b.ins().jump(head, &[]);
        self.b.switch_to_block(head);
        let body = self.b.create_block();
        let t = self.b.use_var(t);
        let nthreads = self.cf(offset_of!(Ctx, nthreads));
        let done = self.b.create_block();
        let all = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, t, nthreads);
        self.b.ins().brif(all, done, &[], body, &[]);

        self.b.switch_to_block(done);
        let r = self.b.ins().iconst(I32, PASS_DONE as i64);
        self.b.ins().return_(&[r]);

        self.b.append_block_param(self.fault, I64);
        self.b.switch_to_block(self.fault);
        let pcv = self.b.block_params(self.fault)[0];
        let ctx = self.ctx();
        self.b
            .ins()
            .store(FLAGS, pcv, ctx, offset_of!(Ctx, fault_pc) as i32);
        let r = self.b.ins().iconst(I32, PASS_FAULT as i64);
        self.b.ins().return_(&[r]);

        self.b.switch_to_block(body);
        let slice = self.iconst(SLICE as u64);
        self.b.def_var(self.budget, slice);
        head
    }

    /// Advances thread index `t` and its `%tid` in `tid` by `step` threads (1, or 4 for a
    /// quad in a block whose x size is a multiple of four, so `%tid.x` never steps past a row's
    /// end); `%tid.y` and `%tid.z` only where the kernel reads them.
    fn advance_threads(&mut self, t: Variable, tid: [Variable; 3], step: i64) {
        let tv = self.b.use_var(t);
        let t1 = self.b.ins().iadd_imm_s(tv, step);
        self.b.def_var(t, t1);
        let [x, y, z] = tid.map(|v| self.b.use_var(v));
        let zero = self.iconst(0);
        let ntid_x = self.cf(offset_of!(Ctx, ntid));
        let x1 = self.b.ins().iadd_imm_s(x, step);
        let wx = self.b.ins().icmp(IntCC::Equal, x1, ntid_x);
        let x2 = self.b.ins().select(wx, zero, x1);
        self.b.def_var(tid[0], x2);
        if self.reads_tid_yz {
            let wx64 = self.b.ins().uextend(I64, wx);
            let y1 = self.b.ins().iadd(y, wx64);
            let ntid_y = self.cf(offset_of!(Ctx, ntid) + 8);
            let wy = self.b.ins().icmp(IntCC::Equal, y1, ntid_y);
            let y2 = self.b.ins().select(wy, zero, y1);
            let wy64 = self.b.ins().uextend(I64, wy);
            let z1 = self.b.ins().iadd(z, wy64);
            self.b.def_var(tid[1], y2);
            self.b.def_var(tid[2], z1);
        }
    }

    /// The pass's first thread (`JitCtx::first`) and its `%tid`.
    fn first_thread(&mut self) {
        let ctx = self.ctx();
        let t = self
            .b
            .ins()
            .load(I64, FLAGS, ctx, offset_of!(Ctx, first) as i32);
        self.b.def_var(self.t, t);
        // Most passes start at the block's first thread: no divisions (tens of cycles each,
        // at every pass).
        let divide = self.b.create_block();
        let done = self.b.create_block();
        let zero = self.iconst(0);
        for v in self.tid {
            self.b.def_var(v, zero);
        }
        self.b.ins().brif(t, divide, &[], done, &[]);
        self.b.switch_to_block(divide);
        let nx = self.cf(offset_of!(Ctx, ntid));
        let ny = self.cf(offset_of!(Ctx, ntid) + 8);
        // A launch's block sizes are at least 1.
        let one = self.iconst(1);
        let nx = self.b.ins().umax(nx, one);
        let ny = self.b.ins().umax(ny, one);
        let x = self.b.ins().urem(t, nx);
        let yz = self.b.ins().udiv(t, nx);
        let y = self.b.ins().urem(yz, ny);
        let z = self.b.ins().udiv(yz, ny);
        for (v, x) in self.tid.into_iter().zip([x, y, z]) {
            self.b.def_var(v, x);
        }
        self.b.ins().jump(done, &[]);
        self.b.switch_to_block(done);
    }

    fn block_at(&mut self, pc: u32) -> Block {
        if let Some(&b) = self.blocks.get(&pc) {
            return b;
        }
        let b = self.b.create_block();
        self.blocks.insert(pc, b);
        b
    }

    fn run(
        mut self,
        resumes: &[(Resume, u32)],
        live: &[Vec<u32>],
        site_bytes: &mut Vec<u32>,
        target: cranelift_codegen::isa::TargetFrontendConfig,
    ) -> Result<(), String> {
        self.live = live.to_vec();
        for (i, r) in resumes.iter().enumerate() {
            self.resume_index.insert(*r, i as u32);
        }
        self.enter_pass();
        if self.from_first {
            self.first_thread();
        } else {
            let zero = self.iconst(0);
            for v in [self.t, self.tid[0], self.tid[1], self.tid[2]] {
                self.b.def_var(v, zero);
            }
        }
        // Thread loop: dispatch on the thread's resume point.
        let head = self.thread_loop(self.t);
        let resume_blocks: Vec<Block> = resumes.iter().map(|_| self.b.create_block()).collect();
        let single_pass = resume_blocks.len() == 1;
        if single_pass {
            // No loops: every thread runs from its start to its exit in one pass, with no
            // resume point to read or write.
            self.b.ins().jump(resume_blocks[0], &[]);
        } else {
            let t = self.b.use_var(self.t);
            let roff = self.b.ins().ishl_imm_s(t, 2);
            let resume = self.cf(offset_of!(Ctx, resume));
            let rp = self.b.ins().iadd(resume, roff);
            let r = self.b.ins().uload32(FLAGS, rp, 0);
            // Then the quad points again, as this function records them, and as the quad
            // function leaves them when their registers do not have the shapes it expects.
            let q = self.quad_points as usize;
            let calls: Vec<_> = resume_blocks
                .iter()
                .chain(&resume_blocks[..q])
                .chain(&resume_blocks[..q])
                .map(|&rb| self.b.func.dfg.block_call(rb, &[]))
                .collect();
            let def = self.b.func.dfg.block_call(self.next_thread, &[]);
            let jt = self.b.create_jump_table(JumpTableData::new(def, &calls));
            let r32 = self.b.ins().ireduce(I32, r);
            self.b.ins().br_table(r32, jt);
        }

        // Resume points: reload the live registers. (Those live at the entry are read before
        // the kernel writes them, the carry flag of an `addc` say: zero, as in the
        // interpreter.)
        let exit = self.b.create_block();
        for (i, &(kind, pc)) in resumes.iter().enumerate() {
            self.b.switch_to_block(resume_blocks[i]);
            let live = self.live[i].clone();
            for s in live {
                let v = if kind == Resume::Entry {
                    self.iconst(0)
                } else {
                    let (p, off, narrow) = self.frame_slot(s);
                    if narrow {
                        self.b.ins().uload32(FLAGS, p, off)
                    } else {
                        self.b.ins().load(I64, FLAGS, p, off)
                    }
                };
                let var = self.var(s);
                self.b.def_var(var, v);
            }
            for load in self.reloads.get(i).cloned().unwrap_or_default() {
                self.inst(load, site_bytes, exit)?;
            }
            let target = self.block_at(pc);
            self.b.ins().jump(target, &[]);
        }

        // Leaders: function entries, branch targets, resume points, and what follows a branch,
        // a call or a stop.
        let mut leaders: Vec<u32> = resumes.iter().map(|r| r.1).collect();
        let funcs = self.body.funcs.clone();
        for &(_, start, end) in &funcs {
            leaders.push(start);
            for pc in start..end {
                match &self.prog.insts[pc as usize].op {
                    Op::Bra { target } => leaders.extend([*target, pc + 1]),
                    Op::Exit
                    | Op::Ret
                    | Op::Trap
                    | Op::Brkpt
                    | Op::Call { .. }
                    | Op::Bar { .. } => leaders.push(pc + 1),
                    _ => {}
                }
            }
        }
        leaders.retain(|&l| (l as usize) < self.prog.insts.len());
        leaders.sort_unstable();
        leaders.dedup();
        for &l in &leaders {
            self.block_at(l);
        }
        for &(_, start, end) in &funcs {
            // Falling off the end of a function ends the thread.
            self.emit_code(start, end, exit, |t, pc| t.inst(pc, site_bytes, exit))?;
        }
        // Where each call returns to: the return values into the caller's registers and
        // frame, and the caller's frame base back.
        let returns: Vec<(u32, Block)> = self.return_blocks.iter().map(|(&k, &v)| (k, v)).collect();
        for (call, blk) in returns {
            self.b.switch_to_block(blk);
            self.returned(call);
        }
        // Next thread (emitted last: it depends on what the kernel reads).
        self.b.switch_to_block(self.next_thread);
        self.advance_threads(self.t, self.tid, 1);
        self.b.ins().jump(head, &[]);

        self.b.switch_to_block(exit);
        if !single_pass {
            self.store_resume(EXITED);
        }
        self.b.ins().jump(self.next_thread, &[]);
        self.b.seal_all_blocks();
        self.b.finalize(target);
        Ok(())
    }

    /// Emits instructions `start..end` in order with `emit` (false when control does not fall
    /// through), each leader (see `block_at`) starting its block, and goes on to `after` from
    /// the end. Code no leader starts after an unconditional branch never runs: skipped.
    fn emit_code(
        &mut self,
        start: u32,
        end: u32,
        after: Block,
        mut emit: impl FnMut(&mut Self, u32) -> Result<bool, String>,
    ) -> Result<(), String> {
        let mut open = false;
        for pc in start..end {
            if self
                .emit_only
                .as_ref()
                .is_some_and(|e| !e.get(pc as usize).copied().unwrap_or(false))
            {
                // Unreachable: control cannot fall into it either.
                open = false;
                continue;
            }
            if let Some(&blk) = self.blocks.get(&pc) {
                if open {
                    self.b.ins().jump(blk, &[]);
                }
                self.b.switch_to_block(blk);
                open = true;
            }
            if open {
                open = emit(self, pc)?;
            }
        }
        if open {
            self.b.ins().jump(after, &[]);
        }
        Ok(())
    }

    /// Emits instruction `pc`; false when control does not fall through.
    fn inst(&mut self, pc: u32, site_bytes: &mut Vec<u32>, exit: Block) -> Result<bool, String> {
        let prog = self.prog;
        let inst = &prog.insts[pc as usize];
        // Branches and stops handle their own guards.
        let guard = if inst.guard == NONE {
            None
        } else {
            let g = self.get(inst.guard);
            Some(g)
        };
        match &inst.op {
            Op::Bra { target } => {
                let (taken, back) = self.branch_to(pc, *target);
                match guard {
                    None => self.b.ins().jump(taken, &[]),
                    Some(g) => {
                        let next = self.block_at(pc + 1);
                        if inst.neg {
                            self.b.ins().brif(g, next, &[], taken, &[])
                        } else {
                            self.b.ins().brif(g, taken, &[], next, &[])
                        }
                    }
                };
                if let Some(back) = back {
                    self.back_edge(back, *target);
                }
                return Ok(false);
            }
            Op::Exit | Op::Ret | Op::Trap | Op::Brkpt | Op::Call { .. } | Op::Bar { .. } => {
                let stop = self.b.create_block();
                if let Some(g) = guard {
                    let next = self.block_at(pc + 1);
                    if inst.neg {
                        self.b.ins().brif(g, next, &[], stop, &[]);
                    } else {
                        self.b.ins().brif(g, stop, &[], next, &[]);
                    }
                } else {
                    self.b.ins().jump(stop, &[]);
                }
                self.b.switch_to_block(stop);
                let (fid, _, _) = self.body.func_of(pc).unwrap_or((self.body.kernel, 0, 0));
                match &inst.op {
                    Op::Ret if fid != self.body.kernel => self.ret(fid, exit),
                    Op::Exit | Op::Ret => {
                        self.b.ins().jump(exit, &[]);
                    }
                    Op::Call {
                        target: CallTarget::Direct(f),
                        args,
                        frame,
                        ..
                    } => self.call_to(pc, *f, args, *frame),
                    // The thread waits there until every thread of the block that has not
                    // exited does (the block's scheduler releases them).
                    Op::Bar { .. } => {
                        let ri = self.resume_index[&(Resume::Barrier, pc + 1)];
                        self.stop_at(ri, true);
                    }
                    _ => {
                        let pcv = self.iconst(pc as u64);
                        let t = self.b.use_var(self.t);
                        self.call(h_misc as *const () as usize, &[pcv, t, t]);
                        self.b.ins().jump(self.fault, &[BlockArg::Value(pcv)]);
                    }
                }
                return Ok(false);
            }
            _ => {}
        }
        self.guarded_op(pc, site_bytes)?;
        Ok(true)
    }

    /// Emits instruction `pc` (not a branch or stop) under its guard.
    fn guarded_op(&mut self, pc: u32, site_bytes: &mut Vec<u32>) -> Result<(), String> {
        let inst = &self.prog.insts[pc as usize];
        let cont = if inst.guard == NONE {
            None
        } else {
            let g = self.get(inst.guard);
            let run = self.b.create_block();
            let cont = self.b.create_block();
            if inst.neg {
                self.b.ins().brif(g, cont, &[], run, &[]);
            } else {
                self.b.ins().brif(g, run, &[], cont, &[]);
            }
            self.b.switch_to_block(run);
            Some(cont)
        };
        self.op(pc, site_bytes)?;
        if let Some(cont) = cont {
            self.b.ins().jump(cont, &[]);
            self.b.switch_to_block(cont);
        }
        Ok(())
    }

    /// The thread's local memory (its frames).
    fn local_base(&mut self) -> Value {
        let t = self.b.use_var(self.t);
        let stride = self.cf(offset_of!(Ctx, local_stride));
        let o = self.b.ins().imul(t, stride);
        let local = self.cf(offset_of!(Ctx, local));
        self.b.ins().iadd(local, o)
    }

    /// A load of `bytes` (1, 2, 4 or 8) at `p + off`, zero- or sign-extended to 64 bits.
    fn load_width(
        &mut self,
        flags: MemFlagsData,
        p: Value,
        off: i32,
        bytes: u32,
        sext: bool,
    ) -> Value {
        match (bytes, sext) {
            (1, false) => self.b.ins().uload8(I64, flags, p, off),
            (1, true) => self.b.ins().sload8(I64, flags, p, off),
            (2, false) => self.b.ins().uload16(I64, flags, p, off),
            (2, true) => self.b.ins().sload16(I64, flags, p, off),
            (4, false) => self.b.ins().uload32(flags, p, off),
            (4, true) => self.b.ins().sload32(flags, p, off),
            _ => self.b.ins().load(I64, flags, p, off),
        }
    }

    /// A store of the low `bytes` (1, 2, 4 or 8) of `v` at `p + off`.
    fn store_width(&mut self, flags: MemFlagsData, v: Value, p: Value, off: i32, bytes: u32) {
        match bytes {
            1 => self.b.ins().istore8(flags, v, p, off),
            2 => self.b.ins().istore16(flags, v, p, off),
            4 => self.b.ins().istore32(flags, v, p, off),
            _ => self.b.ins().store(flags, v, p, off),
        };
    }

    /// Copies `n` bytes inside the thread's local memory (offsets checked by the caller).
    fn copy_local(&mut self, lp: Value, dst: Value, src: Value, n: u32) {
        let d = self.b.ins().iadd(lp, dst);
        let s = self.b.ins().iadd(lp, src);
        let flags = MemFlagsData::new().with_notrap();
        let mut o = 0u32;
        while o < n {
            let w = [8u32, 4, 2, 1]
                .into_iter()
                .find(|w| o + w <= n)
                .unwrap_or(1);
            let off = o as i32;
            let v = self.load_width(flags, s, off, w, false);
            self.store_width(flags, v, d, off, w);
            o += w;
        }
    }

    /// A direct call: arguments into the callee's frame, which starts `frame` bytes into the
    /// caller's, then on to the callee, which returns here (see [`Self::returned`]).
    fn call_to(&mut self, pc: u32, f: u32, args: &[ArgSrc], frame: u32) {
        let prog = self.prog;
        let fi = &prog.funcs[f as usize];
        let base = self.get(sr::FRAME);
        let nb = self.b.ins().iadd_imm_s(base, frame as i64);
        // The callee's frame must fit the thread's local memory (it does unless the frame
        // sizes are inconsistent: the stack size is the deepest path of the call graph).
        let end = self.b.ins().iadd_imm_s(nb, fi.frame as i64);
        let len = self.cf(offset_of!(Ctx, local_len));
        let fits = self.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, end, len);
        let go = self.b.create_block();
        let overflow = self.b.create_block();
        self.b.set_cold_block(overflow);
        self.b.ins().brif(fits, go, &[], overflow, &[]);
        self.b.switch_to_block(overflow);
        let pcv = self.iconst(pc as u64);
        let t = self.b.use_var(self.t);
        self.call(h_misc as *const () as usize, &[pcv, t, t]);
        self.b.ins().jump(self.fault, &[BlockArg::Value(pcv)]);
        self.b.switch_to_block(go);
        let lp = self.local_base();
        for (i, a) in args.iter().enumerate() {
            let Some(&(poff, psize)) = fi.params.get(i) else {
                break;
            };
            let dst = self.b.ins().iadd_imm_s(nb, poff as i64);
            match *a {
                ArgSrc::Frame(off, size) => {
                    let src = self.b.ins().iadd_imm_s(base, off as i64);
                    self.copy_local(lp, dst, src, size.min(psize).min(frame.saturating_sub(off)));
                }
                ArgSrc::Reg(s) => {
                    let v = self.get(s);
                    let p = self.b.ins().iadd(lp, dst);
                    let flags = MemFlagsData::new().with_notrap();
                    for k in 0..psize.min(8) as i32 {
                        let byte = if k == 0 {
                            v
                        } else {
                            self.b.ins().ushr_imm_s(v, 8 * k as i64)
                        };
                        self.b.ins().istore8(flags, byte, p, k);
                    }
                }
            }
        }
        let site = self.body.callers[&f]
            .iter()
            .position(|&c| c == pc)
            .unwrap_or(0);
        let rs = self.iconst(site as u64);
        let rv = self.var(ret_site_slot(self.body.nslots, f));
        self.b.def_var(rv, rs);
        let fv = self.var(sr::FRAME);
        self.b.def_var(fv, nb);
        let entry = self.block_at(fi.entry);
        self.b.ins().jump(entry, &[]);
        if !self.return_blocks.contains_key(&pc) {
            let back = self.b.create_block();
            self.return_blocks.insert(pc, back);
        }
    }

    /// `ret` from function `f`: back to the call it was called from.
    fn ret(&mut self, f: u32, exit: Block) {
        let calls = self.body.callers.get(&f).cloned().unwrap_or_default();
        let rv = self.var(ret_site_slot(self.body.nslots, f));
        let site = self.b.use_var(rv);
        let targets: Vec<Block> = calls
            .iter()
            .map(|c| match self.return_blocks.get(c) {
                Some(&b) => b,
                None => {
                    let b = self.b.create_block();
                    self.return_blocks.insert(*c, b);
                    b
                }
            })
            .collect();
        let calls_: Vec<_> = targets
            .iter()
            .map(|&b| self.b.func.dfg.block_call(b, &[]))
            .collect();
        let def = self.b.func.dfg.block_call(exit, &[]);
        let jt = self.b.create_jump_table(JumpTableData::new(def, &calls_));
        let s32 = self.b.ins().ireduce(I32, site);
        self.b.ins().br_table(s32, jt);
    }

    /// The return from a call at `pc`: the callee's return values into the caller's registers
    /// and frame, and the caller's frame base back.
    fn returned(&mut self, pc: u32) {
        let prog = self.prog;
        let Op::Call {
            target: CallTarget::Direct(f),
            rets,
            frame,
            ..
        } = &prog.insts[pc as usize].op
        else {
            return;
        };
        let fi = &prog.funcs[*f as usize];
        let cb = self.get(sr::FRAME);
        let base = self.b.ins().iadd_imm_s(cb, -(*frame as i64));
        let lp = self.local_base();
        for (i, r) in rets.iter().enumerate() {
            let Some(&(roff, rsize)) = fi.rets.get(i) else {
                break;
            };
            let src = self.b.ins().iadd_imm_s(cb, roff as i64);
            match *r {
                RetDst::Frame(off, size) => {
                    let dst = self.b.ins().iadd_imm_s(base, off as i64);
                    self.copy_local(lp, dst, src, size.min(rsize).min(frame.saturating_sub(off)));
                }
                RetDst::Reg(s) => {
                    let p = self.b.ins().iadd(lp, src);
                    let flags = MemFlagsData::new().with_notrap();
                    let v = match rsize.min(8) {
                        n @ (1 | 2 | 4 | 8) => self.load_width(flags, p, 0, n, false),
                        _ => self.iconst(0),
                    };
                    self.set(s, v, u64::MAX);
                }
                RetDst::Discard => {}
            }
        }
        let fv = self.var(sr::FRAME);
        self.b.def_var(fv, base);
        let next = self.block_at(pc + 1);
        self.b.ins().jump(next, &[]);
    }

    /// The block a branch from `pc` to `target` goes to, and for a backward branch the block
    /// that counts it against the thread's slice (filled by [`Self::back_edge`] once the branch
    /// itself is emitted).
    fn branch_to(&mut self, pc: u32, target: u32) -> (Block, Option<Block>) {
        if target > pc {
            return (self.block_at(target), None);
        }
        let back = self.b.create_block();
        (back, Some(back))
    }

    /// A backward branch to `target`: on to the loop head, or, when the thread's slice is spent,
    /// a stop there that lets the other threads run.
    fn back_edge(&mut self, back: Block, target: u32) {
        let dest = self.block_at(target);
        let ri = self.resume_index[&(Resume::LoopHead, target)];
        let spent = self.b.create_block();
        self.b.set_cold_block(spent);
        self.b.switch_to_block(back);
        let bud = self.b.use_var(self.budget);
        let bud = self.b.ins().iadd_imm_s(bud, -1);
        self.b.def_var(self.budget, bud);
        self.b.ins().brif(bud, dest, &[], spent, &[]);
        self.b.switch_to_block(spent);
        self.stop_at(ri, false);
    }

    fn op(&mut self, pc: u32, site_bytes: &mut Vec<u32>) -> Result<(), String> {
        let prog = self.prog;
        match &prog.insts[pc as usize].op {
            Op::Nop => {}
            Op::Mov { d, a, wm } => {
                let v = self.get(*a);
                self.set(*d, v, *wm);
            }
            Op::Pack {
                d,
                parts,
                n,
                bits,
                wm,
            } => {
                let pm = if *bits >= 64 {
                    u64::MAX
                } else {
                    (1u64 << bits) - 1
                };
                let mut acc = self.iconst(0);
                for (i, &p) in parts[..*n as usize].iter().enumerate() {
                    let v = self.get(p);
                    let v = self.mask(v, pm);
                    let sh = i as i64 * *bits as i64;
                    let v = if sh == 0 {
                        v
                    } else {
                        self.b.ins().ishl_imm_s(v, sh)
                    };
                    acc = self.b.ins().bor(acc, v);
                }
                self.set(*d, acc, *wm);
            }
            Op::Unpack { ds, n, bits, a } => {
                let pm = if *bits >= 64 {
                    u64::MAX
                } else {
                    (1u64 << bits) - 1
                };
                let v = self.get(*a);
                let parts: Vec<Value> = (0..*n as usize)
                    .map(|i| {
                        let sh = i as i64 * *bits as i64;
                        let x = if sh == 0 {
                            v
                        } else {
                            self.b.ins().ushr_imm_s(v, sh)
                        };
                        self.mask(x, pm)
                    })
                    .collect();
                for (i, x) in parts.into_iter().enumerate() {
                    self.set(ds[i], x, u64::MAX);
                }
            }
            Op::Bin { k, d, a, b, wm } => {
                if *d != NONE {
                    let x = self.get(*a);
                    let y = self.get(*b);
                    let v = self.bin(*k, x, y);
                    self.set(*d, v, *wm);
                }
            }
            Op::Tri { k, d, a, b, c, wm } => {
                if *d != NONE {
                    let x = self.get(*a);
                    let y = self.get(*b);
                    let z = self.get(*c);
                    let v = self.tri(pc, *k, x, y, z);
                    self.set(*d, v, *wm);
                }
            }
            Op::SetpI {
                d,
                a,
                b,
                cmp,
                w64,
                signed,
            } => {
                let x = self.get(*a);
                let y = self.get(*b);
                let (x, y) = if *w64 {
                    (x, y)
                } else {
                    (self.b.ins().ireduce(I32, x), self.b.ins().ireduce(I32, y))
                };
                let r = self.b.ins().icmp(int_cc(*cmp, *signed), x, y);
                let r = self.b.ins().uextend(I64, r);
                self.set(*d, r, 1);
            }
            Op::Alu1 { d, a, .. } => self.alu(pc, &[*a], &[*d], None),
            Op::Alu2 { d, a, b, .. } => self.alu(pc, &[*a, *b], &[*d], None),
            Op::Alu3 { d, a, b, c, .. } => self.alu(pc, &[*a, *b, *c], &[*d], None),
            Op::Alu4 { d, s, .. } => self.alu(pc, s, &[*d], None),
            Op::AluCmp { p, q, a, b, c, .. } => self.alu(pc, &[*a, *b, *c], &[*p, *q], None),
            Op::AluCarry {
                d,
                a,
                b,
                c,
                write_cc,
                ..
            } => {
                let cw = if *write_cc { Some(self.carry) } else { None };
                self.alu(pc, &[*a, *b, *c, self.carry], &[*d], cw)
            }
            Op::Cvta {
                d,
                a,
                window,
                to,
                wm,
            } => {
                let v = self.get(*a);
                let w = self.iconst(*window);
                let r = if *to {
                    self.b.ins().isub(v, w)
                } else {
                    self.b.ins().iadd(v, w)
                };
                self.set(*d, r, *wm);
            }
            Op::Isspacep { d, a, .. } => {
                let v = self.get(*a);
                let pcv = self.iconst(pc as u64);
                let t = self.b.use_var(self.t);
                let r = self.call(h_misc as *const () as usize, &[pcv, v, t]);
                self.set(*d, r, 1);
            }
            Op::ReadTimer { d, wm, .. } => {
                let pcv = self.iconst(pc as u64);
                let t = self.b.use_var(self.t);
                let r = self.call(h_misc as *const () as usize, &[pcv, t, t]);
                self.set(*d, r, *wm);
            }
            Op::Atom {
                space: _,
                d,
                wm,
                addr,
                off,
                b,
                c,
                ..
            } => {
                let a = self.get(*addr);
                let a = self.b.ins().iadd_imm_s(a, *off);
                let bv = self.get(*b);
                let cv = self.get(*c);
                let pcv = self.iconst(pc as u64);
                let r = self.call(h_atom as *const () as usize, &[pcv, a, bv, cv]);
                self.check_status(pc);
                self.set(*d, r, *wm);
            }
            Op::Ld {
                space,
                ds,
                wms,
                n,
                bytes,
                sext,
                addr,
                off,
            } => {
                if let Some(vals) = self.param_load(*space, *addr, *off, *n, *bytes, *sext) {
                    for i in 0..*n as usize {
                        self.set(ds[i], vals[i], wms[i]);
                    }
                    return Ok(());
                }
                let a = self.get(*addr);
                let a = self.b.ins().iadd_imm_s(a, *off);
                let vals = self.access(pc, *space, a, *n, *bytes, None, *sext, site_bytes);
                for i in 0..*n as usize {
                    self.set(ds[i], vals[i], wms[i]);
                }
            }
            Op::St {
                space,
                ss,
                n,
                bytes,
                addr,
                off,
            } => {
                let a = self.get(*addr);
                let a = self.b.ins().iadd_imm_s(a, *off);
                let vals: Vec<Value> = ss[..*n as usize].iter().map(|&s| self.get(s)).collect();
                self.access(pc, *space, a, *n, *bytes, Some(&vals), false, site_bytes);
            }
            other => return Err(format!("`{}` is not compiled", op_name(other))),
        }
        Ok(())
    }

    /// An operation the interpreter also runs out of line (`Alu*`, through its closure).
    fn alu(&mut self, pc: u32, srcs: &[Slot], dsts: &[Slot], carry_out: Option<Slot>) {
        let mut args = vec![self.iconst(pc as u64)];
        for i in 0..4 {
            let v = match srcs.get(i) {
                Some(&s) => self.get(s),
                None => self.iconst(0),
            };
            args.push(v);
        }
        let r = self.call(h_alu as *const () as usize, &args);
        // The helper applies the destination masks.
        self.set(dsts[0], r, u64::MAX);
        let second = dsts.get(1).copied().or(carry_out);
        if let Some(q) = second {
            let ctx = self.ctx();
            let v = self
                .b
                .ins()
                .load(I64, FLAGS, ctx, offset_of!(Ctx, scratch) as i32);
            self.set(q, v, u64::MAX);
        }
    }

    fn bin(&mut self, k: BinK, x: Value, y: Value) -> Value {
        match k {
            BinK::Add32 | BinK::Add64 => self.b.ins().iadd(x, y),
            BinK::Sub32 | BinK::Sub64 => self.b.ins().isub(x, y),
            BinK::MulLo32 | BinK::MulLo64 => self.b.ins().imul(x, y),
            BinK::MulWideU32 => {
                let a = self.low32(x);
                let b = self.low32(y);
                self.b.ins().imul(a, b)
            }
            BinK::MulWideS32 => {
                let a = self.sext_from(x, I32);
                let b = self.sext_from(y, I32);
                self.b.ins().imul(a, b)
            }
            BinK::And => self.b.ins().band(x, y),
            BinK::Or => self.b.ins().bor(x, y),
            BinK::Xor => self.b.ins().bxor(x, y),
            BinK::Shl32 | BinK::ShrU32 | BinK::Shl64 | BinK::ShrU64 => {
                let width = if matches!(k, BinK::Shl32 | BinK::ShrU32) {
                    32
                } else {
                    64
                };
                let c = self.low32(y);
                let a = if width == 32 { self.low32(x) } else { x };
                let r = if matches!(k, BinK::Shl32 | BinK::Shl64) {
                    self.b.ins().ishl(a, c)
                } else {
                    self.b.ins().ushr(a, c)
                };
                let inr = self.b.ins().icmp_imm_s(IntCC::UnsignedLessThan, c, width);
                let zero = self.iconst(0);
                self.b.ins().select(inr, r, zero)
            }
            BinK::ShrS32 => {
                let c = self.low32(y);
                let max = self.iconst(31);
                let c = self.b.ins().umin(c, max);
                let a = self.sext_from(x, I32);
                self.b.ins().sshr(a, c)
            }
            BinK::ShrS64 => {
                let c = self.low32(y);
                let max = self.iconst(63);
                let c = self.b.ins().umin(c, max);
                self.b.ins().sshr(x, c)
            }
            BinK::MinS32 | BinK::MaxS32 => {
                let a = self.sext_from(x, I32);
                let b = self.sext_from(y, I32);
                if k == BinK::MinS32 {
                    self.b.ins().smin(a, b)
                } else {
                    self.b.ins().smax(a, b)
                }
            }
            BinK::MinU32 | BinK::MaxU32 => {
                let a = self.low32(x);
                let b = self.low32(y);
                if k == BinK::MinU32 {
                    self.b.ins().umin(a, b)
                } else {
                    self.b.ins().umax(a, b)
                }
            }
            BinK::FAdd32 | BinK::FSub32 | BinK::FMul32 => {
                let a = self.f32_of(x);
                let b = self.f32_of(y);
                let r = match k {
                    BinK::FAdd32 => self.b.ins().fadd(a, b),
                    BinK::FSub32 => self.b.ins().fsub(a, b),
                    _ => self.b.ins().fmul(a, b),
                };
                self.canon32(r)
            }
            BinK::Zext32 => self.low32(x),
            BinK::Sext32 => self.sext_from(x, I32),
            BinK::Not => self.b.ins().bnot(x),
            BinK::FAdd64 | BinK::FSub64 | BinK::FMul64 => {
                let a = self.b.ins().bitcast(F64, MemFlagsData::new(), x);
                let b = self.b.ins().bitcast(F64, MemFlagsData::new(), y);
                let r = match k {
                    BinK::FAdd64 => self.b.ins().fadd(a, b),
                    BinK::FSub64 => self.b.ins().fsub(a, b),
                    _ => self.b.ins().fmul(a, b),
                };
                self.nan64(r, &[y, x])
            }
            BinK::FSetp32(c) => {
                use ferrocuda_ptx::ir::CmpOp::*;
                let a = self.f32_of(x);
                let b = self.f32_of(y);
                let cc = match c {
                    Eq => FloatCC::Equal,
                    Ne => FloatCC::OrderedNotEqual,
                    Lt | Lo => FloatCC::LessThan,
                    Le | Ls => FloatCC::LessThanOrEqual,
                    Gt | Hi => FloatCC::GreaterThan,
                    Ge | Hs => FloatCC::GreaterThanOrEqual,
                    Equ => FloatCC::UnorderedOrEqual,
                    Neu => FloatCC::NotEqual,
                    Ltu => FloatCC::UnorderedOrLessThan,
                    Leu => FloatCC::UnorderedOrLessThanOrEqual,
                    Gtu => FloatCC::UnorderedOrGreaterThan,
                    Geu => FloatCC::UnorderedOrGreaterThanOrEqual,
                    Num => FloatCC::Ordered,
                    Nan => FloatCC::Unordered,
                };
                let r = self.b.ins().fcmp(cc, a, b);
                self.b.ins().uextend(I64, r)
            }
            BinK::CvtF32S32 | BinK::CvtF32U32 => {
                let n = self.b.ins().ireduce(I32, x);
                let f = if k == BinK::CvtF32S32 {
                    self.b.ins().fcvt_from_sint(F32, n)
                } else {
                    self.b.ins().fcvt_from_uint(F32, n)
                };
                let bits = self.b.ins().bitcast(I32, MemFlagsData::new(), f);
                self.b.ins().uextend(I64, bits)
            }
            BinK::PNot => {
                let v = self.b.ins().bxor_imm_s(x, 1);
                self.b.ins().band_imm_s(v, 1)
            }
        }
    }

    fn tri(&mut self, pc: u32, k: TriK, x: Value, y: Value, z: Value) -> Value {
        match k {
            TriK::MadLo32 | TriK::MadLo64 => {
                let p = self.b.ins().imul(x, y);
                self.b.ins().iadd(p, z)
            }
            TriK::MadWideU32 => {
                let a = self.low32(x);
                let b = self.low32(y);
                let p = self.b.ins().imul(a, b);
                self.b.ins().iadd(p, z)
            }
            TriK::MadWideS32 => {
                let a = self.sext_from(x, I32);
                let b = self.sext_from(y, I32);
                let p = self.b.ins().imul(a, b);
                self.b.ins().iadd(p, z)
            }
            TriK::Fma32 if self.fma => {
                let a = self.f32_of(x);
                let b = self.f32_of(y);
                let c = self.f32_of(z);
                let r = self.b.ins().fma(a, b, c);
                self.canon32(r)
            }
            TriK::Fma32 => {
                let pcv = self.iconst(pc as u64);
                let zero = self.iconst(0);
                self.call(h_alu as *const () as usize, &[pcv, x, y, z, zero])
            }
            TriK::Fma64 if self.fma => {
                let a = self.b.ins().bitcast(F64, MemFlagsData::new(), x);
                let b = self.b.ins().bitcast(F64, MemFlagsData::new(), y);
                let c = self.b.ins().bitcast(F64, MemFlagsData::new(), z);
                let r = self.b.ins().fma(a, b, c);
                self.nan64(r, &[y, z, x])
            }
            TriK::Fma64 => {
                let pcv = self.iconst(pc as u64);
                let zero = self.iconst(0);
                self.call(h_alu as *const () as usize, &[pcv, x, y, z, zero])
            }
            TriK::Selp => {
                let c = self.b.ins().band_imm_s(z, 1);
                self.b.ins().select(c, x, y)
            }
        }
    }

    /// A load (`store == None`) or store of `n` elements of `bytes` at `a`: checked inline
    /// where the space allows, through the executor otherwise or when the check fails (which
    /// then reports the fault as the interpreter does). Returns the loaded values, zero- or
    /// sign-extended.
    #[allow(clippy::too_many_arguments)]
    fn access(
        &mut self,
        pc: u32,
        space: Space,
        a: Value,
        n: u8,
        bytes: u8,
        store: Option<&[Value]>,
        sext: bool,
        site_bytes: &mut Vec<u32>,
    ) -> Vec<Value> {
        let total = n as u64 * bytes as u64;
        let mut site = u32::MAX;
        // Offsets of `total`-aligned accesses, rotated right by log2(total), are the access's
        // index in units of `total`; a misaligned offset rotates its low bits to the top. One
        // compare against the number of whole units that fit then checks both bounds and
        // alignment.
        let k = total.trailing_zeros() as i64;
        let pow2 = total.is_power_of_two() && total <= 32;
        // The host address of the first element when the inline check passes.
        let fast = match space {
            Space::Global | Space::Generic if pow2 => {
                site = match self.force_site {
                    Some(s) if site_bytes.get(s as usize) == Some(&(total as u32)) => s,
                    _ => {
                        site_bytes.push(total as u32);
                        site_bytes.len() as u32 - 1
                    }
                };
                let sites = self.sites.expect("set at the entry");
                let e = self.b.ins().iadd_imm_s(sites, site as i64 * 24);
                let base = self.b.ins().load(I64, FLAGS, e, 0);
                let units = self.b.ins().load(I64, FLAGS, e, 8);
                let host = self.b.ins().load(I64, FLAGS, e, 16);
                let o = self.b.ins().isub(a, base);
                let r = self.b.ins().rotr_imm_s(o, k);
                let ok = self.b.ins().icmp(IntCC::UnsignedLessThan, r, units);
                Some((ok, host, o))
            }
            Space::Shared | Space::Local if pow2 => {
                let (units, base) = if space == Space::Shared {
                    let units = self.cf(offset_of!(Ctx, shared_units) + 8 * k as usize);
                    (units, self.cf(offset_of!(Ctx, shared)))
                } else {
                    let units = self.cf(offset_of!(Ctx, local_units) + 8 * k as usize);
                    (units, self.local_base())
                };
                let r = self.b.ins().rotr_imm_s(a, k);
                let ok = self.b.ins().icmp(IntCC::UnsignedLessThan, r, units);
                Some((ok, base, a))
            }
            Space::Global | Space::Generic | Space::Shared | Space::Local => None,
            Space::KParam if store.is_none() => {
                let len = self.cf(offset_of!(Ctx, params_len));
                let ok = self.in_range(a, len, total);
                let params = self.cf(offset_of!(Ctx, params));
                Some((ok, params, a))
            }
            Space::KParam => None,
        };
        let join = self.b.create_block();
        for _ in 0..n {
            self.b.append_block_param(join, I64);
        }
        // Off the straight line: the inline check almost always passes.
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        if let Some((ok, host, o)) = fast {
            let ok = if total > 1 && space == Space::KParam {
                let al = self.b.ins().band_imm_s(a, total as i64 - 1);
                let al = self.b.ins().icmp_imm_s(IntCC::Equal, al, 0);
                self.b.ins().band(ok, al)
            } else {
                ok
            };
            let fastb = self.b.create_block();
            self.b.ins().brif(ok, fastb, &[], slow, &[]);
            self.b.switch_to_block(fastb);
            let p = self.b.ins().iadd(host, o);
            let mut out = Vec::new();
            for i in 0..n as i32 {
                let off = i * bytes as i32;
                match store {
                    Some(vals) => {
                        let v = vals[i as usize];
                        self.store_width(FLAGS, v, p, off, bytes as u32);
                        out.push(BlockArg::Value(v));
                    }
                    None => {
                        let v = self.load_width(FLAGS, p, off, bytes as u32, sext);
                        out.push(BlockArg::Value(v));
                    }
                }
            }
            self.b.ins().jump(join, &out);
        } else {
            self.b.ins().jump(slow, &[]);
        }
        // Slow path: element by element through the executor.
        self.b.switch_to_block(slow);
        let t = self.b.use_var(self.t);
        let mut out = Vec::new();
        for i in 0..n as usize {
            let ai = self.b.ins().iadd_imm_s(a, (i * bytes as usize) as i64);
            let v = match store {
                Some(vals) => vals[i],
                None => self.iconst(0),
            };
            let code = mem_code(
                space,
                bytes as u32,
                store.is_some(),
                if i == 0 && n > 1 { total as u32 } else { 0 },
                if i == 0 { site } else { u32::MAX },
            );
            let code = self.iconst(code);
            let helper = h_mem as *const () as usize;
            let r = if fast.is_some() {
                self.call_cold(helper, &[ai, v, t, code])
            } else {
                self.call(helper, &[ai, v, t, code])
            };
            self.check_status(pc);
            let r = match (store, sext, bytes) {
                (None, true, 1) => self.sext_from(r, I8),
                (None, true, 2) => self.sext_from(r, I16),
                (None, true, 4) => self.sext_from(r, I32),
                _ => r,
            };
            out.push(BlockArg::Value(r));
        }
        self.b.ins().jump(join, &out);
        self.b.switch_to_block(join);
        self.b.block_params(join).to_vec()
    }

    /// A kernel-parameter load at a constant offset inside the parameters: no check (the
    /// launch checked the buffer's size), or `None` when it needs the general path.
    fn param_load(
        &mut self,
        space: Space,
        addr: Slot,
        off: i64,
        n: u8,
        bytes: u8,
        sext: bool,
    ) -> Option<Vec<Value>> {
        let base = *self.body.consts.get(&addr)?;
        let a = base.wrapping_add(off as u64);
        let total = n as u64 * bytes as u64;
        if space != Space::KParam
            || a % total != 0
            || a.checked_add(total).is_none_or(|e| e > self.param_bytes)
        {
            return None;
        }
        let p = self.cf(offset_of!(Ctx, params));
        Some(
            (0..n as u64)
                .map(|i| {
                    let o = (a + i * bytes as u64) as i32;
                    // A load of the exact width (not an extending one), which Cranelift treats
                    // as pure and hoists.
                    let ty = match bytes {
                        1 => I8,
                        2 => I16,
                        4 => I32,
                        _ => I64,
                    };
                    let v = self.b.ins().load(ty, invariant(), p, o);
                    match (ty, sext) {
                        (I64, _) => v,
                        (_, true) => self.b.ins().sextend(I64, v),
                        (_, false) => self.b.ins().uextend(I64, v),
                    }
                })
                .collect(),
        )
    }

    /// `a + total <= len` without overflow.
    fn in_range(&mut self, a: Value, len: Value, total: u64) -> Value {
        let below = self.b.ins().icmp(IntCC::UnsignedLessThan, a, len);
        let room = self.b.ins().isub(len, a);
        let fits = self
            .b
            .ins()
            .icmp_imm_s(IntCC::UnsignedGreaterThanOrEqual, room, total as i64);
        self.b.ins().band(below, fits)
    }
}
