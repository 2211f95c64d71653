//! Device memory, memsets, copies, page-locked memory, memory info, pointer attributes.

mod common;

use common::contexts;
use ferrocuda_driver::{self as driver, ErrorCode, MemoryKind, PinnedHostBuffer, StreamFlags};

#[test]
fn alloc_copy_roundtrip_and_zeroed() {
    for ctx in contexts() {
        let host: Vec<u32> = (0..1000).collect();
        let mut b = ctx.alloc::<u32>(host.len()).unwrap();
        assert_eq!(b.len(), 1000);
        assert_eq!(b.byte_len(), 4000);
        assert_ne!(b.device_ptr().as_raw(), 0);
        b.copy_from_host(&host).unwrap();
        assert_eq!(b.to_vec().unwrap(), host);
        let z = ctx.alloc_zeroed::<f64>(33).unwrap();
        assert_eq!(z.to_vec().unwrap(), vec![0.0; 33]);
        let mut out = vec![0u32; 1000];
        b.copy_to_host(&mut out).unwrap();
        assert_eq!(out, host);
        // Zero-length buffers allocate nothing and copy nothing.
        let e = ctx.alloc::<u8>(0).unwrap();
        assert!(e.is_empty());
        assert_eq!(e.to_vec().unwrap(), Vec::<u8>::new());
    }
}

#[test]
fn length_mismatches_are_invalid_value() {
    for ctx in contexts() {
        let mut b = ctx.alloc::<u16>(8).unwrap();
        let e = b.copy_from_host(&[1, 2, 3]).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidValue);
        assert!(e.to_string().contains("8 elements"), "{e}");
        let mut small = [0u16; 4];
        assert_eq!(
            b.copy_to_host(&mut small).unwrap_err().code(),
            ErrorCode::InvalidValue
        );
        let other = ctx.alloc::<u16>(9).unwrap();
        assert_eq!(
            b.copy_from_device(&other).unwrap_err().code(),
            ErrorCode::InvalidValue
        );
        let huge = ctx.alloc::<u64>(usize::MAX / 4);
        assert_eq!(huge.unwrap_err().code(), ErrorCode::InvalidValue);
    }
}

#[test]
fn out_of_memory_is_reported() {
    for ctx in contexts() {
        let (_, total) = ctx.mem_get_info().unwrap();
        let e = ctx.alloc::<u8>((total * 2) as usize).unwrap_err();
        assert_eq!(e.code(), ErrorCode::OutOfMemory, "{e}");
    }
}

#[test]
fn memsets_of_8_16_32_bits() {
    for ctx in contexts() {
        let mut b = ctx.alloc::<u8>(12).unwrap();
        b.memset_d8(0xAB).unwrap();
        assert_eq!(b.to_vec().unwrap(), vec![0xAB; 12]);
        b.memset_d16(0x1234).unwrap();
        assert_eq!(
            b.to_vec().unwrap(),
            [0x34, 0x12].repeat(6),
            "little-endian 16-bit words"
        );
        b.memset_d32(0xDEAD_BEEF).unwrap();
        assert_eq!(b.to_vec().unwrap(), 0xDEAD_BEEFu32.to_le_bytes().repeat(3));
        let mut odd = ctx.alloc::<u8>(6).unwrap();
        assert_eq!(
            odd.memset_d32(1).unwrap_err().code(),
            ErrorCode::InvalidValue
        );
        odd.memset_d16(0x0101).unwrap();
        assert_eq!(odd.to_vec().unwrap(), vec![1; 6]);
    }
}

#[test]
fn device_to_device_copies() {
    for ctx in contexts() {
        let a = ctx.upload(&[1.5f32, 2.5, 3.5]).unwrap();
        let mut b = ctx.alloc::<f32>(3).unwrap();
        b.copy_from_device(&a).unwrap();
        assert_eq!(b.to_vec().unwrap(), vec![1.5, 2.5, 3.5]);
    }
    // Between two contexts (and platforms, where a GPU exists).
    let all = contexts();
    let src = all[0].upload(&[9u64, 8, 7]).unwrap();
    for ctx in &all {
        let mut dst = ctx.alloc::<u64>(3).unwrap();
        dst.copy_from_device(&src).unwrap();
        assert_eq!(dst.to_vec().unwrap(), vec![9, 8, 7]);
    }
}

