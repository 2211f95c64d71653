//! The runtime's rules, on the default device (the CPU device where there is no GPU).

use ferrocuda_driver as driver;
use ferrocuda_runtime::*;

embed_module!(
    KERNELS = "kernels/add_one.ptx",
    FAULTS = "kernels/faults.ptx"
);
embed_module!(BROKEN = "kernels/bad.ptx");
embed_module!(FROM_ROOT = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/kernels/add_one.ptx"));
kernel!(add_one in KERNELS; bump_counter in FAULTS);

#[test]
fn implicit_init_and_current_device() {
    let n = get_device_count().unwrap();
    assert!(n >= 1);
    let dev = get_device().unwrap();
    assert!(dev < n);
    // The default is FERROCUDA_DEVICE, else the first GPU, else the CPU device: ordinal 0
    // unless the variable says otherwise.
    if std::env::var("FERROCUDA_DEVICE").is_err() {
        assert_eq!(dev, 0);
    }
    set_device(dev).unwrap();
    assert_eq!(get_device().unwrap(), dev);
}

#[test]
fn set_device_out_of_range_is_invalid_device_and_recorded() {
    let n = get_device_count().unwrap();
    let e = set_device(n + 3).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidDevice);
    assert_eq!(peek_at_last_error(), ErrorCode::InvalidDevice);
    assert_eq!(
        peek_at_last_error(),
        ErrorCode::InvalidDevice,
        "peek does not clear"
    );
    assert_eq!(get_last_error(), ErrorCode::InvalidDevice);
    assert_eq!(get_last_error(), ErrorCode::Success, "get clears");
}

#[test]
fn set_device_spec_cpu() {
    set_device_spec("cpu").unwrap();
    let d = current_driver_device().unwrap();
    assert_eq!(d.platform(), driver::Platform::Cpu);
    assert!(set_device_spec("nonsense").is_err());
}

#[test]
fn seed_000_add_one() {
    const N: usize = 256;
    let size = N * std::mem::size_of::<f32>();
    let mut h_a = vec![1.0f32; N];
    let mut d_a = malloc::<f32>(N).unwrap();
    memcpy(&mut d_a, &h_a, size, MemcpyKind::HostToDevice).unwrap();
    launch!(add_one<<<1, 256>>>(d_a, N as i32)).unwrap();
    memcpy(&mut h_a, &d_a, size, MemcpyKind::DeviceToHost).unwrap();
    free(d_a).unwrap();
    assert!(h_a.iter().all(|&x| x == 2.0), "{:?}", &h_a[..4]);
}

#[test]
fn modules_embed_from_the_crate_root_too() {
    assert!(FROM_ROOT.path().ends_with("/tests/kernels/add_one.ptx"));
    assert_eq!(FROM_ROOT.image(), KERNELS.image());
    let d = malloc_from(&[0.5f32; 16]).unwrap();
    launch!(FROM_ROOT::add_one<<<1, 16>>>(d, 16i32)).unwrap();
    assert!(d.to_vec().unwrap().iter().all(|&x| x == 1.5));
}

#[test]
fn launch_forms_dims_shared_and_streams() {
    let n = 1000usize;
    let mut d = malloc_from(&vec![0.0f32; n]).unwrap();
    let k = KERNELS.kernel("add_one");
    // integer arithmetic on usize, a tuple block, explicit shared bytes and the 0 stream
    launch!(k<<<n.div_ceil(128), (128, 1), 0, 0>>>(&d, n as i32)).unwrap();
    let s = stream_create().unwrap();
    launch!(KERNELS::add_one<<<Dim3::from(4), Dim3::from((256, 1, 1)), 0u32, &s>>>(d, n as i32))
        .unwrap();
    s.synchronize().unwrap();
    launch_kernel(&k, 8, 128, 0, Some(&s), &[&d, &(n as i32)]).unwrap();
    stream_synchronize(&s).unwrap();
    device_synchronize().unwrap();
    let mut h = vec![0.0f32; n];
    memcpy(&mut h, &d, n * 4, MemcpyKind::Default).unwrap();
    assert!(h.iter().all(|&x| x == 3.0));
    memset(&mut d, 0, n * 4).unwrap();
    assert!(d.to_vec().unwrap().iter().all(|&x| x == 0.0));
}

