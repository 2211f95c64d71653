//! Tests of the raw NVIDIA layer against a real driver. Each test skips (with a printed
//! reason) when libcuda cannot be loaded or there is no device.

use std::ffi::c_void;
use std::sync::mpsc;
use std::time::Duration;

use ferrocuda_driver::nvidia::result::{JitOption, JitOptions};
use ferrocuda_driver::nvidia::sys::*;

/// `add_one(u32* data, u32 n)`: data[i] += 1 for i < n; plus a global `counter = 7`.
const ADD_ONE_PTX: &str = r#"
.version 7.8
.target sm_75
.address_size 64

.visible .global .align 4 .u32 counter = 7;

.visible .entry add_one(
    .param .u64 data,
    .param .u32 n
)
{
    .reg .pred %p<2>;
    .reg .b32 %r<8>;
    .reg .b64 %rd<5>;

    ld.param.u64 %rd1, [data];
    ld.param.u32 %r2, [n];
    mov.u32 %r3, %ctaid.x;
    mov.u32 %r4, %ntid.x;
    mov.u32 %r5, %tid.x;
    mad.lo.s32 %r1, %r3, %r4, %r5;
    setp.ge.u32 %p1, %r1, %r2;
    @%p1 bra DONE;
    cvta.to.global.u64 %rd2, %rd1;
    mul.wide.u32 %rd3, %r1, 4;
    add.s64 %rd4, %rd2, %rd3;
    ld.global.u32 %r6, [%rd4];
    add.u32 %r7, %r6, 1;
    st.global.u32 [%rd4], %r7;
DONE:
    ret;
}
"#;

/// The driver, initialised, with device 0's primary context current on this thread.
fn setup() -> Option<(&'static Driver, CUdevice)> {
    let d = match driver() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("skipping: {e}");
            return None;
        }
    };
    if let Err(e) = d.init(0) {
        eprintln!("skipping: cuInit failed with {e}");
        return None;
    }
    match d.device_get_count() {
        Ok(n) if n > 0 => {}
        other => {
            eprintln!("skipping: no CUDA device ({other:?})");
            return None;
        }
    }
    let dev = d.device_get(0).expect("cuDeviceGet(0)");
    let ctx = d.device_primary_ctx_retain(dev).expect("primary context");
    // SAFETY: `ctx` was just retained and is never released in this process.
    unsafe { d.ctx_set_current(ctx) }.expect("cuCtxSetCurrent");
    Some((d, dev))
}

fn load_add_one(d: &Driver) -> CUmodule {
    let (module, logs) = d
        .module_load_data_ex(ADD_ONE_PTX.as_bytes(), &[JitOption::OptimizationLevel(3)])
        .unwrap_or_else(|(e, logs)| panic!("JIT failed with {e}: {}", logs.error));
    eprintln!("JIT info log:\n{}", logs.info);
    assert!(logs.error.is_empty(), "{}", logs.error);
    module
}

#[test]
fn version_and_error_names() {
    let Some((d, _)) = setup() else { return };
    let v = d.driver_get_version().unwrap();
    assert_eq!(v, d.version());
    assert!(v >= MIN_DRIVER_VERSION);
    assert_eq!(
        d.error_name(CUresult::CUDA_ERROR_INVALID_VALUE),
        Some("CUDA_ERROR_INVALID_VALUE")
    );
    assert!(!d
        .error_string(CUresult::CUDA_ERROR_OUT_OF_MEMORY)
        .unwrap()
        .is_empty());
    // Every code we declare is known to the driver under the same name.
    for (code, name) in CUresult::ALL {
        if let Some(driver_name) = d.error_name(*code) {
            assert_eq!(driver_name, *name);
        }
    }
}

