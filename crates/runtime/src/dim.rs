//! Launch dimensions (`dim3`).

use crate::error::{Error, ErrorCode, Result};

/// Grid or block dimensions (`dim3`): the driver layer's type, shared so runtime and driver
/// code pass the same values.
pub use ferrocuda_driver::Dim3;

/// One component of a launch dimension: any integer type, range-checked into `u32`.
///
/// `launch!` accepts `(n + 255) / 256` with `n: usize` as written; a value that does not fit
/// is a `cudaErrorInvalidConfiguration`, not a silent truncation.
pub trait DimComponent: Copy {
    /// The value as a `u32`, or `None` when negative or too large.
    fn to_u32(self) -> Option<u32>;
}

macro_rules! dim_component {
    ($($t:ty),*) => {$(
        impl DimComponent for $t {
            fn to_u32(self) -> Option<u32> {
                u32::try_from(self).ok()
            }
        }
    )*};
}
dim_component!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

/// Anything `launch!` accepts as a grid or block: an integer, a tuple of up to three
/// integers, an array, or a [`Dim3`].
pub trait IntoDim3 {
    /// Converts, rejecting components that do not fit in `u32`.
    fn into_dim3(self) -> Result<Dim3>;
}

fn comp<T: DimComponent + std::fmt::Debug>(v: T, axis: &str) -> Result<u32> {
    v.to_u32().ok_or_else(|| {
        Error::with_detail(
            ErrorCode::InvalidConfiguration,
            format!("launch dimension {axis} = {v:?} is not in 0..=4294967295"),
        )
    })
}

impl IntoDim3 for Dim3 {
    fn into_dim3(self) -> Result<Dim3> {
        Ok(self)
    }
}

impl<T: DimComponent + std::fmt::Debug> IntoDim3 for T {
    fn into_dim3(self) -> Result<Dim3> {
        Ok(Dim3::from(comp(self, "x")?))
    }
}

impl<A, B> IntoDim3 for (A, B)
where
    A: DimComponent + std::fmt::Debug,
    B: DimComponent + std::fmt::Debug,
{
    fn into_dim3(self) -> Result<Dim3> {
        Ok(Dim3::from((comp(self.0, "x")?, comp(self.1, "y")?)))
    }
}

impl<A, B, C> IntoDim3 for (A, B, C)
where
    A: DimComponent + std::fmt::Debug,
    B: DimComponent + std::fmt::Debug,
    C: DimComponent + std::fmt::Debug,
{
    fn into_dim3(self) -> Result<Dim3> {
        Ok(Dim3::from((
            comp(self.0, "x")?,
            comp(self.1, "y")?,
            comp(self.2, "z")?,
        )))
    }
}

impl<T: DimComponent + std::fmt::Debug> IntoDim3 for [T; 3] {
    fn into_dim3(self) -> Result<Dim3> {
        (self[0], self[1], self[2]).into_dim3()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_tuples_and_dim3() {
        assert_eq!(256u32.into_dim3().unwrap(), Dim3::from((256, 1, 1)));
        assert_eq!(4usize.into_dim3().unwrap(), Dim3::from((4, 1, 1)));
        assert_eq!((2, 3).into_dim3().unwrap(), Dim3::from((2, 3, 1)));
        assert_eq!(
            (2u8, 3i64, 4usize).into_dim3().unwrap(),
            Dim3::from((2, 3, 4))
        );
        assert_eq!(Dim3::from(7).into_dim3().unwrap(), Dim3::from((7, 1, 1)));
        assert_eq!([1u32, 2, 3].into_dim3().unwrap(), Dim3::from((1, 2, 3)));
        assert_eq!(Dim3::from((5, 6)).volume(), 30);
    }

    #[test]
    fn out_of_range_is_invalid_configuration() {
        let e = (-1i32).into_dim3().unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidConfiguration);
        let e = (1u32, 1u64 << 40).into_dim3().unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidConfiguration);
        assert!(e.to_string().contains("y ="), "{e}");
    }
}
