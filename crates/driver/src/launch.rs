//! Kernel launches: configurations, arguments marshalled from Rust values, and the checks
//! that turn a wrong argument list or configuration into an error instead of undefined
//! behaviour.

use smallvec::SmallVec;

use crate::error::{Error, Result};
use crate::memory::{DeviceBuffer, DevicePtr};
use crate::module::{KernelSignature, ParamLayout};

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

impl LaunchLimits {
    /// Whether `grid` × `block` is a configuration these limits allow: no dimension zero or
    /// above its maximum, no more threads per block than allowed. The launch paths ask this
    /// first and only work out which limit was broken (for the error) when it is `false`.
    #[inline]
    pub fn fits(&self, grid: Dim3, block: Dim3) -> bool {
        // `v - 1 < max` (wrapping) is `1 <= v <= max`.
        let within = |v: u32, max: u32| v.wrapping_sub(1) < max;
        within(grid.x, self.max_grid[0])
            & within(grid.y, self.max_grid[1])
            & within(grid.z, self.max_grid[2])
            & within(block.x, self.max_block[0])
            & within(block.y, self.max_block[1])
            & within(block.z, self.max_block[2])
            & (block.volume() <= u64::from(self.max_threads_per_block))
    }

    /// Which limit `grid` × `block` breaks, in words (`None` when it [`fits`](Self::fits)):
    /// what the driver's and the runtime's configuration errors say.
    #[cold]
    pub fn broken(&self, grid: Dim3, block: Dim3) -> Option<String> {
        let g = [grid.x, grid.y, grid.z];
        let b = [block.x, block.y, block.z];
        if g.contains(&0) || b.contains(&0) {
            return Some(format!(
                "grid {g:?} and block {b:?} must have no zero dimension"
            ));
        }
        for (axis, name) in ["x", "y", "z"].iter().enumerate() {
            if b[axis] > self.max_block[axis] {
                return Some(format!(
                    "block.{name} = {} exceeds the device maximum {}",
                    b[axis], self.max_block[axis]
                ));
            }
            if g[axis] > self.max_grid[axis] {
                return Some(format!(
                    "grid.{name} = {} exceeds the device maximum {}",
                    g[axis], self.max_grid[axis]
                ));
            }
        }
        if block.volume() > u64::from(self.max_threads_per_block) {
            return Some(format!(
                "{} threads per block exceed the device maximum {}",
                block.volume(),
                self.max_threads_per_block
            ));
        }
        None
    }
}

/// Checks a configuration the way CUDA 13 does: zero dimensions, blocks or grids larger than
/// the device allows are `CUDA_ERROR_INVALID_VALUE`.
#[inline]
pub(crate) fn check_config(kernel: &str, cfg: &LaunchConfig, lim: &LaunchLimits) -> Result<()> {
    if lim.fits(cfg.grid, cfg.block) {
        Ok(())
    } else {
        Err(config_error(kernel, cfg, lim))
    }
}

/// The error for a configuration [`LaunchLimits::fits`] refused, naming the limit broken.
#[cold]
#[inline(never)]
fn config_error(kernel: &str, cfg: &LaunchConfig, lim: &LaunchLimits) -> Error {
    let why = lim
        .broken(cfg.grid, cfg.block)
        .unwrap_or_else(|| "no limit is broken".into());
    Error::invalid_value(format!("launch of `{kernel}`: {why}"))
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

    /// A scalar's bytes, held in the argument (`N` is at most 8).
    #[inline]
    fn inline<const N: usize>(src: [u8; N]) -> KernelArg<'static> {
        let mut bytes = [0u8; 8];
        bytes[..N].copy_from_slice(&src);
        KernelArg {
            repr: Repr::Inline {
                bytes,
                len: N as u8,
            },
        }
    }

    /// The argument's bytes.
    #[inline]
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
                KernelArg::inline(self.to_le_bytes())
            }
        }
    )*};
}
scalar_repr!(u8, u16, u32, u64, i8, i16, i32, i64, f32, f64, usize, isize);

impl DeviceRepr for bool {
    fn as_kernel_arg(&self) -> KernelArg<'_> {
        KernelArg::inline([u8::from(*self)])
    }
}

impl DeviceRepr for DevicePtr {
    fn as_kernel_arg(&self) -> KernelArg<'_> {
        KernelArg::inline(self.as_raw().to_le_bytes())
    }
}