#[test]
fn device_properties() {
    let Some((d, dev)) = setup() else { return };
    let name = d.device_get_name(dev).unwrap();
    assert!(!name.is_empty());
    let attr = |a| d.device_get_attribute(dev, a).unwrap();
    assert_eq!(attr(CU_DEVICE_ATTRIBUTE_WARP_SIZE), 32);
    assert_eq!(attr(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK), 1024);
    assert_eq!(attr(CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X), 1024);
    assert_eq!(attr(CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X), i32::MAX);
    assert!(attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT) > 0);
    assert!(attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR) >= 5);
    assert_eq!(attr(CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING), 1);
    eprintln!(
        "{name}: sm_{}{}, {} SMs",
        attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
        attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR),
        attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)
    );
    // Every attribute up to the last one of CUDA 13.0 is either answered or cleanly refused.
    for a in 1..CU_DEVICE_ATTRIBUTE_MAX {
        match d.device_get_attribute(dev, a) {
            Ok(_) | Err(CUresult::CUDA_ERROR_INVALID_VALUE) => {}
            Err(e) => panic!("attribute {a}: {e}"),
        }
    }
    let bus = d.device_get_pci_bus_id(dev).unwrap();
    assert_eq!(bus.matches(':').count(), 2, "{bus}");
    assert!(bus.contains('.'), "{bus}");
    let _ = d.device_can_access_peer(dev, dev);
    assert!(d.device_total_mem(dev).unwrap() > 0);
    assert_ne!(d.device_get_uuid(dev).unwrap(), [0u8; 16]);
    let (_flags, active) = d.device_primary_ctx_get_state(dev).unwrap();
    assert!(active);
    let (free, total) = d.mem_get_info().unwrap();
    assert!(free <= total && total > 0);
    assert_eq!(d.device_get(-1), Err(CUresult::CUDA_ERROR_INVALID_DEVICE));
}

#[test]
fn context_create_and_destroy() {
    let Some((d, dev)) = setup() else { return };
    let primary = d.ctx_get_current().unwrap();
    let ctx = d.ctx_create(CU_CTX_SCHED_AUTO, dev).unwrap();
    assert!(!ctx.is_null());
    assert_eq!(d.ctx_get_current().unwrap(), ctx);
    assert_eq!(d.ctx_get_device().unwrap(), dev);
    // SAFETY: `ctx` is live.
    let api = unsafe { d.ctx_get_api_version(ctx) }.unwrap();
    assert!(api >= 3020, "{api}");
    d.ctx_synchronize().unwrap();
    let (least, greatest) = d.ctx_get_stream_priority_range().unwrap();
    assert!(greatest <= least);
    assert_eq!(d.ctx_pop_current().unwrap(), ctx);
    assert_eq!(d.ctx_get_current().unwrap(), primary);
    // SAFETY: `ctx` is live and not used afterwards.
    unsafe { d.ctx_destroy(ctx) }.unwrap();
}

#[test]
fn jit_logs_and_module_queries() {
    let Some((d, dev)) = setup() else { return };
    let module = load_add_one(d);
    // SAFETY: `module` and the function are live for the rest of the test.
    unsafe {
        let f = d.module_get_function(module, "add_one").unwrap();
        assert_eq!(
            d.module_get_function(module, "nope"),
            Err(CUresult::CUDA_ERROR_NOT_FOUND)
        );
        assert_eq!(
            d.module_get_function(module, "add\0one"),
            Err(CUresult::CUDA_ERROR_INVALID_VALUE)
        );
        let (addr, size) = d.module_get_global(module, "counter").unwrap();
        assert_eq!(size, 4);
        let mut v = [0u8; 4];
        d.memcpy_dtoh(&mut v, addr).unwrap();
        assert_eq!(u32::from_le_bytes(v), 7);

        if d.version() >= 12040 {
            assert_eq!(
                d.func_get_param_info(f).unwrap(),
                Some(vec![(0, 8), (8, 4)])
            );
        } else {
            assert_eq!(d.func_get_param_info(f).unwrap(), None);
        }
        if d.version() >= 12030 {
            assert_eq!(d.func_get_name(f).unwrap().as_deref(), Some("add_one"));
        }
        assert!(d.func_get_attribute(f, CU_FUNC_ATTRIBUTE_NUM_REGS).unwrap() > 0);
        assert!(
            d.func_get_attribute(f, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK)
                .unwrap()
                >= 256
        );
        // The virtual architecture of `.target`, not the PTX ISA version.
        assert_eq!(
            d.func_get_attribute(f, CU_FUNC_ATTRIBUTE_PTX_VERSION)
                .unwrap(),
            75
        );
        let blocks = d
            .occupancy_max_active_blocks_per_multiprocessor(f, 256, 0)
            .unwrap();
        assert!(blocks > 0);
        if let Some((grid, block)) = d.occupancy_max_potential_block_size(f, 0, 0).unwrap() {
            assert!(grid > 0 && block > 0 && block <= 1024, "{grid} {block}");
        }
        let major = d
            .device_get_attribute(dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)
            .unwrap();
        let binary = d
            .func_get_attribute(f, CU_FUNC_ATTRIBUTE_BINARY_VERSION)
            .unwrap();
        assert_eq!(binary / 10, major);
        assert_eq!(d.func_get_module(f).unwrap(), module);
        if let Some(functions) = d.module_functions(module).unwrap() {
            assert_eq!(functions, vec![f]);
        } else {
            assert!(d.version() < 12040);
        }
        d.module_unload(module).unwrap();
    }
}