#[test]
fn arguments_are_checked_against_the_signature() {
    let d = malloc::<f32>(4).unwrap();
    let e = launch!(KERNELS::add_one<<<1, 4>>>(d)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidValue);
    assert!(
        e.to_string()
            .contains("takes 2 parameters, 1 argument given"),
        "{e}"
    );
    assert_eq!(get_last_error(), ErrorCode::InvalidValue);

    let e = launch!(KERNELS::add_one<<<1, 4>>>(d, 4u64)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidValue);
    assert!(e.to_string().contains("add_one_param_1"), "{e}");
    assert!(e.to_string().contains("expected 4 bytes, got 8"), "{e}");
    assert_eq!(take_last_error().unwrap(), e);
    assert_eq!(get_last_error(), ErrorCode::Success);
}

#[test]
fn bad_configurations_are_invalid_configuration() {
    let d = malloc::<f32>(4).unwrap();
    for (grid, block) in [(1u32, 4096u32), (0, 32), (1, 0)] {
        let e = launch!(KERNELS::add_one<<<grid, block>>>(d, 4i32)).unwrap_err();
        assert_eq!(
            e.code(),
            ErrorCode::InvalidConfiguration,
            "{grid} {block}: {e}"
        );
        assert_eq!(get_last_error(), ErrorCode::InvalidConfiguration);
    }
    let e = launch!(KERNELS::add_one<<<-1i64, 32>>>(d, 4i32)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidConfiguration);
    let e = launch!(KERNELS::add_one<<<(1, 1, 1), (32, 32, 2)>>>(d, 4i32)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidConfiguration);
    assert!(e.to_string().contains("2048 threads per block"), "{e}");
}

#[test]
fn missing_kernel_is_invalid_device_function() {
    let e = launch!(KERNELS::no_such_kernel<<<1, 1>>>()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidDeviceFunction);
    assert!(e.to_string().contains("no_such_kernel"), "{e}");
    assert_eq!(get_last_error(), ErrorCode::InvalidDeviceFunction);
}

#[test]
fn broken_embedded_ptx_is_a_positioned_invalid_ptx() {
    let e = BROKEN.load().unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidPtx, "{e}");
    let msg = e.to_string();
    assert!(msg.contains("BROKEN (kernels/bad.ptx)"), "{msg}");
    // ferrocuda's parser says `10:2: unknown instruction`, NVIDIA's JIT `line 10; error`.
    assert!(
        msg.contains("10:2") || msg.contains("line 10"),
        "the bad line: {msg}"
    );
    assert!(msg.contains("frobnicate"), "{msg}");
    let e = launch!(BROKEN::broken<<<1, 1>>>(0u64)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidPtx);
}

#[test]
fn memcpy_directions_and_counts() {
    let src = [1u32, 2, 3, 4, 5, 6, 7, 8];
    let mut d = malloc::<u32>(8).unwrap();
    // Default infers host→device and device→host from the pointer attributes.
    memcpy(&mut d, &src, 32, MemcpyKind::Default).unwrap();
    let mut back = [0u32; 8];
    memcpy(&mut back, &d, 32, MemcpyKind::Default).unwrap();
    assert_eq!(back, src);
    // A prefix of each side.
    let mut part = [0u32; 8];
    memcpy(&mut part, &d, 12, MemcpyKind::DeviceToHost).unwrap();
    assert_eq!(part, [1, 2, 3, 0, 0, 0, 0, 0]);
    memcpy(&mut d, &[9u32, 9], 8, MemcpyKind::HostToDevice).unwrap();
    assert_eq!(d.to_vec().unwrap(), vec![9, 9, 3, 4, 5, 6, 7, 8]);
    // Device to device, whole and partial.
    let mut d2 = malloc::<u32>(8).unwrap();
    memcpy(&mut d2, &d, 32, MemcpyKind::DeviceToDevice).unwrap();
    assert_eq!(d2.to_vec().unwrap(), d.to_vec().unwrap());
    let d3 = malloc_from(&[0u32; 2]).unwrap();
    memcpy(&mut d2, &d3, 8, MemcpyKind::Default).unwrap();
    assert_eq!(d2.to_vec().unwrap(), vec![0, 0, 3, 4, 5, 6, 7, 8]);
    // Host to host.
    let mut h = [0u32; 8];
    memcpy(&mut h, &src, 32, MemcpyKind::HostToHost).unwrap();
    assert_eq!(h, src);

    // A kind that contradicts the pointers.
    let e = memcpy(&mut d, &src, 32, MemcpyKind::DeviceToHost).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidMemcpyDirection);
    assert!(e.to_string().contains("cudaMemcpyDeviceToHost"), "{e}");
    assert_eq!(get_last_error(), ErrorCode::InvalidMemcpyDirection);
    // Counts beyond either side, or not whole elements.
    let e = memcpy(&mut d, &src, 36, MemcpyKind::HostToDevice).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidValue);
    let e = memcpy(&mut d, &src, 6, MemcpyKind::HostToDevice).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidValue);
    let e = memset(&mut d, 0, 33).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidValue);
    assert_eq!(get_last_error(), ErrorCode::InvalidValue);
}