impl<T: bytemuck::Pod> DeviceRepr for DeviceBuffer<T> {
    fn as_kernel_arg(&self) -> KernelArg<'_> {
        KernelArg::inline(self.device_ptr().as_raw().to_le_bytes())
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

/// Bytes of packed arguments held inline, without a heap allocation: enough for 32
/// pointers. Larger parameter lists spill to the heap.
pub(crate) const INLINE_ARG_BYTES: usize = 256;

/// Zeroes to start an inline parameter buffer from.
static ZEROES: [u8; INLINE_ARG_BYTES] = [0; INLINE_ARG_BYTES];

/// Parameters whose argument pointers a launch keeps on the stack (NVIDIA's
/// `cuLaunchKernel` takes one pointer per parameter); more spill to the heap.
pub(crate) const INLINE_PARAMS: usize = 32;

/// Arguments packed into a `.param` buffer, with where each one lies. The bytes are held
/// inline up to [`INLINE_ARG_BYTES`]; with a known layout the parameters' places are the
/// layout's own, so the common launch packs without allocating or copying the layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PackedArgs<'a> {
    bytes: SmallVec<[u8; INLINE_ARG_BYTES]>,
    params: Params<'a>,
}

/// Where each packed parameter lies.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Params<'a> {
    /// The kernel's layout: the arguments were checked against it.
    Known(&'a [ParamLayout]),
    /// `(offset, size)` of each argument, guessed from the arguments themselves.
    Guessed(Vec<(u32, u32)>),
}

impl PackedArgs<'_> {
    /// No arguments yet: what [`pack_args`] fills in.
    pub(crate) fn new() -> Self {
        PackedArgs {
            bytes: SmallVec::new(),
            params: Params::Known(&[]),
        }
    }

    /// The `.param` buffer.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether the layout came from the kernel (checked) or was guessed from the arguments.
    pub(crate) fn layout_known(&self) -> bool {
        matches!(self.params, Params::Known(_))
    }

    /// The number of parameters.
    pub(crate) fn param_count(&self) -> usize {
        match &self.params {
            Params::Known(p) => p.len(),
            Params::Guessed(p) => p.len(),
        }
    }

    /// `(offset, size)` of each parameter in [`PackedArgs::bytes`].
    pub(crate) fn params(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        let (known, guessed) = match &self.params {
            Params::Known(p) => (*p, &[][..]),
            Params::Guessed(p) => (&[][..], &p[..]),
        };
        known
            .iter()
            .map(|p| (p.offset, p.size))
            .chain(guessed.iter().copied())
    }
}

/// Copies one argument's bytes into its place; the usual sizes as single moves rather than a
/// `memcpy` call.
#[inline]
fn copy_param(dst: &mut [u8], src: &[u8]) {
    match src.len() {
        8 => dst[..8].copy_from_slice(&src[..8]),
        4 => dst[..4].copy_from_slice(&src[..4]),
        _ => dst.copy_from_slice(src),
    }
}

/// Bytes of a kernel's `.param` space: the end of its last parameter.
pub(crate) fn param_bytes(sig: &KernelSignature) -> usize {
    sig.params
        .iter()
        .map(|p| p.offset as usize + p.size as usize)
        .max()
        .unwrap_or(0)
}

