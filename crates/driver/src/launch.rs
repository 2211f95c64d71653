//! Kernel launches: configurations, arguments marshalled from Rust values, and the checks
//! that turn a wrong argument list or configuration into an error instead of undefined
//! behaviour.

use crate::error::{Error, Result};
use crate::memory::{DeviceBuffer, DevicePtr};
use crate::module::KernelSignature;

/// Grid or block dimensions (`dim3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dim3 {
    /// Extent in x.
    pub x: u32,
    /// Extent in y.
    pub y: u32,
    /// Extent in z.
    pub z: u32,
}

impl Dim3 {
    /// `x * y * z`, widened so it cannot overflow.
    pub fn volume(self) -> u64 {
        u64::from(self.x) * u64::from(self.y) * u64::from(self.z)
    }
}

impl From<u32> for Dim3 {
    fn from(x: u32) -> Dim3 {
        Dim3 { x, y: 1, z: 1 }
    }
}

impl From<(u32, u32)> for Dim3 {
    fn from((x, y): (u32, u32)) -> Dim3 {
        Dim3 { x, y, z: 1 }
    }
}

impl From<(u32, u32, u32)> for Dim3 {
    fn from((x, y, z): (u32, u32, u32)) -> Dim3 {
        Dim3 { x, y, z }
    }
}

impl From<[u32; 3]> for Dim3 {
    fn from([x, y, z]: [u32; 3]) -> Dim3 {
        Dim3 { x, y, z }
    }
}

/// Where and how wide a kernel runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaunchConfig {
    /// Blocks in the grid.
    pub grid: Dim3,
    /// Threads in a block.
    pub block: Dim3,
    /// Dynamic shared memory per block, in bytes.
    pub shared_bytes: u32,
}

impl LaunchConfig {
    /// A 1-D configuration covering `n` threads with `block` threads per block.
    pub fn for_num_elems(n: u32, block: u32) -> LaunchConfig {
        let block = block.max(1);
        LaunchConfig {
            grid: Dim3::from(n.div_ceil(block).max(1)),
            block: Dim3::from(block),
            shared_bytes: 0,
        }
    }
}

/// The device limits a configuration is checked against before it reaches a platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaunchLimits {
    /// Largest block in each dimension.
    pub max_block: [u32; 3],
    /// Largest grid in each dimension.
    pub max_grid: [u32; 3],
    /// Most threads in one block.
    pub max_threads_per_block: u32,
}

/// Checks a configuration the way CUDA 13 does: zero dimensions, blocks or grids larger than
/// the device allows are `CUDA_ERROR_INVALID_VALUE`.
pub(crate) fn check_config(kernel: &str, cfg: &LaunchConfig, lim: &LaunchLimits) -> Result<()> {
    let g = [cfg.grid.x, cfg.grid.y, cfg.grid.z];
    let b = [cfg.block.x, cfg.block.y, cfg.block.z];
    if g.contains(&0) || b.contains(&0) {
        return Err(Error::invalid_value(format!(
            "launch of `{kernel}`: grid {g:?} and block {b:?} must have no zero dimension"
        )));
    }
    for (axis, name) in ["x", "y", "z"].iter().enumerate() {
        if b[axis] > lim.max_block[axis] {
            return Err(Error::invalid_value(format!(
                "launch of `{kernel}`: block.{name} = {} exceeds the device maximum {}",
                b[axis], lim.max_block[axis]
            )));
        }
        if g[axis] > lim.max_grid[axis] {
            return Err(Error::invalid_value(format!(
                "launch of `{kernel}`: grid.{name} = {} exceeds the device maximum {}",
                g[axis], lim.max_grid[axis]
            )));
        }
    }
    if cfg.block.volume() > u64::from(lim.max_threads_per_block) {
        return Err(Error::invalid_value(format!(
            "launch of `{kernel}`: {} threads per block exceed the device maximum {}",
            cfg.block.volume(),
            lim.max_threads_per_block
        )));
    }
    Ok(())
}

/// The bytes of one kernel argument, as the kernel's `.param` space receives them.
#[derive(Debug, Clone, Copy)]
pub struct KernelArg<'a> {
    repr: Repr<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Repr<'a> {
    Inline { bytes: [u8; 8], len: u8 },
    Borrowed(&'a [u8]),
}