#[test]
fn memset_prefix() {
    let mut d = malloc_from(&[0xffu8; 16]).unwrap();
    memset(&mut d, 0x11, 5).unwrap();
    let v = d.to_vec().unwrap();
    assert_eq!(&v[..5], &[0x11; 5]);
    assert_eq!(&v[5..], &[0xff; 11]);
    // A count that ends inside an element.
    let mut w = malloc_from(&[u32::MAX; 4]).unwrap();
    memset(&mut w, 0, 6).unwrap();
    assert_eq!(w.to_vec().unwrap(), [0, 0xffff_0000, u32::MAX, u32::MAX]);
}

#[test]
fn copies_at_offsets_through_slices() {
    // C's `cudaMemcpy(d + 4, h, 8, …)`, `cudaMemcpy(h, d + 2, 12, …)` and device to device
    // between offsets.
    let mut d = malloc_from(&[0u32; 8]).unwrap();
    memcpy(
        &mut d.slice_mut(4..).unwrap(),
        &[7u32, 8],
        8,
        MemcpyKind::HostToDevice,
    )
    .unwrap();
    assert_eq!(d.to_vec().unwrap(), [0, 0, 0, 0, 7, 8, 0, 0]);
    let mut h = [0u32; 3];
    memcpy(&mut h, &d.slice(3..6).unwrap(), 12, MemcpyKind::Default).unwrap();
    assert_eq!(h, [0, 7, 8]);
    let src = malloc_from(&[1u32, 2, 3, 4]).unwrap();
    memcpy(
        &mut d.slice_mut(1..3).unwrap(),
        &src.slice(2..).unwrap(),
        8,
        MemcpyKind::DeviceToDevice,
    )
    .unwrap();
    assert_eq!(d.to_vec().unwrap(), [0, 3, 4, 0, 7, 8, 0, 0]);
    // In stream order too.
    let stream = stream_create().unwrap();
    memcpy_async(
        &mut d.slice_mut(6..).unwrap(),
        &[5u32, 6],
        8,
        MemcpyKind::HostToDevice,
        &stream,
    )
    .unwrap();
    stream.synchronize().unwrap();
    assert_eq!(d.to_vec().unwrap()[6..], [5, 6]);
    // A range outside the allocation, and a count beyond the slice.
    assert_eq!(d.slice(7..9).unwrap_err().code(), ErrorCode::InvalidValue);
    assert_eq!(get_last_error(), ErrorCode::InvalidValue);
    let e = memcpy(
        &mut d.slice_mut(6..).unwrap(),
        &[1u32, 2, 3],
        12,
        MemcpyKind::HostToDevice,
    )
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidValue);
}

#[test]
fn pinned_host_memory_and_async_copies() {
    let mut h = malloc_host::<f32>(64).unwrap();
    h.as_mut_slice().unwrap().fill(1.0);
    let mut d = malloc::<f32>(64).unwrap();
    let s = stream_create().unwrap();
    memcpy_async(
        &mut d,
        h.as_slice().unwrap(),
        256,
        MemcpyKind::HostToDevice,
        &s,
    )
    .unwrap();
    launch!(KERNELS::add_one<<<1, 64, 0, &s>>>(d, 64i32)).unwrap();
    let mut out = vec![0.0f32; 64];
    memcpy_async(&mut out, &d, 256, MemcpyKind::DeviceToHost, &s).unwrap();
    s.synchronize().unwrap();
    assert!(out.iter().all(|&x| x == 2.0));
    free_host(h).unwrap();
}

#[test]
fn events_time_a_stream() {
    let d = malloc_from(&[0.0f32; 256]).unwrap();
    let s = stream_create().unwrap();
    let (start, end) = (event_create().unwrap(), event_create().unwrap());
    event_record(&start, Some(&s)).unwrap();
    launch!(KERNELS::add_one<<<1, 256, 0, &s>>>(d, 256i32)).unwrap();
    event_record(&end, Some(&s)).unwrap();
    event_synchronize(&end).unwrap();
    assert!(event_query(&end).unwrap());
    let ms = event_elapsed_time(&start, &end).unwrap();
    assert!(ms >= 0.0, "{ms}");
    event_record(&end, None).unwrap();
    device_synchronize().unwrap();
}