#[test]
fn jit_failure_returns_the_error_log() {
    let Some((d, _)) = setup() else { return };
    let bad = ADD_ONE_PTX.replace("add.u32 %r7, %r6, 1;", "add.u32 %r7, %r6, %undefined_reg;");
    let (code, logs) = d
        .module_load_data_ex(bad.as_bytes(), &[])
        .expect_err("bad PTX must not load");
    assert_eq!(code, CUresult::CUDA_ERROR_INVALID_PTX);
    eprintln!("JIT error log:\n{}", logs.error);
    assert!(logs.error.contains("undefined_reg"), "{}", logs.error);
}

#[test]
fn alloc_copy_launch_copy_back() {
    let Some((d, _)) = setup() else { return };
    let module = load_add_one(d);
    let n: u32 = 1000;
    let input: Vec<u8> = (0..n).flat_map(|i| (i * 3).to_le_bytes()).collect();
    let bytes = input.len();
    let dptr = d.mem_alloc(bytes).unwrap();
    assert_ne!(dptr, 0);
    // SAFETY: `dptr` is a live allocation of `bytes` bytes used only by this test, and the
    // launch parameters match `add_one(u64, u32)`.
    unsafe {
        assert_eq!(d.pointer_memory_type(dptr).unwrap(), CU_MEMORYTYPE_DEVICE);
        assert_eq!(d.pointer_range(dptr + 4).unwrap(), (dptr, bytes));
        assert!(!d.pointer_is_managed(dptr).unwrap());
        assert_eq!(d.pointer_device_ordinal(dptr).unwrap(), 0);
        assert_eq!(
            d.pointer_context(dptr).unwrap(),
            d.ctx_get_current().unwrap()
        );

        d.memcpy_htod(dptr, &input).unwrap();
        let f = d.module_get_function(module, "add_one").unwrap();
        let mut data = dptr;
        let mut count = n;
        let mut params = [
            (&mut data as *mut CUdeviceptr).cast::<c_void>(),
            (&mut count as *mut u32).cast::<c_void>(),
        ];
        d.launch_kernel(
            f,
            [n.div_ceil(256), 1, 1],
            [256, 1, 1],
            0,
            std::ptr::null_mut(),
            &mut params,
        )
        .unwrap();
        d.ctx_synchronize().unwrap();
        let mut out = vec![0u8; bytes];
        d.memcpy_dtoh(&mut out, dptr).unwrap();
        for (i, chunk) in out.chunks_exact(4).enumerate() {
            assert_eq!(
                u32::from_le_bytes(chunk.try_into().unwrap()),
                i as u32 * 3 + 1
            );
        }

        // memset + device-to-device copy.
        let other = d.mem_alloc(bytes).unwrap();
        d.memset_d32(other, 0xdead_beef, n as usize).unwrap();
        let ctx = d.ctx_get_current().unwrap();
        d.memcpy_peer(dptr, ctx, other, ctx, bytes).unwrap();
        d.memcpy_dtoh(&mut out, dptr).unwrap();
        assert!(out
            .chunks_exact(4)
            .all(|c| c == 0xdead_beefu32.to_le_bytes()));
        d.memset_d8(other, 0x5a, 3).unwrap();
        d.memset_d16(other + 4, 0x1234, 1).unwrap();
        let mut head = [0u8; 8];
        d.memcpy_dtoh(&mut head, other).unwrap();
        assert_eq!(head, [0x5a, 0x5a, 0x5a, 0xde, 0x34, 0x12, 0xad, 0xde]);

        // The same kernel as a cooperative launch, over the 0xdeadbeef copied in above.
        d.launch_cooperative_kernel(
            f,
            [n.div_ceil(256), 1, 1],
            [256, 1, 1],
            0,
            std::ptr::null_mut(),
            &mut params,
        )
        .unwrap();
        d.ctx_synchronize().unwrap();
        d.memcpy_dtoh(&mut out, dptr).unwrap();
        assert!(out
            .chunks_exact(4)
            .all(|c| c == 0xdead_bef0u32.to_le_bytes()));
        assert_eq!(d.mem_get_address_range(dptr + 8).unwrap(), (dptr, bytes));

        // A launch with a bad configuration is refused, not a crash.
        assert_eq!(
            d.launch_kernel(
                f,
                [1, 1, 1],
                [2048, 1, 1],
                0,
                std::ptr::null_mut(),
                &mut params
            ),
            Err(CUresult::CUDA_ERROR_INVALID_VALUE)
        );
        d.mem_free(other).unwrap();
        d.mem_free(dptr).unwrap();
        d.module_unload(module).unwrap();
    }
}