/// Packs `args` into `out` against the kernel's parameter layout (with its
/// [`param_bytes`]), checking count and sizes; without a layout, packs each argument at its
/// natural alignment. Filled in place: returning the 256-byte inline buffer by value costs a
/// copy on every launch (about 170 host instructions).
pub(crate) fn pack_args<'a>(
    kernel: &str,
    layout: Option<(&'a KernelSignature, usize)>,
    args: &[&dyn DeviceRepr],
    out: &mut PackedArgs<'a>,
) -> Result<()> {
    match layout {
        Some((sig, total)) => {
            if sig.params.len() != args.len() {
                return Err(Error::invalid_value(format!(
                    "kernel `{kernel}` takes {} parameter{}, {} argument{} given",
                    sig.params.len(),
                    if sig.params.len() == 1 { "" } else { "s" },
                    args.len(),
                    if args.len() == 1 { "" } else { "s" },
                )));
            }
            out.bytes.clear();
            // One copy of zeroes (`resize` would push byte by byte).
            match ZEROES.get(..total) {
                Some(z) => out.bytes.extend_from_slice(z),
                None => out.bytes.resize(total, 0),
            }
            let buf = out.bytes.as_mut_slice();
            for (i, p) in sig.params.iter().enumerate() {
                let arg = args[i].as_kernel_arg();
                let given = arg.as_bytes();
                if given.len() != p.size as usize {
                    return Err(Error::invalid_value(format!(
                        "kernel `{kernel}` parameter {i} (`{}`): expected {} bytes, got {}",
                        p.name,
                        p.size,
                        given.len()
                    )));
                }
                let at = p.offset as usize;
                copy_param(&mut buf[at..at + given.len()], given);
            }
            out.params = Params::Known(&sig.params);
        }
        None => {
            let mut params = Vec::with_capacity(args.len());
            out.bytes.clear();
            for a in args {
                let arg = a.as_kernel_arg();
                let b = arg.as_bytes();
                let align = b.len().clamp(1, 8).next_power_of_two();
                while out.bytes.len() % align != 0 {
                    out.bytes.push(0);
                }
                params.push((out.bytes.len() as u32, b.len() as u32));
                out.bytes.extend_from_slice(b);
            }
            out.params = Params::Guessed(params);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack<'a>(
        layout: Option<&'a KernelSignature>,
        args: &[&dyn DeviceRepr],
    ) -> Result<PackedArgs<'a>> {
        let mut out = PackedArgs::new();
        pack_args("k", layout.map(|l| (l, param_bytes(l))), args, &mut out)?;
        Ok(out)
    }

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
        let sig = sig();
        let p = DevicePtr::from_raw(0x1122_3344_5566_7788);
        let n = 7u32;
        let packed = pack(Some(&sig), &[&p, &n]).unwrap();
        assert!(packed.layout_known());
        assert_eq!(packed.params().collect::<Vec<_>>(), [(0, 8), (8, 4)]);
        assert_eq!(
            &packed.bytes()[..8],
            &0x1122_3344_5566_7788u64.to_le_bytes()
        );
        assert_eq!(&packed.bytes()[8..12], &7u32.to_le_bytes());
    }

    #[test]
    fn wrong_count_and_size_are_invalid_value_naming_the_parameter() {
        let sig = sig();
        let p = DevicePtr::from_raw(256);
        let e = pack(Some(&sig), &[&p]).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InvalidValue);
        assert!(
            e.to_string()
                .contains("takes 2 parameters, 1 argument given"),
            "{e}"
        );
        let e = pack(Some(&sig), &[&p, &7u64]).unwrap_err();
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
        let packed = pack(None, &[&KernelArg::bytes(&s), &5u64, &1u16]).unwrap();
        assert!(!packed.layout_known());
        assert_eq!(
            packed.params().collect::<Vec<_>>(),
            [(0, 3), (8, 8), (16, 2)]
        );
        assert_eq!(KernelArg::pod(&2.5f32).as_bytes(), &2.5f32.to_le_bytes());
        assert_eq!(true.as_kernel_arg().as_bytes(), &[1]);
    }

    #[test]
    fn long_parameter_lists_spill_to_the_heap() {
        // 40 eight-byte parameters: more than the inline parameter count and byte buffer.
        let sig = KernelSignature {
            name: "k".into(),
            params: (0..40)
                .map(|i| ParamLayout {
                    name: format!("p{i}"),
                    offset: i * 8,
                    size: 8,
                    align: 8,
                })
                .collect(),
        };
        let values: Vec<u64> = (0..40).map(|i| i * 3 + 1).collect();
        let args: Vec<&dyn DeviceRepr> = values.iter().map(|v| v as &dyn DeviceRepr).collect();
        let want: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let packed = pack(Some(&sig), &args).unwrap();
        assert_eq!(packed.bytes(), &want[..]);
        assert_eq!(packed.param_count(), 40);
        let guessed = pack(None, &args).unwrap();
        assert_eq!(guessed.bytes(), &want[..]);
        let spans: Vec<(u32, u32)> = guessed.params().collect();
        assert_eq!(spans, (0..40).map(|i| (i * 8, 8)).collect::<Vec<_>>());
        // A buffer reused for a short list goes back inline.
        let mut out = packed;
        pack_args("k", None, &[&1u8, &2u32], &mut out).unwrap();
        assert_eq!(out.bytes(), &[1, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(out.params().collect::<Vec<_>>(), [(0, 1), (4, 4)]);
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
        assert!(lim.fits(ok.grid, ok.block));
        assert!(lim.fits(
            Dim3::from((i32::MAX as u32, 65535, 65535)),
            Dim3::from((1024, 1, 1))
        ));
        assert!(lim.fits(Dim3::from(1), Dim3::from((16, 1, 64))));
        assert!(!lim.fits(Dim3::from(1), Dim3::from((1, 1, 0))));
        assert!(!lim.fits(Dim3::from((1, 1, 65536)), Dim3::from(1)));
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
            assert!(!lim.fits(g, b), "{g:?} {b:?}");
        }
    }
}