#[test]
fn runtime_uses_the_current_driver_context() {
    // Seed 004: a context made current through the driver layer is the one the runtime uses.
    let dev = current_driver_device().unwrap();
    let ctx = driver::Context::new(dev, driver::ContextFlags::SCHED_AUTO).unwrap();
    ctx.push_current().unwrap();
    let mut d = malloc_from(&[1.0f32; 32]).unwrap();
    assert_eq!(*d.as_driver().context(), ctx);
    assert!(!d.as_driver().context().is_primary());
    launch!(KERNELS::add_one<<<1, 32>>>(d, 32i32)).unwrap();
    device_synchronize().unwrap();
    assert!(d.to_vec().unwrap().iter().all(|&x| x == 2.0));
    memset(&mut d, 0, 128).unwrap();
    let popped = driver::Context::pop_current().unwrap();
    assert_eq!(popped, ctx);
    // Back on the primary context.
    let p = malloc::<f32>(1).unwrap();
    assert!(p.as_driver().context().is_primary());
}

#[test]
fn modules_loaded_at_run_time() {
    let m = module_load_data(include_bytes!("kernels/faults.ptx")).unwrap();
    let (addr, size) = m.global("counter").unwrap();
    assert_eq!(size, 4);
    assert_ne!(addr.as_raw(), 0);
    let f = m.function("bump_counter").unwrap();
    launch!(f<<<1, 1>>>()).unwrap();
    device_synchronize().unwrap();
    let e = m.function("nope").unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidDeviceFunction);
    let e = m.global("nope").unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidSymbol);
    // The embedded copy of the same module has its own global.
    let (eaddr, _) = FAULTS.global("counter").unwrap();
    assert_ne!(eaddr, addr);
    let e = module_load("/no/such/file.ptx").unwrap_err();
    assert_eq!(e.code(), ErrorCode::FileNotFound);
}

#[test]
fn error_names_and_strings() {
    assert_eq!(
        get_error_name(ErrorCode::IllegalAddress),
        "cudaErrorIllegalAddress"
    );
    assert_eq!(
        get_error_string(ErrorCode::IllegalAddress),
        "an illegal memory access was encountered"
    );
    assert_eq!(runtime_version(), 13000);
    assert!(driver_version().unwrap() >= runtime_version());
}

#[test]
fn symbols_copy_to_and_from_device_addresses() {
    let (addr, size) = FAULTS.global("counter").unwrap();
    assert_eq!(size, 4);
    memcpy_to_symbol(addr, &41u32.to_le_bytes()).unwrap();
    launch!(bump_counter<<<1, 1>>>()).unwrap();
    let mut out = [0u8; 4];
    memcpy_from_symbol(&mut out, addr).unwrap();
    assert_eq!(u32::from_le_bytes(out), 42);
    // Any device address works, e.g. the middle of an allocation.
    let d = malloc_from(&[1u8, 2, 3, 4, 5, 6, 7, 8]).unwrap();
    let mut mid = [0u8; 3];
    memcpy_from_symbol(&mut mid, d.as_ptr().offset(2)).unwrap();
    assert_eq!(mid, [3, 4, 5]);
}

#[test]
fn current_device_and_last_error_are_per_thread() {
    let _ = set_device(usize::MAX);
    assert_eq!(peek_at_last_error(), ErrorCode::InvalidDevice);
    std::thread::spawn(|| {
        assert_eq!(peek_at_last_error(), ErrorCode::Success);
        set_device_spec("cpu").unwrap();
        let d = malloc_from(&[1.0f32; 8]).unwrap();
        launch!(KERNELS::add_one<<<1, 8>>>(d, 8i32)).unwrap();
        device_synchronize().unwrap();
        assert!(d.to_vec().unwrap().iter().all(|&x| x == 2.0));
    })
    .join()
    .unwrap();
    assert_eq!(get_last_error(), ErrorCode::InvalidDevice);
}

