//! Streams and events: ordering, queries, waits, host callbacks, timing, async copies, and
//! the default (null) stream's legacy synchronisation.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use common::{contexts, kernels};
use ferrocuda_driver::{ErrorCode, EventFlags, StreamFlags};

#[test]
fn create_query_synchronize_priority() {
    for ctx in contexts() {
        let (least, greatest) = ctx.stream_priority_range().unwrap();
        assert!(greatest <= least);
        let s = ctx
            .create_stream(StreamFlags::NON_BLOCKING, greatest)
            .unwrap();
        assert_eq!(s.priority().unwrap(), greatest);
        assert_eq!(s.flags(), StreamFlags::NON_BLOCKING);
        assert!(!s.is_default());
        assert!(ctx.default_stream().is_default());
        s.synchronize().unwrap();
        assert!(s.query().unwrap());
        // Out-of-range priorities are clamped.
        let s2 = ctx
            .create_stream(StreamFlags::DEFAULT, least + 100)
            .unwrap();
        assert_eq!(s2.priority().unwrap(), least);
    }
}

#[test]
fn work_in_a_stream_runs_in_order_and_query_sees_it_pending() {
    for ctx in contexts() {
        let m = kernels(&ctx);
        let spin = m.function("spin").unwrap();
        let add = m.function("add_one").unwrap();
        let s = ctx.create_stream(StreamFlags::NON_BLOCKING, 0).unwrap();
        let mut buf = ctx.alloc_zeroed::<u32>(1).unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        // A host callback that blocks until released keeps the stream busy.
        s.launch_host_func(move || {
            let _ = rx.recv_timeout(Duration::from_secs(10));
        })
        .unwrap();
        spin.launch(1u32, 1u32, 0, &s, &[&buf, &100u32]).unwrap();
        add.launch(1u32, 1u32, 0, &s, &[&buf, &1u32]).unwrap();
        assert!(!s.query().unwrap(), "pending work");
        tx.send(()).unwrap();
        s.synchronize().unwrap();
        assert!(s.query().unwrap());
        assert_eq!(buf.to_vec().unwrap(), vec![101]);
        // Async memset/copies in the same order.
        s.memset_d32_async(&mut buf, 5).unwrap();
        let mut other = ctx.alloc::<u32>(1).unwrap();
        s.memcpy_dtod_async(&mut other, &buf).unwrap();
        s.memcpy_htod_async(&mut buf, &[9]).unwrap();
        let mut out = [0u32];
        s.memcpy_dtoh_async(&mut out, &other).unwrap();
        assert_eq!(out, [5], "pageable copies complete before returning");
        s.synchronize().unwrap();
        assert_eq!(buf.to_vec().unwrap(), vec![9]);
        s.memset_d8_async(&mut buf, 1).unwrap();
        s.memset_d16_async(&mut other, 2).unwrap();
        s.synchronize().unwrap();
        assert_eq!(buf.to_vec().unwrap(), vec![0x0101_0101]);
        assert_eq!(other.to_vec().unwrap(), vec![0x0002_0002]);
    }
}

#[test]
fn host_callbacks_run_in_stream_order() {
    for ctx in contexts() {
        let s = ctx.create_stream(StreamFlags::NON_BLOCKING, 0).unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        for i in 0..20 {
            let log = Arc::clone(&log);
            s.launch_host_func(move || log.lock().unwrap().push(i))
                .unwrap();
        }
        s.synchronize().unwrap();
        assert_eq!(*log.lock().unwrap(), (0..20).collect::<Vec<_>>());
    }
}

#[test]
fn events_record_synchronize_query_and_time() {
    for ctx in contexts() {
        let s = ctx.create_stream(StreamFlags::NON_BLOCKING, 0).unwrap();
        let start = ctx.create_event(EventFlags::DEFAULT).unwrap();
        let end = ctx.create_event(EventFlags::BLOCKING_SYNC).unwrap();
        // Never recorded: complete, but without a time.
        assert!(start.query().unwrap());
        start.synchronize().unwrap();
        let e = start.elapsed_ms(&end).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidHandle);
        let (tx, rx) = mpsc::channel::<()>();
        start.record(&s).unwrap();
        s.launch_host_func(move || {
            let _ = rx.recv_timeout(Duration::from_secs(10));
            std::thread::sleep(Duration::from_millis(20));
        })
        .unwrap();
        end.record(&s).unwrap();
        assert!(!end.query().unwrap());
        assert_eq!(
            start.elapsed_ms(&end).unwrap_err().code(),
            ErrorCode::NotReady
        );
        tx.send(()).unwrap();
        end.synchronize().unwrap();
        assert!(end.query().unwrap());
        let ms = start.elapsed_ms(&end).unwrap();
        assert!((15.0..5000.0).contains(&ms), "{ms} ms");
        let back = end.elapsed_ms(&start).unwrap();
        assert!(back < 0.0);
        // Timing disabled.
        let nt = ctx.create_event(EventFlags::DISABLE_TIMING).unwrap();
        nt.record(&s).unwrap();
        nt.synchronize().unwrap();
        assert_eq!(
            start.elapsed_ms(&nt).unwrap_err().code(),
            ErrorCode::InvalidHandle
        );
    }
}