impl<'a> KernelArg<'a> {
    /// Raw bytes: the way to pass a `#[repr(C)]` struct (its bytes, e.g. from
    /// `bytemuck::bytes_of`) or anything else the scalar impls do not cover.
    pub fn bytes(bytes: &'a [u8]) -> KernelArg<'a> {
        KernelArg {
            repr: Repr::Borrowed(bytes),
        }
    }

    /// Any plain-old-data value, by its in-memory bytes.
    pub fn pod<T: bytemuck::Pod>(value: &'a T) -> KernelArg<'a> {
        KernelArg::bytes(bytemuck::bytes_of(value))
    }

    fn inline(src: &[u8]) -> KernelArg<'static> {
        let mut bytes = [0u8; 8];
        bytes[..src.len()].copy_from_slice(src);
        KernelArg {
            repr: Repr::Inline {
                bytes,
                len: src.len() as u8,
            },
        }
    }

    /// The argument's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.repr {
            Repr::Inline { bytes, len } => &bytes[..usize::from(*len)],
            Repr::Borrowed(b) => b,
        }
    }
}

/// A Rust value that can be passed to a kernel parameter (cudarc's `DeviceRepr`).
///
/// Implemented for the integer and float types, `bool`, [`DevicePtr`] and [`DeviceBuffer`]
/// (which passes its device address). Use [`KernelArg::bytes`] or [`KernelArg::pod`] for
/// structs.
pub trait DeviceRepr {
    /// The bytes this value passes.
    fn as_kernel_arg(&self) -> KernelArg<'_>;
}

macro_rules! scalar_repr {
    ($($t:ty),*) => {$(
        impl DeviceRepr for $t {
            fn as_kernel_arg(&self) -> KernelArg<'_> {
                KernelArg::inline(&self.to_le_bytes())
            }
        }
    )*};
}
scalar_repr!(u8, u16, u32, u64, i8, i16, i32, i64, f32, f64, usize, isize);

impl DeviceRepr for bool {
    fn as_kernel_arg(&self) -> KernelArg<'_> {
        KernelArg::inline(&[u8::from(*self)])
    }
}

impl DeviceRepr for DevicePtr {
    fn as_kernel_arg(&self) -> KernelArg<'_> {
        KernelArg::inline(&self.as_raw().to_le_bytes())
    }
}

impl<T: bytemuck::Pod> DeviceRepr for DeviceBuffer<T> {
    fn as_kernel_arg(&self) -> KernelArg<'_> {
        KernelArg::inline(&self.device_ptr().as_raw().to_le_bytes())
    }
}

impl DeviceRepr for KernelArg<'_> {
    fn as_kernel_arg(&self) -> KernelArg<'_> {
        *self
    }
}

impl<T: DeviceRepr + ?Sized> DeviceRepr for &T {
    fn as_kernel_arg(&self) -> KernelArg<'_> {
        (**self).as_kernel_arg()
    }
}

impl<T: DeviceRepr + ?Sized> DeviceRepr for &mut T {
    fn as_kernel_arg(&self) -> KernelArg<'_> {
        (**self).as_kernel_arg()
    }
}

/// Arguments packed into a `.param` buffer, with where each one lies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PackedArgs {
    pub bytes: Vec<u8>,
    /// `(offset, size)` of each parameter in `bytes`.
    pub params: Vec<(u32, u32)>,
    /// Whether the layout came from the kernel (checked) or was guessed from the arguments.
    pub layout_known: bool,
}

