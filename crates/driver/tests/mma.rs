//! `mma.sync` (tensor-core matrix multiply-accumulate) on every device: each lane loads its
//! fragment registers from memory, the warp runs one `mma`, each lane stores its `D`
//! registers. The matrices hold small integers, so every product and sum is exact and the
//! result is unique: the host computes it and scatters it into fragments by the PTX ISA's
//! layout tables; on a machine with an NVIDIA GPU the kernels run there too, so the GPU
//! confirms the layouts and the CPU device's arithmetic.

mod common;

use common::contexts;

/// One `mma` form: its PTX spelling and its element types.
struct Form {
    name: &'static str,
    /// `mma.sync.aligned.` … suffix: shape, layouts and types.
    spelling: &'static str,
    m: usize,
    n: usize,
    k: usize,
    ab: Ty,
    b: Ty,
    cd: Ty,
}

#[derive(Clone, Copy, PartialEq)]
enum Ty {
    F16,
    Bf16,
    Tf32,
    F32,
    F64,
    S8,
    U8,
    S32,
}

impl Ty {
    fn bits(self) -> usize {
        match self {
            Ty::F16 | Ty::Bf16 => 16,
            Ty::S8 | Ty::U8 => 8,
            Ty::F64 => 64,
            _ => 32,
        }
    }
    /// The register type that holds this element type in PTX.
    fn reg(self) -> &'static str {
        match self {
            Ty::F32 => "f32",
            Ty::F64 => "f64",
            Ty::S32 => "s32",
            _ => "b32",
        }
    }
    /// The bits of a small integer `v` in this type.
    fn encode(self, v: i64) -> u64 {
        match self {
            Ty::F16 => common::half(v) as u64,
            Ty::Bf16 => ((v as f32).to_bits() >> 16) as u64,
            Ty::Tf32 | Ty::F32 => (v as f32).to_bits() as u64,
            Ty::F64 => (v as f64).to_bits(),
            Ty::S8 | Ty::U8 => v as u8 as u64,
            Ty::S32 => v as i32 as u32 as u64,
        }
    }
}

/// Fragment layouts (PTX ISA, "Matrix fragments for mma.m16n8k*"): the (row, col) of element
/// `i` of lane `lane`'s fragment of operand `which` ('a', 'b' or 'c').
fn place(f: &Form, which: char, lane: usize, i: usize) -> (usize, usize) {
    let (g, t) = (lane >> 2, lane & 3);
    let narrow = matches!(f.ab, Ty::F16 | Ty::Bf16);
    let byte = matches!(f.ab, Ty::S8 | Ty::U8);
    match (which, f.k) {
        ('c', _) if f.m == 8 => (g, 2 * t + i),
        ('c', _) => (if i < 2 { g } else { g + 8 }, 2 * t + (i & 1)),
        ('a', _) if f.m == 8 => (g, t),
        ('b', _) if f.m == 8 => (t, g),
        ('a', 16) if narrow => {
            let row = if i < 2 || (4..6).contains(&i) {
                g
            } else {
                g + 8
            };
            (row, 2 * t + (i & 1) + if i >= 4 { 8 } else { 0 })
        }
        ('b', 16) if narrow => (2 * t + (i & 1) + if i >= 2 { 8 } else { 0 }, g),
        ('a', 8) if narrow => (if i < 2 { g } else { g + 8 }, 2 * t + (i & 1)),
        ('b', 8) if narrow => (2 * t + i, g),
        ('a', 8) => (
            if i % 2 == 0 { g } else { g + 8 },
            if i < 2 { t } else { t + 4 },
        ),
        ('b', 8) => (if i == 0 { t } else { t + 4 }, g),
        ('a', 4) => (if i == 0 { g } else { g + 8 }, t),
        ('b', 4) => (t, g),
        ('a', 32) if byte => {
            let row = if i < 4 || (8..12).contains(&i) {
                g
            } else {
                g + 8
            };
            (row, 4 * t + (i & 3) + if i >= 8 { 16 } else { 0 })
        }
        ('b', 32) if byte => (4 * t + (i & 3) + if i >= 4 { 16 } else { 0 }, g),
        ('a', 16) if byte => (if i < 4 { g } else { g + 8 }, 4 * t + (i & 3)),
        ('b', 16) if byte => (4 * t + i, g),
        _ => unreachable!("no layout for {} {which}", f.name),
    }
}