#[test]
fn mem_get_info_tracks_allocations() {
    for ctx in contexts() {
        let (free, total) = ctx.mem_get_info().unwrap();
        assert!(free <= total && total > 0);
        assert_eq!(total, ctx.device().total_memory().unwrap());
    }
    let ctx = common::cpu_context();
    let (before, _) = ctx.mem_get_info().unwrap();
    let b = ctx.alloc::<u8>(64 << 20).unwrap();
    let (during, _) = ctx.mem_get_info().unwrap();
    assert!(
        during + (64 << 20) <= before + (1 << 20),
        "{before} {during}"
    );
    drop(b);
}

#[test]
fn pinned_host_memory_alloc_register_and_async_copies() {
    for ctx in contexts() {
        let stream = ctx.create_stream(StreamFlags::NON_BLOCKING, 0).unwrap();
        let mut pinned = PinnedHostBuffer::<u32>::new(&ctx, 256).unwrap();
        assert_eq!(pinned.len(), 256);
        assert!(pinned.as_slice().unwrap().iter().all(|&v| v == 0));
        for (i, v) in pinned.as_mut_slice().unwrap().iter_mut().enumerate() {
            *v = i as u32 * 3;
        }
        let mut dev = ctx.alloc::<u32>(256).unwrap();
        stream
            .memcpy_htod_pinned_async(&mut dev, &mut pinned)
            .unwrap();
        // Registered memory as the destination of an asynchronous copy.
        let mut reg = PinnedHostBuffer::register(&ctx, vec![0u32; 256]).unwrap();
        stream.memcpy_dtoh_pinned_async(&mut reg, &dev).unwrap();
        let expect: Vec<u32> = (0..256).map(|i| i * 3).collect();
        assert_eq!(reg.as_slice().unwrap(), &expect[..]);
        let back = reg.into_vec().unwrap();
        assert_eq!(back, expect);
        // Length mismatch.
        let mut short = PinnedHostBuffer::<u32>::new(&ctx, 3).unwrap();
        assert_eq!(
            stream
                .memcpy_dtoh_pinned_async(&mut short, &dev)
                .unwrap_err()
                .code(),
            ErrorCode::InvalidValue
        );
        // Dropping a buffer with a copy in flight waits for it.
        let mut p2 = PinnedHostBuffer::<u32>::new(&ctx, 256).unwrap();
        stream.memcpy_dtoh_pinned_async(&mut p2, &dev).unwrap();
        drop(p2);
        stream.synchronize().unwrap();
    }
}

#[test]
fn pointer_attributes_tell_device_host_and_unknown() {
    for ctx in contexts() {
        let b = ctx.alloc::<u32>(64).unwrap();
        let info = driver::pointer_info(b.device_ptr().as_raw()).unwrap();
        assert_eq!(info.kind, MemoryKind::Device);
        assert_eq!(info.device, Some(ctx.device()));
        let inside = driver::pointer_info(b.device_ptr().offset(100).as_raw()).unwrap();
        assert_eq!(inside.kind, MemoryKind::Device);
        let mut pinned = PinnedHostBuffer::<u8>::new(&ctx, 4096).unwrap();
        let addr = pinned.as_slice().unwrap().as_ptr() as u64;
        let info = driver::pointer_info(addr).unwrap();
        assert_eq!(info.kind, MemoryKind::Host);
        let v: Vec<u8> = (0..100).collect();
        let info = driver::pointer_info(v.as_ptr() as u64).unwrap();
        assert_eq!(info.kind, MemoryKind::Unknown);
        assert_eq!(info.device, None);
    }
}

