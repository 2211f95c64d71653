//! Realistic compiler output (nvcc -O3 and -G, Triton, clang) parses and checks, and the IR
//! holds what consumers rely on.

use ferrocuda_ptx::ir::*;
use ferrocuda_ptx::parse;

fn sample(name: &str) -> Module {
    let path = format!("{}/tests/samples/{name}", env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(&path).unwrap();
    match parse(&src) {
        Ok(m) => m,
        Err(e) => panic!("{name}:\n{e}"),
    }
}

fn body(f: &Function) -> &[Instruction] {
    f.body.as_deref().unwrap()
}

#[test]
fn nvcc_vecadd() {
    let m = sample("nvcc_vecadd_o3.ptx");
    assert_eq!(m.version, (8, 4));
    assert_eq!(m.target, vec!["sm_80".to_string()]);
    assert_eq!(m.address_size, 64);
    let k = m.kernel("_Z6vecAddPKfS0_Pfi").unwrap();
    let offs: Vec<(u32, u32)> = k.params.iter().map(|p| (p.offset, p.size)).collect();
    assert_eq!(offs, vec![(0, 8), (8, 8), (16, 8), (24, 4)]);
    assert_eq!(k.param_bytes(), 28);
    // %p<2> + %r<6> + %f<4> + %rd<11>
    assert_eq!(k.regs.len(), 2 + 6 + 4 + 11);
    let b = body(k);
    // `@%p1 bra $L__BB0_2` targets the final `ret`.
    let bra = b.iter().find(|i| i.opcode == Opcode::Bra).unwrap();
    assert!(bra.guard.is_some());
    let Operand::Label(t) = bra.operands[0] else {
        panic!()
    };
    assert_eq!(b[t as usize].opcode, Opcode::Ret);
    let ld = b
        .iter()
        .find(|i| i.opcode == Opcode::Ld && i.has(Modifier::Cache(CacheOp::Nc)))
        .unwrap();
    assert_eq!(ld.types, vec![ScalarType::F32]);
    assert_eq!(ld.space(), Some(StateSpace::Global));
    let first = &b[0];
    assert_eq!(first.loc, SourceLoc { line: 28, col: 2 });
    assert!(matches!(
        first.operands[1],
        Operand::Addr(Address {
            base: AddrBase::Symbol(SymbolRef::Param(0)),
            offset: 0
        })
    ));
    let mul = b.iter().find(|i| i.opcode == Opcode::Mul).unwrap();
    assert!(mul.has(Modifier::Wide));
    assert_eq!(mul.operands[2], Operand::Imm(Imm::Int(4)));
    let mov = &b[4];
    assert_eq!(
        mov.operands[1],
        Operand::Special(SpecialReg::Ctaid, Some(Dim::X))
    );
}

#[test]
fn nvcc_reduction_with_shuffles_atomics_and_globals() {
    let m = sample("nvcc_reduce_o3.ptx");
    let k = m.kernel("_Z9reduceSumPKfPfj").unwrap();
    assert_eq!(k.bounds.maxntid, Some([256, 1, 1]));
    assert_eq!(k.bounds.minnctapersm, Some(2));
    assert_eq!(k.locals.len(), 1);
    assert_eq!(k.locals[0].space, StateSpace::Shared);
    assert_eq!(k.locals[0].size, 128);
    let b = body(k);
    let shfl = b.iter().find(|i| i.opcode == Opcode::Shfl).unwrap();
    assert!(shfl.has(Modifier::Sync) && shfl.has(Modifier::Shfl(ShflMode::Bfly)));
    assert!(matches!(&shfl.operands[0], Operand::Vector(v) if v.len() == 2));
    assert_eq!(shfl.operands[4], Operand::Imm(Imm::Int(-1)));
    let cas = b
        .iter()
        .find(|i| i.has(Modifier::Atom(AtomOp::Cas)))
        .unwrap();
    assert_eq!(cas.operands.len(), 4);
    let ld = b
        .iter()
        .find(|i| i.mods.contains(&Modifier::Hint("L1::no_allocate".into())))
        .unwrap();
    assert!(matches!(
        ld.operands[1],
        Operand::Addr(Address { offset: -4, .. })
    ));
    let sym = b.iter().find_map(|i| match &i.operands.get(1) {
        Some(Operand::Addr(Address {
            base: AddrBase::Symbol(SymbolRef::Local(0)),
            offset: 4,
        })) => Some(()),
        _ => None,
    });
    assert!(sym.is_some());
    let vote = b
        .iter()
        .find(|i| i.has(Modifier::Vote(VoteMode::All)))
        .unwrap();
    assert!(matches!(vote.operands[1], Operand::NotReg(_)));
    // Globals, initializers and relocations.
    let c = m.global("coeffs").unwrap();
    assert_eq!(c.space, StateSpace::Const);
    let init = c.init.as_ref().unwrap();
    assert_eq!(&init[0..4], &1.0f32.to_le_bytes());
    let p = m.global("counter_ptr").unwrap();
    assert_eq!(p.init.as_deref(), Some(&[0u8; 8][..]));
    assert_eq!(
        p.relocations,
        vec![Relocation {
            offset: 0,
            target: SymbolRef::Global(0),
            addend: 0,
            generic: false,
            size: 8
        }]
    );
    let g = m.global("generic_ptrs").unwrap();
    assert_eq!(g.relocations.len(), 2);
    assert!(g.relocations.iter().all(|r| r.generic));
    assert_eq!((g.relocations[1].offset, g.relocations[1].addend), (8, 4));
}

#[test]
fn nvcc_device_calls_and_struct_params() {
    let m = sample("nvcc_call_o3.ptx");
    let k = m.kernel("_Z6kernelPiS_").unwrap();
    let layout: Vec<(u32, u32, u32)> = k
        .params
        .iter()
        .map(|p| (p.offset, p.size, p.align))
        .collect();
    assert_eq!(
        layout,
        vec![(0, 8, 8), (8, 8, 8), (16, 24, 8), (40, 1, 1), (48, 8, 8)]
    );
    let sig = k.signature();
    assert_eq!(sig.params[2].name, "_Z6kernelPiS__param_2");
    let b = body(k);
    let calls: Vec<&Instruction> = b.iter().filter(|i| i.opcode == Opcode::Call).collect();
    assert_eq!(calls.len(), 3);
    let sq = m
        .functions
        .iter()
        .position(|f| f.name == "_Z6squarei")
        .unwrap();
    let vp = m
        .functions
        .iter()
        .position(|f| f.name == "vprintf")
        .unwrap();
    assert_eq!(calls[0].operands[1], Operand::Callee(sq));
    assert_eq!(calls[1].operands[1], Operand::Callee(vp));
    assert!(matches!(&calls[0].operands[0], Operand::List(r) if r.len() == 1));
    assert!(matches!(&calls[1].operands[2], Operand::List(a) if a.len() == 2));
    assert!(matches!(&calls[2].operands[0], Operand::List(r) if r.is_empty()));
    assert!(calls[0].has(Modifier::Uni));
    // Each callseq block's `.param` is its own local.
    let params: Vec<&str> = k
        .locals
        .iter()
        .filter(|l| l.space == StateSpace::Param)
        .map(|l| l.name.as_str())
        .collect();
    assert_eq!(
        params,
        vec!["param0", "retval0", "param0", "param1", "retval0"]
    );
    let vprintf = &m.functions[vp];
    assert!(vprintf.body.is_none());
    assert_eq!(vprintf.linkage, Linkage::Extern);
    assert_eq!(vprintf.returns.len(), 1);
    let square = &m.functions[sq];
    assert_eq!(square.kind, FunctionKind::Func);
    let st = body(square)
        .iter()
        .find(|i| i.opcode == Opcode::St)
        .unwrap();
    assert!(matches!(
        st.operands[0],
        Operand::Addr(Address {
            base: AddrBase::Symbol(SymbolRef::Return(0)),
            ..
        })
    ));
    let done = m.functions.iter().find(|f| f.name == "_Z4donev").unwrap();
    assert!(done.noreturn);
    let s = m.global("$str").unwrap();
    assert_eq!(s.size, 14);
    assert_eq!(&s.init.as_ref().unwrap()[..5], b"value");
}

#[test]
fn nvcc_debug_build() {
    let m = sample("nvcc_debug_g.ptx");
    assert_eq!(m.target, vec!["sm_52".to_string(), "debug".to_string()]);
    let k = m.kernel("_Z5scalePfif").unwrap();
    let b = body(k);
    assert_eq!(b.len(), 20);
    assert!(b.iter().any(|i| i.opcode == Opcode::Not));
}

#[test]
fn triton_scoped_blocks_and_vectors() {
    let m = sample("triton_softmax.ptx");
    assert_eq!(m.target, vec!["sm_90a".to_string()]);
    let smem = m.global("global_smem").unwrap();
    assert_eq!(
        (smem.count, smem.size, smem.linkage),
        (0, 0, Linkage::Extern)
    );
    let k = m.kernel("softmax_kernel").unwrap();
    assert_eq!(k.bounds.reqntid, Some([128, 1, 1]));
    assert_eq!(
        k.params[0].ptr,
        Some(PtrAttr {
            space: Some(StateSpace::Global),
            align: 16
        })
    );
    assert_eq!(k.params[0].align, 8);
    // The scoped `%r1` is a separate register from the outer `%r1`.
    let names: Vec<&str> = k.regs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names.iter().filter(|n| **n == "%r1").count(), 2);
    let b = body(k);
    let ld4 = b
        .iter()
        .find(|i| i.opcode == Opcode::Ld && i.vector() == Some(4))
        .unwrap();
    assert!(matches!(&ld4.operands[0], Operand::Vector(v) if v.len() == 4));
    let negated = b
        .iter()
        .find(|i| i.guard.is_some_and(|g| g.negate))
        .unwrap();
    assert_eq!(negated.opcode, Opcode::Mov);
    let mma = b.iter().find(|i| i.opcode == Opcode::Mma).unwrap();
    assert_eq!(mma.operands.len(), 4);
    assert!(b.iter().any(|i| i.opcode == Opcode::CpAsync));
}