fn regs_of(elems: usize, ty: Ty) -> usize {
    elems.div_ceil((32 / ty.bits()).max(1))
}

/// Packs each lane's elements of a `rows × cols` matrix into its fragment registers.
fn scatter(f: &Form, which: char, ty: Ty, mat: &[i64], cols: usize, elems: usize) -> Vec<u64> {
    let per = (32 / ty.bits()).max(1);
    let nregs = regs_of(elems, ty);
    let mut out = vec![0u64; 32 * nregs];
    for lane in 0..32 {
        for i in 0..elems {
            let (r, c) = place(f, which, lane, i);
            let v = ty.encode(mat[r * cols + c]);
            let bits = ty.bits().min(64);
            out[lane * nregs + i / per] |= if per == 1 { v } else { v << ((i % per) * bits) };
        }
    }
    out
}

fn kernel(f: &Form) -> String {
    let (na, nb) = (regs_of(f.m * f.k / 32, f.ab), regs_of(f.k * f.n / 32, f.b));
    let nc = regs_of(f.m * f.n / 32, f.cd);
    let w = if f.cd == Ty::F64 { 8 } else { 4 };
    let reg = |p: &str, n: usize| (0..n).map(|i| format!("%{p}{i}")).collect::<Vec<_>>();
    let mut body = String::new();
    let mut load = |p: &str, n: usize, bytes: usize, base: &str, ty: &str| {
        for i in 0..n {
            body += &format!("    ld.global.{ty} %{p}{i}, [{base}+{}];\n", i * bytes);
        }
    };
    let abty = if f.ab == Ty::F64 { "f64" } else { "b32" };
    let aw = if f.ab == Ty::F64 { 8 } else { 4 };
    load("a", na, aw, "%rd1", abty);
    load("b", nb, aw, "%rd2", abty);
    load("c", nc, w, "%rd3", f.cd.reg());
    let mut tail = String::new();
    for i in 0..nc {
        tail += &format!("    st.global.{} [%rd4+{}], %d{i};\n", f.cd.reg(), i * w);
    }
    format!(
        r#"
.visible .entry {name}(.param .u64 pa, .param .u64 pb, .param .u64 pc, .param .u64 pd)
{{
    .reg .b32 %r<3>;
    .reg .b64 %rd<9>;
    .reg .{abr} %a<{na}>;
    .reg .{abr} %b<{nb}>;
    .reg .{cr} %c<{nc}>;
    .reg .{cr} %d<{nc}>;
    mov.u32 %r1, %tid.x;
    ld.param.u64 %rd5, [pa];
    ld.param.u64 %rd6, [pb];
    ld.param.u64 %rd7, [pc];
    ld.param.u64 %rd8, [pd];
    mul.wide.u32 %rd1, %r1, {sa};
    add.s64 %rd1, %rd5, %rd1;
    mul.wide.u32 %rd2, %r1, {sb};
    add.s64 %rd2, %rd6, %rd2;
    mul.wide.u32 %rd3, %r1, {sc};
    add.s64 %rd3, %rd7, %rd3;
    mul.wide.u32 %rd4, %r1, {sc};
    add.s64 %rd4, %rd8, %rd4;
{body}    mma.sync.aligned.{spelling} {{{d}}}, {{{a}}}, {{{b}}}, {{{c}}};
{tail}    ret;
}}
"#,
        name = f.name,
        abr = abty,
        cr = f.cd.reg(),
        sa = na * aw,
        sb = nb * aw,
        sc = nc * w,
        spelling = f.spelling,
        d = reg("d", nc).join(", "),
        a = reg("a", na).join(", "),
        b = reg("b", nb).join(", "),
        c = reg("c", nc).join(", "),
    )
}