/// Packs `args` against the kernel's parameter layout, checking count and sizes; without a
/// layout, packs each argument at its natural alignment.
pub(crate) fn pack_args(
    kernel: &str,
    layout: Option<&KernelSignature>,
    args: &[&dyn DeviceRepr],
) -> Result<PackedArgs> {
    let args: Vec<KernelArg<'_>> = args.iter().map(|a| a.as_kernel_arg()).collect();
    match layout {
        Some(sig) => {
            if sig.params.len() != args.len() {
                return Err(Error::invalid_value(format!(
                    "kernel `{kernel}` takes {} parameter{}, {} argument{} given",
                    sig.params.len(),
                    if sig.params.len() == 1 { "" } else { "s" },
                    args.len(),
                    if args.len() == 1 { "" } else { "s" },
                )));
            }
            let total = sig
                .params
                .iter()
                .map(|p| p.offset as usize + p.size as usize)
                .max()
                .unwrap_or(0);
            let mut bytes = vec![0u8; total];
            let mut params = Vec::with_capacity(args.len());
            for (i, (p, a)) in sig.params.iter().zip(&args).enumerate() {
                let given = a.as_bytes();
                if given.len() != p.size as usize {
                    return Err(Error::invalid_value(format!(
                        "kernel `{kernel}` parameter {i} (`{}`): expected {} bytes, got {}",
                        p.name,
                        p.size,
                        given.len()
                    )));
                }
                let at = p.offset as usize;
                bytes[at..at + given.len()].copy_from_slice(given);
                params.push((p.offset, p.size));
            }
            Ok(PackedArgs {
                bytes,
                params,
                layout_known: true,
            })
        }
        None => {
            let mut bytes = Vec::new();
            let mut params = Vec::with_capacity(args.len());
            for a in &args {
                let b = a.as_bytes();
                let align = b.len().clamp(1, 8).next_power_of_two();
                while bytes.len() % align != 0 {
                    bytes.push(0);
                }
                params.push((bytes.len() as u32, b.len() as u32));
                bytes.extend_from_slice(b);
            }
            Ok(PackedArgs {
                bytes,
                params,
                layout_known: false,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrocuda_ptx::ir::ParamLayout;

    fn sig() -> KernelSignature {
        KernelSignature {
            name: "k".into(),
            params: vec![
                ParamLayout {
                    name: "data".into(),
                    offset: 0,
                    size: 8,
                    align: 8,
                },
                ParamLayout {
                    name: "n".into(),
                    offset: 8,
                    size: 4,
                    align: 4,
                },
            ],
        }
    }

    #[test]
    fn packs_at_the_layout_offsets() {
        let p = DevicePtr::from_raw(0x1122_3344_5566_7788);
        let n = 7u32;
        let packed = pack_args("k", Some(&sig()), &[&p, &n]).unwrap();
        assert!(packed.layout_known);
        assert_eq!(packed.params, vec![(0, 8), (8, 4)]);
        assert_eq!(&packed.bytes[..8], &0x1122_3344_5566_7788u64.to_le_bytes());
        assert_eq!(&packed.bytes[8..12], &7u32.to_le_bytes());
    }

    #[test]
    fn wrong_count_and_size_are_invalid_value_naming_the_parameter() {
        let p = DevicePtr::from_raw(256);
        let e = pack_args("k", Some(&sig()), &[&p]).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InvalidValue);
        assert!(
            e.to_string()
                .contains("takes 2 parameters, 1 argument given"),
            "{e}"
        );
        let e = pack_args("k", Some(&sig()), &[&p, &7u64]).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InvalidValue);
        assert!(
            e.to_string()
                .contains("parameter 1 (`n`): expected 4 bytes, got 8"),
            "{e}"
        );
    }

    #[test]
    fn struct_bytes_and_guessed_layout() {
        let s = [1u8, 2, 3];
        let packed = pack_args("k", None, &[&KernelArg::bytes(&s), &5u64, &1u16]).unwrap();
        assert!(!packed.layout_known);
        assert_eq!(packed.params, vec![(0, 3), (8, 8), (16, 2)]);
        assert_eq!(KernelArg::pod(&2.5f32).as_bytes(), &2.5f32.to_le_bytes());
        assert_eq!(true.as_kernel_arg().as_bytes(), &[1]);
    }

    #[test]
    fn config_checks() {
        let lim = LaunchLimits {
            max_block: [1024, 1024, 64],
            max_grid: [i32::MAX as u32, 65535, 65535],
            max_threads_per_block: 1024,
        };
        let ok = LaunchConfig::for_num_elems(1000, 256);
        assert_eq!(ok.grid, Dim3::from(4));
        check_config("k", &ok, &lim).unwrap();
        for (g, b) in [
            (Dim3::from(0), Dim3::from(1)),
            (Dim3::from(1), Dim3::from((1, 0))),
            (Dim3::from(1), Dim3::from(1025)),
            (Dim3::from(1), Dim3::from((1, 1, 65))),
            (Dim3::from(1), Dim3::from((64, 32))),
            (Dim3::from((1, 65536)), Dim3::from(1)),
        ] {
            let cfg = LaunchConfig {
                grid: g,
                block: b,
                shared_bytes: 0,
            };
            let e = check_config("k", &cfg, &lim).unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::InvalidValue, "{g:?} {b:?}");
        }
    }
}