#[test]
fn clang_indirect_calls_and_initializers() {
    let m = sample("clang_saxpy.ptx");
    let helper = m
        .functions
        .iter()
        .position(|f| f.name == "_Z6helperf")
        .unwrap();
    let k = m.kernel("_Z5saxpyifPKfPf").unwrap();
    let b = body(k);
    // Forward reference to a function defined later.
    assert!(b
        .iter()
        .any(|i| i.operands.get(1) == Some(&Operand::Symbol(SymbolRef::Function(helper), 0))));
    let call = b.iter().find(|i| i.opcode == Opcode::Call).unwrap();
    assert!(matches!(call.operands[1], Operand::Reg(_)));
    let Operand::Prototype(p) = call.operands[3] else {
        panic!("{:?}", call.operands)
    };
    assert_eq!(m.functions[p].name, "prototype_0");
    assert_eq!(m.functions[p].params.len(), 1);
    // Nested initializer lists pad short rows.
    let t = m.global("scale_table").unwrap();
    let init = t.init.as_ref().unwrap();
    let f = |i: usize| f32::from_le_bytes(init[i * 4..i * 4 + 4].try_into().unwrap());
    assert_eq!(
        (0..6).map(f).collect::<Vec<_>>(),
        vec![1.0, 2.0, 0.0, 3.0, 4.0, 5.0]
    );
    let pairs = m.global("pairs").unwrap();
    assert_eq!(pairs.size, 16);
    assert_eq!(pairs.init.as_ref().unwrap()[12], 4);
    let fnptr = m.global("fnptr").unwrap();
    assert_eq!(fnptr.relocations[0].target, SymbolRef::Function(helper));
    assert_eq!(
        m.global("neg").unwrap().init.as_deref(),
        Some(&(-5i32).to_le_bytes()[..])
    );
    assert_eq!(
        m.global("e_const").unwrap().init.as_deref(),
        Some(&1.25e-3f64.to_le_bytes()[..])
    );
    assert_eq!(
        m.global("one").unwrap().init.as_deref(),
        Some(&1.0f64.to_le_bytes()[..])
    );
    assert_eq!(m.global("weak_counter").unwrap().linkage, Linkage::Weak);
    let hb = body(&m.functions[helper]);
    let setp = hb.iter().find(|i| i.opcode == Opcode::Setp).unwrap();
    assert!(matches!(&setp.operands[0], Operand::Vector(v) if v.len() == 2));
    assert_eq!(setp.operands.len(), 4);
    let shf = hb.iter().find(|i| i.opcode == Opcode::Shf).unwrap();
    assert!(shf.has(Modifier::Left) && shf.has(Modifier::Wrap));
    assert!(hb.iter().any(|i| i.opcode == Opcode::BarWarp));
    assert!(hb
        .iter()
        .any(|i| i.operands.get(1) == Some(&Operand::Special(SpecialReg::Envreg(3), None))));
    let last_mov = hb.iter().rev().find(|i| i.opcode == Opcode::Mov).unwrap();
    assert!(matches!(
        last_mov.operands[1],
        Operand::Symbol(SymbolRef::Global(_), 4)
    ));
}