#[test]
fn streams_events_and_host_callbacks() {
    let Some((d, _)) = setup() else { return };
    let stream = d.stream_create(CU_STREAM_NON_BLOCKING).unwrap();
    let start = d.event_create(CU_EVENT_DEFAULT).unwrap();
    let end = d.event_create(CU_EVENT_DEFAULT).unwrap();
    let pinned = d.mem_alloc_host(1 << 20).unwrap();
    // SAFETY: all handles are live until destroyed at the end; the pinned buffer and the
    // device buffer are only touched by this test and outlive the synchronisation below.
    unsafe {
        assert_eq!(d.stream_get_flags(stream).unwrap(), CU_STREAM_NON_BLOCKING);
        let _ = d.stream_get_priority(stream).unwrap();
        assert_eq!(
            d.pointer_memory_type(pinned as CUdeviceptr).unwrap(),
            CU_MEMORYTYPE_HOST
        );
        let host = std::slice::from_raw_parts_mut(pinned.cast::<u8>(), 1 << 20);
        host.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
        let dptr = d.mem_alloc(1 << 20).unwrap();
        d.event_record(start, stream).unwrap();
        d.memcpy_htod_async(dptr, host, stream).unwrap();
        d.memset_d8_async(dptr, 7, 16, stream).unwrap();
        d.event_record_with_flags(end, stream, CU_EVENT_RECORD_DEFAULT)
            .unwrap();

        let (tx, rx) = mpsc::channel();
        let tx2 = tx.clone();
        d.launch_host_func(stream, Box::new(move || tx.send("host fn").unwrap()))
            .unwrap();
        d.stream_add_callback(
            stream,
            Box::new(move |status| {
                tx2.send(if status.0 == 0 { "callback" } else { "error" })
                    .unwrap()
            }),
        )
        .unwrap();
        d.stream_synchronize(stream).unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), "host fn");
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(10)).unwrap(),
            "callback"
        );
        assert!(d.stream_query(stream).unwrap());
        assert!(d.event_query(end).unwrap());
        d.event_synchronize(end).unwrap();
        let ms = d.event_elapsed_time(start, end).unwrap();
        assert!(ms >= 0.0, "{ms}");

        let waiter = d.stream_create(CU_STREAM_DEFAULT).unwrap();
        d.stream_wait_event(waiter, end, 0).unwrap();
        d.memcpy_dtoh_async(&mut host[..32], dptr, waiter).unwrap();
        d.stream_synchronize(waiter).unwrap();
        assert_eq!(&host[..16], &[7u8; 16]);
        assert_eq!(host[16], 16);

        d.stream_destroy(waiter).unwrap();
        d.mem_free(dptr).unwrap();
        d.mem_free_host(pinned).unwrap();
        d.event_destroy(start).unwrap();
        d.event_destroy(end).unwrap();
        d.stream_destroy(stream).unwrap();
    }
}

