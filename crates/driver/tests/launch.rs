//! Launches: arguments, builder, checks against the parameter layout, configuration errors,
//! faults and sticky errors.

mod common;

use common::{contexts, kernels, DOUBLE_PTX};
use ferrocuda_driver::{
    Context, ContextFlags, DeviceRepr, ErrorCode, FunctionAttribute, KernelArg, LaunchConfig,
    Platform, StreamFlags,
};

#[test]
fn seed_workflow_doubles_every_element() {
    for ctx in contexts() {
        let m = ctx.load_ptx(DOUBLE_PTX).unwrap();
        let k = m.function("my_kernel").unwrap();
        let n: usize = 1000;
        let host: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
        let mut data = ctx.alloc::<f32>(n).unwrap();
        data.copy_from_host(&host).unwrap();
        let s = ctx.default_stream();
        k.launch((n as u32).div_ceil(256), 256u32, 0, &s, &[&data, &n])
            .unwrap();
        let out = data.to_vec().unwrap();
        for i in 0..n {
            assert_eq!(out[i], host[i] * 2.0, "element {i} on {}", ctx.device());
        }
    }
}

#[test]
fn builder_and_launch_config() {
    for ctx in contexts() {
        let m = kernels(&ctx);
        let f = m.function("add_one").unwrap();
        let mut buf = ctx.alloc_zeroed::<u32>(300).unwrap();
        let s = ctx.create_stream(StreamFlags::NON_BLOCKING, 0).unwrap();
        let n = 300u32;
        f.builder(&s)
            .grid(2u32)
            .block(256u32)
            .arg(&buf)
            .arg(&n)
            .launch()
            .unwrap();
        f.launch_with(&LaunchConfig::for_num_elems(300, 128), &s, &[&buf, &n])
            .unwrap();
        s.synchronize().unwrap();
        assert_eq!(buf.to_vec().unwrap(), vec![2u32; 300]);
        buf.memset_d32(0).unwrap();
        // A raw device pointer works as the argument too.
        let p = buf.device_ptr();
        f.launch(1u32, 64u32, 0, &s, &[&p, &64u32]).unwrap();
        s.synchronize().unwrap();
        let v = buf.to_vec().unwrap();
        assert_eq!(&v[..64], &[1u32; 64][..]);
        assert_eq!(&v[64..], &vec![0u32; 236][..]);
    }
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Ab {
    a: f32,
    b: f32,
}

#[test]
fn struct_arguments_by_bytes() {
    for ctx in contexts() {
        let m = kernels(&ctx);
        let f = m.function("axpb").unwrap();
        let out = ctx.alloc_zeroed::<f32>(32).unwrap();
        let s = ctx.default_stream();
        let ab = Ab { a: 2.0, b: 0.5 };
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&ab.a.to_le_bytes());
        bytes.extend_from_slice(&ab.b.to_le_bytes());
        f.launch(
            1u32,
            32u32,
            0,
            &s,
            &[&out, &KernelArg::bytes(&bytes), &32u32],
        )
        .unwrap();
        let v = out.to_vec().unwrap();
        for (i, x) in v.iter().enumerate() {
            assert_eq!(*x, 2.0 * i as f32 + 0.5);
        }
        // The same through KernelArg::pod on an array.
        let arr = [3.0f32, 1.0];
        f.launch(1u32, 4u32, 0, &s, &[&out, &KernelArg::pod(&arr), &4u32])
            .unwrap();
        assert_eq!(&out.to_vec().unwrap()[..4], &[1.0, 4.0, 7.0, 10.0]);
    }
}

#[test]
fn wrong_arguments_are_invalid_value_naming_the_parameter() {
    for ctx in contexts() {
        let m = kernels(&ctx);
        let f = m.function("add_one").unwrap();
        let buf = ctx.alloc::<u32>(4).unwrap();
        let s = ctx.default_stream();
        let e = f.launch(1u32, 4u32, 0, &s, &[&buf]).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidValue);
        assert!(
            e.to_string()
                .contains("`add_one` takes 2 parameters, 1 argument given"),
            "{e}"
        );
        let e = f
            .launch(1u32, 4u32, 0, &s, &[&buf, &4u32, &1u8])
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidValue);
        let e = f.launch(1u32, 4u32, 0, &s, &[&buf, &4u64]).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidValue);
        let msg = e.to_string();
        assert!(msg.contains("parameter 1 (`n`)"), "{msg}");
        assert!(msg.contains("expected 4 bytes, got 8"), "{msg}");
        let e = f.launch(1u32, 4u32, 0, &s, &[&1u32, &4u32]).unwrap_err();
        assert!(e.to_string().contains("parameter 0 (`p`)"), "{e}");
        // Nothing ran: the context is fine.
        ctx.synchronize().unwrap();
    }
}