#[test]
fn device_properties() {
    let dev = get_device().unwrap();
    let p = get_device_properties(dev).unwrap();
    assert!(!p.name.is_empty());
    assert_eq!(p.warp_size, 32);
    assert!(p.max_threads_per_block >= 1024);
    assert!(p.total_global_mem > 0);
    assert_eq!(
        device_get_attribute(DeviceAttribute::WarpSize, dev).unwrap(),
        32
    );
    let e = get_device_properties(usize::MAX).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidDevice);
    assert_eq!(get_last_error(), ErrorCode::InvalidDevice);
    let cpu = (0..get_device_count().unwrap())
        .map(|d| get_device_properties(d).unwrap())
        .find(|p| p.platform == Platform::Cpu)
        .unwrap();
    assert_eq!(cpu.spec, "cpu");
}

#[test]
fn threads_share_the_primary_context_and_the_lazily_loaded_module() {
    embed_module!(ONCE = "kernels/add_one.ptx");
    let workers: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || -> Result<f32> {
                let n = 256 + t * 32;
                let d = malloc_from(&vec![t as f32; n])?;
                for _ in 0..4 {
                    launch!(ONCE::add_one<<<n.div_ceil(64), 64>>>(d, n as i32))?;
                }
                device_synchronize()?;
                let v = d.to_vec()?;
                assert!(v.iter().all(|&x| x == v[0]));
                Ok(v[0])
            })
        })
        .collect();
    for (t, w) in workers.into_iter().enumerate() {
        assert_eq!(w.join().unwrap().unwrap(), t as f32 + 4.0);
    }
}

#[test]
fn embedded_modules_follow_user_contexts_without_keeping_them_all() {
    embed_module!(PER_CONTEXT = "kernels/add_one.ptx");
    let dev = current_driver_device().unwrap();
    for round in 0..12 {
        let ctx = driver::Context::new(dev, driver::ContextFlags::SCHED_AUTO).unwrap();
        ctx.push_current().unwrap();
        let d = malloc_from(&[round as f32; 8]).unwrap();
        launch!(PER_CONTEXT::add_one<<<1, 8>>>(d, 8i32)).unwrap();
        device_synchronize().unwrap();
        assert_eq!(d.to_vec().unwrap()[7], round as f32 + 1.0);
        driver::Context::pop_current().unwrap();
        assert_eq!(PER_CONTEXT.loaded_in(), (round + 1).min(8));
    }
}

#[test]
fn launches_follow_context_switches_on_one_thread() {
    embed_module!(SWITCHING = "kernels/add_one.ptx");
    let dev = current_driver_device().unwrap();
    let user = driver::Context::new(dev, driver::ContextFlags::SCHED_AUTO).unwrap();
    let p = malloc_from(&[0.0f32; 16]).unwrap();
    user.push_current().unwrap();
    let u = malloc_from(&[10.0f32; 16]).unwrap();
    let in_user = module_load_data(include_bytes!("kernels/add_one.ptx")).unwrap();
    let f = in_user.function("add_one").unwrap();
    driver::Context::pop_current().unwrap();
    // Each launch runs in the context current at the time, through the functions the thread
    // remembers for each context.
    for round in 1..=3 {
        launch!(SWITCHING::add_one<<<1, 16>>>(p, 16i32)).unwrap();
        user.push_current().unwrap();
        launch!(SWITCHING::add_one<<<1, 16>>>(u, 16i32)).unwrap();
        launch!(f<<<1, 16>>>(u, 16i32)).unwrap();
        device_synchronize().unwrap();
        assert_eq!(u.to_vec().unwrap(), [10.0 + 2.0 * round as f32; 16]);
        driver::Context::pop_current().unwrap();
        device_synchronize().unwrap();
        assert_eq!(p.to_vec().unwrap(), [round as f32; 16]);
        // A function loaded in the user context is refused in the primary one.
        let e = launch!(f<<<1, 16>>>(p, 16i32)).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidResourceHandle, "{e}");
        assert_eq!(get_last_error(), ErrorCode::InvalidResourceHandle);
    }
    assert_eq!(SWITCHING.loaded_in(), 2);
}