fn forms() -> Vec<Form> {
    use Ty::*;
    let f = |name, spelling, (m, n, k), ab, b, cd| Form {
        name,
        spelling,
        m,
        n,
        k,
        ab,
        b,
        cd,
    };
    vec![
        f(
            "f16_k16",
            "m16n8k16.row.col.f32.f16.f16.f32",
            (16, 8, 16),
            F16,
            F16,
            F32,
        ),
        f(
            "f16_k16_h",
            "m16n8k16.row.col.f16.f16.f16.f16",
            (16, 8, 16),
            F16,
            F16,
            F16,
        ),
        f(
            "bf16_k16",
            "m16n8k16.row.col.f32.bf16.bf16.f32",
            (16, 8, 16),
            Bf16,
            Bf16,
            F32,
        ),
        f(
            "f16_k8",
            "m16n8k8.row.col.f32.f16.f16.f32",
            (16, 8, 8),
            F16,
            F16,
            F32,
        ),
        f(
            "bf16_k8",
            "m16n8k8.row.col.f32.bf16.bf16.f32",
            (16, 8, 8),
            Bf16,
            Bf16,
            F32,
        ),
        f(
            "tf32_k8",
            "m16n8k8.row.col.f32.tf32.tf32.f32",
            (16, 8, 8),
            Tf32,
            Tf32,
            F32,
        ),
        f(
            "tf32_k4",
            "m16n8k4.row.col.f32.tf32.tf32.f32",
            (16, 8, 4),
            Tf32,
            Tf32,
            F32,
        ),
        f(
            "s8_k32",
            "m16n8k32.row.col.s32.s8.s8.s32",
            (16, 8, 32),
            S8,
            S8,
            S32,
        ),
        f(
            "u8s8_k16",
            "m16n8k16.row.col.s32.u8.s8.s32",
            (16, 8, 16),
            U8,
            S8,
            S32,
        ),
        f(
            "f64_k4",
            "m8n8k4.row.col.f64.f64.f64.f64",
            (8, 8, 4),
            F64,
            F64,
            F64,
        ),
    ]
}

#[test]
fn mma_sync_fragments_and_products_match_the_host() {
    let forms = forms();
    let ptx = format!(
        ".version 8.0\n.target sm_90\n.address_size 64\n{}",
        forms.iter().map(kernel).collect::<String>()
    );
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = |lo: i64, hi: i64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        lo + (seed % (hi - lo + 1) as u64) as i64
    };
    for ctx in contexts() {
        let m = ctx.load_ptx(&ptx).unwrap_or_else(|e| panic!("{e}"));
        for f in &forms {
            let unsigned_a = f.ab == Ty::U8;
            let (lo_a, hi_a) = if unsigned_a {
                (0, 255)
            } else if f.ab == Ty::S8 {
                (-128, 127)
            } else {
                (-4, 4)
            };
            let (lo_b, hi_b) = if f.b == Ty::S8 { (-128, 127) } else { (-4, 4) };
            let a: Vec<i64> = (0..f.m * f.k).map(|_| next(lo_a, hi_a)).collect();
            let b: Vec<i64> = (0..f.k * f.n).map(|_| next(lo_b, hi_b)).collect();
            let c: Vec<i64> = (0..f.m * f.n).map(|_| next(-50, 50)).collect();
            let d: Vec<i64> = (0..f.m * f.n)
                .map(|i| {
                    let (r, col) = (i / f.n, i % f.n);
                    c[i] + (0..f.k)
                        .map(|kk| a[r * f.k + kk] * b[kk * f.n + col])
                        .sum::<i64>()
                })
                .collect();
            let words = |v: Vec<u64>, ty: Ty| -> Vec<u8> {
                let w = if ty == Ty::F64 { 8 } else { 4 };
                v.iter()
                    .flat_map(|x| x.to_le_bytes()[..w].to_vec())
                    .collect()
            };
            let (ea, eb, ec) = (f.m * f.k / 32, f.k * f.n / 32, f.m * f.n / 32);
            let ab_word = if f.ab == Ty::F64 { Ty::F64 } else { Ty::F32 };
            let ha = words(scatter(f, 'a', f.ab, &a, f.k, ea), ab_word);
            let hb = words(scatter(f, 'b', f.b, &b, f.n, eb), ab_word);
            let hc = words(scatter(f, 'c', f.cd, &c, f.n, ec), f.cd);
            let want = words(scatter(f, 'c', f.cd, &d, f.n, ec), f.cd);
            let (da, db, dc) = (
                ctx.upload(&ha).unwrap(),
                ctx.upload(&hb).unwrap(),
                ctx.upload(&hc).unwrap(),
            );
            let dd = ctx.alloc_zeroed::<u8>(want.len()).unwrap();
            let s = ctx.default_stream();
            m.function(f.name)
                .unwrap()
                .launch(1u32, 32u32, 0, &s, &[&da, &db, &dc, &dd])
                .and_then(|()| s.synchronize())
                .unwrap_or_else(|e| panic!("{} on {:?}: {e}", f.name, ctx.device()));
            assert_eq!(
                dd.to_vec().unwrap(),
                want,
                "{} on {:?}",
                f.name,
                ctx.device()
            );
        }
    }
}
