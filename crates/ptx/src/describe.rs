//! A printable summary of a parsed module: what `fcuda ptx` shows a user.
//!
//! It lists each kernel's parameter layout (the bytes a launch must pack), launch bounds,
//! register counts per type and function-scope variables, then device functions and module
//! variables. The output is deterministic, so it doubles as a stable snapshot in tests.

use std::fmt::Write;

use crate::ir::*;

/// Renders the summary of `m` as text (one item per line, two-space indentation).
pub fn describe(m: &Module) -> String {
    let mut out = String::new();
    let target = if m.target.is_empty() {
        "(none)".to_string()
    } else {
        m.target.join(", ")
    };
    let _ = writeln!(
        out,
        "PTX {}.{}, target {}, {}-bit addresses",
        m.version.0, m.version.1, target, m.address_size
    );
    for f in &m.functions {
        function(&mut out, f);
    }
    if !m.globals.is_empty() {
        let _ = writeln!(out, "globals:");
        for g in &m.globals {
            out.push_str("  ");
            variable(&mut out, g);
        }
    }
    out
}

fn linkage(l: Linkage) -> &'static str {
    match l {
        Linkage::Internal => "internal",
        Linkage::Visible => "visible",
        Linkage::Extern => "extern",
        Linkage::Weak => "weak",
        Linkage::Common => "common",
    }
}

fn function(out: &mut String, f: &Function) {
    let kind = match f.kind {
        FunctionKind::Entry => "kernel",
        FunctionKind::Func => "function",
    };
    let body = match &f.body {
        Some(b) => format!("{} instructions", b.len()),
        None => "declaration".to_string(),
    };
    let _ = writeln!(
        out,
        "{kind} {} ({}, {body}{})",
        f.name,
        linkage(f.linkage),
        if f.noreturn { ", noreturn" } else { "" }
    );
    if !f.returns.is_empty() {
        let _ = writeln!(out, "  returns:");
        for p in &f.returns {
            param(out, p);
        }
    }
    if !f.params.is_empty() {
        let _ = writeln!(out, "  params ({} bytes):", f.param_bytes());
        for p in &f.params {
            param(out, p);
        }
    }
    let b = &f.bounds;
    let mut bounds = Vec::new();
    if let Some([x, y, z]) = b.maxntid {
        bounds.push(format!("maxntid {x}x{y}x{z}"));
    }
    if let Some([x, y, z]) = b.reqntid {
        bounds.push(format!("reqntid {x}x{y}x{z}"));
    }
    if let Some(n) = b.minnctapersm {
        bounds.push(format!("minnctapersm {n}"));
    }
    if let Some(n) = b.maxnctapersm {
        bounds.push(format!("maxnctapersm {n}"));
    }
    if let Some(n) = b.maxnreg {
        bounds.push(format!("maxnreg {n}"));
    }
    if !bounds.is_empty() {
        let _ = writeln!(out, "  launch bounds: {}", bounds.join(", "));
    }
    if !f.regs.is_empty() {
        let mut counts: Vec<(ScalarType, Option<u8>, usize)> = Vec::new();
        for r in &f.regs {
            match counts
                .iter_mut()
                .find(|(t, v, _)| *t == r.ty && *v == r.vector)
            {
                Some(c) => c.2 += 1,
                None => counts.push((r.ty, r.vector, 1)),
            }
        }
        let parts: Vec<String> = counts
            .iter()
            .map(|(t, v, n)| match v {
                Some(v) => format!(".v{v}{t} {n}"),
                None => format!("{t} {n}"),
            })
            .collect();
        let _ = writeln!(out, "  registers: {} ({})", f.regs.len(), parts.join(", "));
    }
    if !f.locals.is_empty() {
        let _ = writeln!(out, "  variables:");
        for v in &f.locals {
            out.push_str("    ");
            variable(out, v);
        }
    }
    if !f.pragmas.is_empty() {
        let _ = writeln!(out, "  pragmas: {}", f.pragmas.join(", "));
    }
}

fn param(out: &mut String, p: &Param) {
    let ty = if p.count == 1 {
        p.ty.name().to_string()
    } else {
        format!("{}[{}]", p.ty, p.count)
    };
    let ptr = match p.ptr {
        Some(PtrAttr { space, align }) => format!(
            "  ptr {} align {align}",
            space.map_or("generic", StateSpace::name)
        ),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "    {} {ty} size {} align {} offset {}{ptr}",
        p.name, p.size, p.align, p.offset
    );
}

fn variable(out: &mut String, v: &Variable) {
    let elem = if v.vector > 1 {
        format!(".v{}{}", v.vector, v.ty)
    } else {
        v.ty.name().to_string()
    };
    let init = match &v.init {
        Some(_) if v.relocations.is_empty() => "initialised".to_string(),
        Some(_) => format!("initialised, {} relocations", v.relocations.len()),
        None => "uninitialised".to_string(),
    };
    let link = if v.linkage == Linkage::Internal {
        String::new()
    } else {
        format!(" {}", linkage(v.linkage))
    };
    let _ = writeln!(
        out,
        "{} {} {elem}[{}] size {} align {}{link} {init}",
        v.space.name(),
        v.name,
        v.count,
        v.size,
        v.align
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarises_kernels_and_globals() {
        let src = ".version 8.0\n.target sm_80\n.address_size 64\n\
            .global .align 4 .u32 g = 7;\n\
            .visible .entry k(.param .u64 .ptr .global .align 16 p, .param .u32 n)\n\
            .reqntid 64\n{\n.reg .b32 %r<3>;\n.reg .pred %p;\n\
            .shared .align 8 .b8 s[64];\nret;\n}\n";
        let m = crate::parse(src).unwrap();
        let text = describe(&m);
        let expected = "PTX 8.0, target sm_80, 64-bit addresses\n\
            kernel k (visible, 1 instructions)\n\
            \x20 params (12 bytes):\n\
            \x20   p .u64 size 8 align 8 offset 0  ptr .global align 16\n\
            \x20   n .u32 size 4 align 4 offset 8\n\
            \x20 launch bounds: reqntid 64x1x1\n\
            \x20 registers: 4 (.b32 3, .pred 1)\n\
            \x20 variables:\n\
            \x20   .shared s .b8[64] size 64 align 8 uninitialised\n\
            globals:\n\
            \x20 .global g .u32[1] size 4 align 4 initialised\n";
        assert_eq!(text, expected);
    }
}