#[test]
fn stream_waits_on_an_event_from_another_stream() {
    for ctx in contexts() {
        let m = kernels(&ctx);
        let add = m.function("add_one").unwrap();
        let a = ctx.create_stream(StreamFlags::NON_BLOCKING, 0).unwrap();
        let b = ctx.create_stream(StreamFlags::NON_BLOCKING, 0).unwrap();
        let buf = ctx.alloc_zeroed::<u32>(1).unwrap();
        let ev = ctx.create_event(EventFlags::DISABLE_TIMING).unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        a.launch_host_func(move || {
            let _ = rx.recv_timeout(Duration::from_secs(10));
        })
        .unwrap();
        add.launch(1u32, 1u32, 0, &a, &[&buf, &1u32]).unwrap();
        ev.record(&a).unwrap();
        b.wait_event(&ev).unwrap();
        let seen = Arc::new(AtomicUsize::new(usize::MAX));
        let (seen2, probe) = (Arc::clone(&seen), ctx.alloc_zeroed::<u32>(1).unwrap());
        // b copies buf after a's add: it must see 1.
        let mut probe = probe;
        b.memcpy_dtod_async(&mut probe, &buf).unwrap();
        b.launch_host_func(move || seen2.store(1, Ordering::SeqCst))
            .unwrap();
        assert!(!b.query().unwrap(), "b waits for a");
        tx.send(()).unwrap();
        b.synchronize().unwrap();
        assert_eq!(seen.load(Ordering::SeqCst), 1);
        assert_eq!(probe.to_vec().unwrap(), vec![1]);
    }
}

#[test]
fn default_stream_waits_for_blocking_streams_and_they_wait_for_it() {
    for ctx in contexts() {
        let blocking = ctx.create_stream(StreamFlags::DEFAULT, 0).unwrap();
        let null = ctx.default_stream();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel::<()>();
        let l = Arc::clone(&log);
        blocking
            .launch_host_func(move || {
                let _ = rx.recv_timeout(Duration::from_secs(10));
                l.lock().unwrap().push("blocking");
            })
            .unwrap();
        let l = Arc::clone(&log);
        null.launch_host_func(move || l.lock().unwrap().push("null"))
            .unwrap();
        assert!(
            !null.query().unwrap(),
            "the null stream waits for the blocking one"
        );
        tx.send(()).unwrap();
        null.synchronize().unwrap();
        assert_eq!(*log.lock().unwrap(), vec!["blocking", "null"]);
        // Later work on a blocking stream waits for earlier null-stream work.
        let (tx3, rx3) = mpsc::channel::<()>();
        let l = Arc::clone(&log);
        null.launch_host_func(move || {
            let _ = rx3.recv_timeout(Duration::from_secs(10));
            l.lock().unwrap().push("null2");
        })
        .unwrap();
        let l = Arc::clone(&log);
        blocking
            .launch_host_func(move || l.lock().unwrap().push("blocking2"))
            .unwrap();
        assert!(!blocking.query().unwrap());
        tx3.send(()).unwrap();
        ctx.synchronize().unwrap();
        assert_eq!(&log.lock().unwrap()[2..], &["null2", "blocking2"]);
    }
}

#[test]
fn default_stream_does_not_wait_for_non_blocking_streams_on_the_cpu_device() {
    // (On a GPU, host functions of different streams may share one driver thread, so a
    // blocked host function cannot show this there.)
    let ctx = common::cpu_context();
    let nonblocking = ctx.create_stream(StreamFlags::NON_BLOCKING, 0).unwrap();
    let null = ctx.default_stream();
    let (tx, rx) = mpsc::channel::<()>();
    let done = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&done);
    nonblocking
        .launch_host_func(move || {
            let _ = rx.recv_timeout(Duration::from_secs(10));
            d.store(1, Ordering::SeqCst);
        })
        .unwrap();
    null.launch_host_func(|| {}).unwrap();
    null.synchronize().unwrap();
    assert_eq!(done.load(Ordering::SeqCst), 0, "null did not wait");
    assert!(!nonblocking.query().unwrap());
    // Synchronous copies (ordered on the null stream) do not wait either.
    let b = ctx.upload(&[3u8]).unwrap();
    assert_eq!(b.to_vec().unwrap(), vec![3]);
    tx.send(()).unwrap();
    nonblocking.synchronize().unwrap();
    assert_eq!(done.load(Ordering::SeqCst), 1);
}

#[test]
fn events_and_streams_from_other_contexts_are_refused() {
    let all = contexts();
    let ctx = &all[0];
    let other = ferrocuda_driver::Context::new(ctx.device(), Default::default()).unwrap();
    let s = ctx.create_stream(StreamFlags::NON_BLOCKING, 0).unwrap();
    let ev = other.create_event(EventFlags::DEFAULT).unwrap();
    assert_eq!(ev.record(&s).unwrap_err().code(), ErrorCode::InvalidContext);
    assert_eq!(
        s.wait_event(&ev).unwrap_err().code(),
        ErrorCode::InvalidContext
    );
}

#[test]
fn buffers_dropped_inside_host_functions_do_not_hang() {
    // Keeping a buffer alive until the stream reaches a point, then dropping it there.
    let ctx = common::cpu_context();
    let s = ctx.create_stream(StreamFlags::NON_BLOCKING, 0).unwrap();
    let buf = ctx.upload(&[1u32; 64]).unwrap();
    let (tx, rx) = mpsc::channel();
    s.launch_host_func(move || {
        drop(buf);
        let _ = tx.send(());
    })
    .unwrap();
    rx.recv_timeout(Duration::from_secs(10))
        .expect("host function finished");
    s.synchronize().unwrap();
}
