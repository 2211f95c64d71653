//! The worker loop (blocks, warps, instructions) compiled a second time for the host's vector
//! unit.
//!
//! Lane loops over 32 lanes of 64-bit registers are where the executor spends its time; with
//! AVX2 they take half the instructions of the baseline x86-64 build, and `fma.rn.f32` becomes
//! one instruction. The crate is built for the baseline so that it runs on every x86-64 CPU;
//! this module holds a copy of the loop built with those features, chosen at run time where
//! the CPU has them. This is the crate's only `unsafe` outside the memory module.

#![allow(unsafe_code)]

use super::Launch;

/// The CPU can run [`work_v3`] (x86-64-v3: AVX2, FMA, BMI1/2, LZCNT, POPCNT).
/// `FERROCUDA_CPU_BASELINE=1` turns it off, to compare or to rule it out.
pub(crate) fn available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        if std::env::var_os("FERROCUDA_CPU_BASELINE").is_some_and(|v| v != "0") {
            return false;
        }
        detect()
    })
}

#[cfg(target_arch = "x86_64")]
fn detect() -> bool {
    std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
        && std::is_x86_feature_detected!("bmi1")
        && std::is_x86_feature_detected!("bmi2")
        && std::is_x86_feature_detected!("lzcnt")
        && std::is_x86_feature_detected!("popcnt")
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> bool {
    false
}

/// Runs [`Launch::work`] with the x86-64-v3 build; only called when [`available`].
#[cfg(target_arch = "x86_64")]
pub(super) fn work_v3(l: &Launch, smid: u32) {
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
    unsafe fn v3(l: &Launch, smid: u32) {
        l.work_inner::<true>(smid)
    }
    debug_assert!(available());
    // SAFETY: `available()` checked at run time that this CPU has every feature `v3` was
    // compiled for; that is the only requirement of a `#[target_feature]` function.
    unsafe { v3(l, smid) }
}

/// Other architectures have no second build (NEON is part of the aarch64 baseline).
#[cfg(not(target_arch = "x86_64"))]
pub(super) fn work_v3(l: &Launch, smid: u32) {
    l.work_inner::<false>(smid)
}