#[test]
fn bad_launch_configurations() {
    for ctx in contexts() {
        let m = kernels(&ctx);
        let f = m.function("add_one").unwrap();
        let buf = ctx.alloc::<u32>(4).unwrap();
        let s = ctx.default_stream();
        let args: [&dyn DeviceRepr; 2] = [&buf, &4u32];
        for (g, b) in [
            ((0u32, 1u32, 1u32), (1u32, 1u32, 1u32)),
            ((1, 1, 1), (0, 1, 1)),
            ((1, 1, 1), (2048, 1, 1)),
            ((1, 1, 1), (1, 1, 128)),
            ((1, 1, 1), (64, 32, 1)),
            ((1, 70000, 1), (1, 1, 1)),
        ] {
            let e = f.launch(g, b, 0, &s, &args).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidValue, "{g:?} {b:?}: {e}");
        }
        // Too much dynamic shared memory, then allowed after opting in.
        let sum = m.function("shared_sum").unwrap();
        let out = ctx.alloc_zeroed::<u32>(1).unwrap();
        let e = sum.launch(1u32, 32u32, 64 * 1024, &s, &[&out]).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidValue, "{e}");
        sum.set_attribute(FunctionAttribute::MaxDynamicSharedSizeBytes, 64 * 1024)
            .unwrap();
        sum.launch(1u32, 32u32, 64 * 1024, &s, &[&out]).unwrap();
        assert_eq!(out.to_vec().unwrap(), vec![(0..32).sum::<u32>()]);
        ctx.synchronize().unwrap();
    }
}

#[test]
fn dynamic_shared_memory() {
    for ctx in contexts() {
        let m = kernels(&ctx);
        let f = m.function("shared_sum").unwrap();
        let out = ctx.alloc_zeroed::<u32>(1).unwrap();
        let s = ctx.default_stream();
        f.launch(1u32, 256u32, 256 * 4, &s, &[&out]).unwrap();
        assert_eq!(out.to_vec().unwrap(), vec![(0..256).sum::<u32>()]);
    }
}

#[test]
fn launch_on_another_contexts_stream_is_refused() {
    for ctx in contexts() {
        let other = Context::new(ctx.device(), ContextFlags::SCHED_AUTO).unwrap();
        let m = kernels(&ctx);
        let f = m.function("add_one").unwrap();
        let buf = ctx.alloc::<u32>(1).unwrap();
        let e = f
            .launch(1u32, 1u32, 0, &other.default_stream(), &[&buf, &1u32])
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidContext);
    }
}

#[test]
fn out_of_bounds_kernel_is_illegal_address_and_sticky_on_the_cpu_device() {
    let ctx = common::cpu_context();
    assert_eq!(ctx.platform(), Platform::Cpu);
    let m = kernels(&ctx);
    let f = m.function("store_at").unwrap();
    let buf = ctx.alloc::<u32>(4).unwrap();
    let s = ctx.create_stream(StreamFlags::NON_BLOCKING, 0).unwrap();
    // Well past the end of the allocation.
    let bad = buf.device_ptr().offset(1 << 20);
    f.launch(1u32, 1u32, 0, &s, &[&bad, &1u32]).unwrap();
    let e = s.synchronize().unwrap_err();
    assert_eq!(e.code(), ErrorCode::IllegalAddress, "{e}");
    assert!(e.to_string().contains("store_at"), "names the kernel: {e}");
    // Sticky: every later call on the context returns the same error.
    assert_eq!(ctx.synchronize().unwrap_err(), e);
    assert_eq!(buf.to_vec().unwrap_err(), e);
    assert_eq!(ctx.alloc::<u8>(16).unwrap_err(), e);
    assert_eq!(f.launch(1u32, 1u32, 0, &s, &[&buf, &1u32]).unwrap_err(), e);
    assert_eq!(ctx.default_stream().synchronize().unwrap_err(), e);
    assert_eq!(s.query().unwrap_err(), e);
    // Another context on the same device is unaffected.
    let fine = common::cpu_context();
    assert_eq!(fine.upload(&[1u8]).unwrap().to_vec().unwrap(), vec![1]);
    // Dropping resources of the failed context does not crash.
    drop(buf);
    drop(f);
    drop(m);
    drop(s);
    drop(ctx);
}
