#!/usr/bin/env python3
"""Pairs ferrocuda's gpu_bench lines with baseline.cu's and prints the BENCHMARKS.md table.

Usage: compare.py BASELINE.tsv FERROCUDA.tsv [RUNTIME.tsv]
Each input line: name<TAB>value<TAB>unit<TAB>spread. Ratios are ferrocuda / reference for
times (lower is better) and ferrocuda / reference for bandwidths (higher is better).
"""
import sys

PAIRS = [
    # (what, ferrocuda line, reference line, target)
    ("empty kernel, enqueue", "launch_enqueue_empty_ferrocuda", "launch_enqueue_empty_cuLaunchKernel", "<= 1.05x"),
    ("empty kernel, enqueue (launch!)", "launch_enqueue_empty_launch_macro", "launch_enqueue_empty_cuLaunchKernel", "<= 1.05x"),
    ("empty kernel, enqueue, cudart <<<>>>", "launch_enqueue_empty_cudart", "launch_enqueue_empty_cuLaunchKernel", "(reference)"),
    ("8-arg kernel, enqueue", "launch_enqueue_args8_ferrocuda", "launch_enqueue_args8_cuLaunchKernel", "<= 1.05x"),
    ("8-arg kernel, enqueue (launch!)", "launch_enqueue_args8_launch_macro", "launch_enqueue_args8_cuLaunchKernel", "<= 1.05x"),
    ("launch + sync round trip", "launch_sync_roundtrip_ferrocuda", "launch_sync_roundtrip_cuLaunchKernel", "<= 1.05x"),
    ("launch + sync round trip (launch!)", "launch_sync_roundtrip_launch_macro", "launch_sync_roundtrip_cuLaunchKernel", "<= 1.05x"),
    ("H2D 256 MiB pinned", "memcpy_h2d_pinned_ferrocuda", "memcpy_h2d_pinned_cudart", ">= 0.97x"),
    ("D2H 256 MiB pinned", "memcpy_d2h_pinned_ferrocuda", "memcpy_d2h_pinned_cudart", ">= 0.97x"),
    ("D2D 256 MiB", "memcpy_d2d_ferrocuda", "memcpy_d2d_cudart", ">= 0.97x"),
    ("H2D 256 MiB pageable, driver plain copy", "memcpy_h2d_pageable_ferrocuda_driver", "memcpy_h2d_pageable_cudart", "(plain)"),
    ("D2H 256 MiB pageable, driver plain copy", "memcpy_d2h_pageable_ferrocuda_driver", "memcpy_d2h_pageable_cudart", "(plain)"),
    ("H2D 256 MiB pageable, runtime memcpy", "memcpy_h2d_pageable_ferrocuda_runtime", "memcpy_h2d_pageable_cudart", ">= 2x"),
    ("D2H 256 MiB pageable, runtime memcpy", "memcpy_d2h_pageable_ferrocuda_runtime", "memcpy_d2h_pageable_cudart", ">= 2x"),
    ("4-byte H2D latency", "memcpy_4B_h2d_ferrocuda", "memcpy_4B_h2d_cudart", ""),
    ("4-byte D2H latency", "memcpy_4B_d2h_ferrocuda", "memcpy_4B_d2h_cudart", ""),
    ("module load, PTX first", "module_load_ptx_first", "module_load_ptx_first", ""),
    ("module load, PTX again", "module_load_ptx_again", "module_load_ptx_again", ""),
    ("module load, cubin", "module_load_cubin", "module_load_cubin", ""),
    ("first-call initialisation", "init_first_call", "init_first_call", ""),
    ("cuMemAlloc 1 MiB", "alloc_1MiB", "alloc_1MiB", ""),
    ("cuMemFree 1 MiB", "free_1MiB", "free_1MiB", ""),
]


def load(path):
    rows = {}
    for line in open(path):
        parts = line.rstrip("\n").split("\t")
        if len(parts) >= 3:
            try:
                rows[parts[0]] = (float(parts[1]), parts[2], parts[3] if len(parts) > 3 else "")
            except ValueError:
                rows[parts[0]] = (parts[1], parts[2], parts[3] if len(parts) > 3 else "")
    return rows


def main():
    base = load(sys.argv[1])
    ours = {}
    for p in sys.argv[2:]:
        ours.update(load(p))
    print("| measurement | ferrocuda | CUDA C | ratio | target |")
    print("| --- | --- | --- | --- | --- |")
    for what, mine, ref, target in PAIRS:
        src = base if mine.endswith("_cudart") else ours
        if mine not in src or ref not in base:
            continue
        (a, unit, sa), (b, _, sb) = src[mine], base[ref]
        ratio = a / b if isinstance(a, float) and isinstance(b, float) and b else float("nan")
        print(f"| {what} | {a:.3f} {unit} ({sa}) | {b:.3f} {unit} ({sb}) | {ratio:.3f}x | {target} |")


if __name__ == "__main__":
    main()
