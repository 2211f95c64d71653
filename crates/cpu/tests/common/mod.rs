//! Helpers shared by the executor's integration tests.
#![allow(dead_code)]

use ferrocuda_cpu::{Compilation, Device, Error, LaunchConfig, LoadedModule};
use std::sync::OnceLock;

/// The tests' device: it compiles every kernel the compiler covers at its first launch, so the
/// tests run compiled code wherever it exists (`compiled.rs` compares it with the interpreter).
pub fn device() -> &'static Device {
    static D: OnceLock<Device> = OnceLock::new();
    D.get_or_init(|| {
        let mut d = Device::with_workers(4);
        d.set_compilation(Compilation::Eager);
        d
    })
}

pub fn load(src: &str) -> LoadedModule {
    let m = ferrocuda_ptx::parse(src).unwrap_or_else(|e| panic!("parse: {e}"));
    device()
        .load_module(&m)
        .unwrap_or_else(|e| panic!("load: {e}"))
}

pub fn try_load(src: &str) -> Result<LoadedModule, Error> {
    let m = ferrocuda_ptx::parse(src).unwrap_or_else(|e| panic!("parse: {e}"));
    device().load_module(&m)
}

/// Packed kernel parameters.
#[derive(Default)]
pub struct Params(pub Vec<u8>);

impl Params {
    pub fn u64(mut self, v: u64) -> Self {
        while self.0.len() % 8 != 0 {
            self.0.push(0);
        }
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u32(mut self, v: u32) -> Self {
        while self.0.len() % 4 != 0 {
            self.0.push(0);
        }
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn f32(self, v: f32) -> Self {
        self.u32(v.to_bits())
    }
}

pub fn cfg(grid: [u32; 3], block: [u32; 3], dynamic_shared: u32) -> LaunchConfig {
    LaunchConfig {
        grid,
        block,
        dynamic_shared,
    }
}

pub fn run(m: &LoadedModule, name: &str, c: LaunchConfig, p: Params) -> Result<(), Error> {
    let k = m.kernel(name).unwrap_or_else(|| panic!("no kernel {name}"));
    device().launch(&k, &c, &p.0)
}

pub fn upload_u32(v: &[u32]) -> u64 {
    let a = device()
        .memory()
        .alloc((v.len() * 4).max(1) as u64)
        .unwrap();
    let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    device().memory().write(a, &b).unwrap();
    a
}

pub fn upload_f32(v: &[f32]) -> u64 {
    upload_u32(&v.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
}

pub fn download_u32(a: u64, n: usize) -> Vec<u32> {
    let mut b = vec![0u8; n * 4];
    device().memory().read(a, &mut b).unwrap();
    b.chunks(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

pub fn download_f32(a: u64, n: usize) -> Vec<f32> {
    download_u32(a, n).into_iter().map(f32::from_bits).collect()
}

pub fn download_u64(a: u64, n: usize) -> Vec<u64> {
    let mut b = vec![0u8; n * 8];
    device().memory().read(a, &mut b).unwrap();
    b.chunks(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}