#[test]
fn link_ptx_into_a_cubin_and_load_it() {
    let Some((d, _)) = setup() else { return };
    let mut options = JitOptions::new(&[]);
    // SAFETY: `options` outlives the link state, destroyed at the end.
    unsafe {
        let Some(state) = d.link_create(&mut options).unwrap() else {
            eprintln!("skipping: the driver has no cuLink*");
            return;
        };
        d.link_add_data(
            state,
            CU_JIT_INPUT_PTX,
            ADD_ONE_PTX.as_bytes(),
            "add_one.ptx",
        )
        .unwrap_or_else(|e| panic!("{e}: {}", options.logs().error));
        let cubin = d.link_complete(state).unwrap();
        d.link_destroy(state).unwrap();
        assert!(cubin.starts_with(b"\x7fELF"));
        // Our ELF extent check accepts a real cubin, and the driver loads it.
        let module = d.module_load_data(&cubin).unwrap();
        let f = d.module_get_function(module, "add_one").unwrap();
        assert!(!f.is_null());
        d.module_unload(module).unwrap();
        // A truncated cubin is refused before the driver sees it.
        assert_eq!(
            d.module_load_data(&cubin[..cubin.len() / 2]),
            Err(CUresult::CUDA_ERROR_INVALID_IMAGE)
        );
    }
}

#[test]
fn resolved_entry_points_use_the_declared_abi() {
    let Some((d, _)) = setup() else { return };
    // What cuGetProcAddress returned is the exported variant the field is named after (and
    // whose prototype it declares), for every entry point in the table.
    let mut mismatches = Vec::new();
    for (exported, resolved) in d.entry_points() {
        let Some(resolved) = resolved else { continue };
        match d.exported_address(exported) {
            Some(addr) if addr == resolved => {}
            other => mismatches.push(format!("{exported}: {other:x?} vs resolved {resolved:#x}")),
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    // The optional entry points exist on every driver new enough for them.
    assert_eq!(d.cuFuncGetParamInfo.is_some(), d.version() >= 12040);
    assert_eq!(d.cuFuncGetName.is_some(), d.version() >= 12030);
    assert!(d.cuLinkCreate_v2.is_some());
}

/// Loads every `.ptx`, `.cubin` and `.fatbin` in the directory named by
/// `FERROCUDA_TEST_IMAGES` (e.g. images produced by nvcc/Triton for this GPU).
#[test]
fn load_images_from_directory() {
    let Some(dir) = std::env::var_os("FERROCUDA_TEST_IMAGES") else {
        eprintln!("skipping: FERROCUDA_TEST_IMAGES is not set");
        return;
    };
    let Some((d, _)) = setup() else { return };
    let mut loaded = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "ptx" | "cubin" | "fatbin") {
            continue;
        }
        let image = std::fs::read(&path).unwrap();
        let module = match d.module_load_data_ex(&image, &[]) {
            Ok((m, _)) => m,
            Err((e, logs)) => panic!("{}: {e}: {}", path.display(), logs.error),
        };
        // SAFETY: `module` is live and unloaded once.
        unsafe { d.module_unload(module) }.unwrap();
        eprintln!("loaded {}", path.display());
        loaded += 1;
    }
    assert!(loaded > 0);
}

#[test]
fn managed_memory() {
    let Some((d, dev)) = setup() else { return };
    if d.device_get_attribute(dev, CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY)
        .unwrap()
        == 0
    {
        eprintln!("skipping: no managed memory on this device");
        return;
    }
    let p = d.mem_alloc_managed(4096, CU_MEM_ATTACH_GLOBAL).unwrap();
    assert!(d.pointer_is_managed(p).unwrap());
    // SAFETY: `p` is a live managed allocation of 4096 bytes; the device is idle, so the host
    // may touch it; it is freed once.
    unsafe {
        d.memset_d32(p, 0x0102_0304, 1024).unwrap();
        d.ctx_synchronize().unwrap();
        let host = std::slice::from_raw_parts(p as usize as *const u32, 1024);
        assert!(host.iter().all(|&v| v == 0x0102_0304));
        d.mem_free(p).unwrap();
    }
    if d.version() >= 12010 {
        let flags = d.ctx_get_flags().unwrap();
        d.ctx_set_flags(flags).unwrap();
    }
}