#[test]
fn memory_can_be_registered_again_after_unregistering() {
    for ctx in contexts() {
        let a = PinnedHostBuffer::register(&ctx, vec![7u64; 64]).unwrap();
        let v = a.into_vec().unwrap();
        let mut b = PinnedHostBuffer::register(&ctx, v).unwrap();
        assert_eq!(b.as_slice().unwrap(), &[7u64; 64][..]);
        let addr = b.as_slice().unwrap().as_ptr() as u64;
        assert_eq!(driver::pointer_info(addr).unwrap().kind, MemoryKind::Host);
        let v = b.into_vec().unwrap();
        assert_eq!(
            driver::pointer_info(v.as_ptr() as u64).unwrap().kind,
            MemoryKind::Unknown
        );
    }
}

#[test]
fn slices_copy_and_fill_part_of_a_buffer() {
    for ctx in contexts() {
        let host: Vec<u32> = (0..64).collect();
        let mut b = ctx.upload(&host).unwrap();
        // Into the middle, leaving the rest alone.
        b.slice_mut(10..14)
            .unwrap()
            .copy_from_host(&[100, 101, 102, 103])
            .unwrap();
        let mut want = host.clone();
        want[10..14].copy_from_slice(&[100, 101, 102, 103]);
        assert_eq!(b.to_vec().unwrap(), want);
        // Out of a range, and a range of a range.
        let s = b.slice(8..20).unwrap();
        assert_eq!(s.len(), 12);
        assert_eq!(s.device_ptr(), b.device_ptr().offset(32));
        assert_eq!(s.slice(2..4).unwrap().to_vec().unwrap(), [100, 101]);
        let mut out = [0u32; 3];
        b.slice(61..).unwrap().copy_to_host(&mut out).unwrap();
        assert_eq!(out, [61, 62, 63]);
        // Device to device, within one buffer's bounds and between buffers.
        let src = ctx.upload(&[7u32, 8, 9]).unwrap();
        b.slice_mut(0..3)
            .unwrap()
            .copy_from_device(src.slice(..).unwrap())
            .unwrap();
        let mut other = ctx.alloc_zeroed::<u32>(8).unwrap();
        other
            .slice_mut(5..8)
            .unwrap()
            .copy_from_device(b.slice(0..3).unwrap())
            .unwrap();
        assert_eq!(other.to_vec().unwrap(), [0, 0, 0, 0, 0, 7, 8, 9]);
        // Fills of a part.
        other
            .slice_mut(1..3)
            .unwrap()
            .memset_d32(0xdead_beef)
            .unwrap();
        other.slice_mut(3..4).unwrap().memset_d8(0x11).unwrap();
        assert_eq!(
            other.to_vec().unwrap(),
            [0, 0xdead_beef, 0xdead_beef, 0x1111_1111, 0, 7, 8, 9]
        );
        let mut bytes = ctx.alloc_zeroed::<u8>(8).unwrap();
        bytes
            .slice_mut(1..3)
            .unwrap()
            .memset_d16(0x2222)
            .unwrap_err();
        bytes.slice_mut(2..6).unwrap().memset_d16(0x3344).unwrap();
        assert_eq!(
            bytes.to_vec().unwrap(),
            [0, 0, 0x44, 0x33, 0x44, 0x33, 0, 0]
        );
        // Ranges outside the buffer and length mismatches are INVALID_VALUE.
        assert_eq!(b.slice(60..65).unwrap_err().code(), ErrorCode::InvalidValue);
        assert_eq!(
            b.slice_mut(65..).unwrap_err().code(),
            ErrorCode::InvalidValue
        );
        let e = b
            .slice_mut(0..2)
            .unwrap()
            .copy_from_host(&[1, 2, 3])
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidValue);
        assert!(e.to_string().contains("2 elements"), "{e}");
        // Empty slices copy nothing.
        b.slice_mut(64..).unwrap().copy_from_host(&[]).unwrap();
    }
}