#[test]
fn numba_long_mangled_names_and_common_globals() {
    let m = sample("numba_axpy.ptx");
    let env = &m.globals[0];
    assert_eq!(env.linkage, Linkage::Common);
    assert_eq!(env.size, 8);
    let k = m.kernels().next().unwrap();
    assert!(k.name.starts_with("_ZN6cudapy8__main__4axpy"));
    assert_eq!(k.params.len(), 7);
    assert_eq!(k.params[1].offset, 8);
    assert_eq!(k.param_bytes(), 56);
    let ld = body(k)
        .iter()
        .find(|i| i.opcode == Opcode::Ld && i.space().is_none())
        .unwrap();
    assert_eq!(ld.types, vec![ScalarType::F32]);
}

#[test]
fn rustc_panic_path_with_noreturn_callee() {
    let m = sample("rustc_add.ptx");
    assert_eq!(m.version, (6, 0));
    let panic = m
        .functions
        .iter()
        .position(|f| f.name.contains("panic_bounds_check"))
        .unwrap();
    assert!(m.functions[panic].noreturn);
    let k = m.kernel("add").unwrap();
    let call = body(k).iter().find(|i| i.opcode == Opcode::Call).unwrap();
    assert_eq!(call.operands[1], Operand::Callee(panic));
    assert!(matches!(&call.operands[2], Operand::List(a) if a.len() == 3));
    let loc = m.global("alloc_loc").unwrap();
    assert_eq!(loc.relocations.len(), 1);
    assert!(loc.relocations[0].generic);
    let init = loc.init.as_ref().unwrap();
    assert_eq!(&init[16..24], &17179869196u64.to_le_bytes());
    // The kernel ends in `trap` with no `ret` after the panic call.
    assert_eq!(body(k).last().unwrap().opcode, Opcode::Trap);
}