#[test]
fn a_module_evicted_from_a_user_context_is_loaded_afresh_there() {
    embed_module!(EVICTED = "kernels/faults.ptx");
    let dev = current_driver_device().unwrap();
    let first = driver::Context::new(dev, driver::ContextFlags::SCHED_AUTO).unwrap();
    let counter = || {
        let (addr, _) = EVICTED.global("counter").unwrap();
        let mut b = [0u8; 4];
        memcpy_from_symbol(&mut b, addr).unwrap();
        u32::from_le_bytes(b)
    };
    first.push_current().unwrap();
    launch!(EVICTED::bump_counter<<<1, 1>>>()).unwrap();
    launch!(EVICTED::bump_counter<<<1, 1>>>()).unwrap();
    device_synchronize().unwrap();
    assert_eq!(counter(), 9);
    driver::Context::pop_current().unwrap();
    // Eight more user contexts, on another thread, push the first one's load out.
    std::thread::spawn(move || {
        for _ in 0..8 {
            let ctx = driver::Context::new(dev, driver::ContextFlags::SCHED_AUTO).unwrap();
            ctx.push_current().unwrap();
            launch!(EVICTED::bump_counter<<<1, 1>>>()).unwrap();
            device_synchronize().unwrap();
            driver::Context::pop_current().unwrap();
        }
    })
    .join()
    .unwrap();
    assert_eq!(EVICTED.loaded_in(), 8);
    // Back in the first context, the launch loads the module again rather than using the
    // load this thread remembers from before: its global starts from 7 again.
    first.push_current().unwrap();
    launch!(EVICTED::bump_counter<<<1, 1>>>()).unwrap();
    device_synchronize().unwrap();
    assert_eq!(counter(), 8);
    driver::Context::pop_current().unwrap();
    assert_eq!(EVICTED.loaded_in(), 8);
}

#[test]
fn the_primary_context_made_current_through_the_driver_is_the_runtimes() {
    let dev = current_driver_device().unwrap();
    let d = malloc_from(&[1.0f32; 8]).unwrap();
    let primary = dev.retain_primary_context().unwrap();
    for _ in 0..2 {
        // The same context either way: memory and launches mix freely.
        primary.push_current().unwrap();
        launch!(add_one<<<1, 8>>>(d, 8i32)).unwrap();
        let e = malloc_from(&[5.0f32; 8]).unwrap();
        assert!(e.as_driver().context().is_primary());
        driver::Context::pop_current().unwrap();
        launch!(add_one<<<1, 8>>>(e, 8i32)).unwrap();
        launch!(add_one<<<1, 8>>>(d, 8i32)).unwrap();
        device_synchronize().unwrap();
        assert_eq!(e.to_vec().unwrap(), [6.0; 8]);
    }
    assert_eq!(d.to_vec().unwrap(), [5.0; 8]);
}

#[test]
fn the_runtime_makes_its_primary_context_current_as_cudart_does() {
    // A fresh thread with no current context: the first runtime call that needs one makes the
    // device's primary context current, so driver-layer calls that follow work in it too.
    std::thread::spawn(|| {
        assert!(driver::Context::current().is_none());
        let d = malloc_from(&[1u32; 4]).unwrap();
        let cur = driver::Context::current().expect("a current context after a runtime call");
        assert!(cur.is_primary());
        assert_eq!(cur.device().ordinal(), get_device().unwrap());
        assert_eq!(*d.as_driver().context(), cur);
        // Memory the driver layer allocates now is in the same context.
        let raw = cur.alloc_zeroed::<u32>(4).unwrap();
        assert_eq!(*raw.context(), cur);
    })
    .join()
    .unwrap();

    // `set_device` makes the device's primary context current, replacing a user context.
    std::thread::spawn(|| {
        let dev = current_driver_device().unwrap();
        let user = driver::Context::new(dev, driver::ContextFlags::SCHED_AUTO).unwrap();
        user.push_current().unwrap();
        assert_eq!(malloc::<u8>(1).unwrap().as_driver().context(), &user);
        set_device(dev.ordinal()).unwrap();
        let cur = driver::Context::current().unwrap();
        assert!(cur.is_primary() && cur != user);
        assert!(malloc::<u8>(1).unwrap().as_driver().context().is_primary());
    })
    .join()
    .unwrap();
}

#[test]
fn device_limits_on_the_cpu_device() {
    set_device_spec("cpu").unwrap();
    assert_eq!(device_get_limit(Limit::MallocHeapSize).unwrap(), 8 << 20);
    device_set_limit(Limit::MallocHeapSize, 32 << 20).unwrap();
    assert_eq!(device_get_limit(Limit::MallocHeapSize).unwrap(), 32 << 20);
    assert_eq!(device_get_limit(Limit::PrintfFifoSize).unwrap(), 1 << 20);
    assert_eq!(device_get_limit(Limit::StackSize).unwrap(), 1 << 20);
    let e = device_get_limit(Limit::DevRuntimeSyncDepth).unwrap_err();
    assert_eq!(e.code(), ErrorCode::UnsupportedLimit);
    assert_eq!(e.code().name(), "cudaErrorUnsupportedLimit");
    device_set_limit(Limit::MallocHeapSize, 8 << 20).unwrap();
}
