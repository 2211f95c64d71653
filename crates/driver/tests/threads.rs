//! One context hammered from 8 threads: allocations, copies, launches and frees at once.

mod common;

use common::{contexts, kernels};
use ferrocuda_driver::StreamFlags;

#[test]
fn eight_threads_share_one_context() {
    for ctx in contexts() {
        let m = kernels(&ctx);
        let f = m.function("add_one").unwrap();
        std::thread::scope(|scope| {
            for t in 0..8u32 {
                let (ctx, f) = (ctx.clone(), f.clone());
                scope.spawn(move || {
                    let s = ctx.create_stream(StreamFlags::NON_BLOCKING, 0).unwrap();
                    for round in 0..6u32 {
                        let n = 64 + t * 32 + round;
                        let host: Vec<u32> = (0..n).map(|i| i ^ t).collect();
                        let buf = ctx.upload(&host).unwrap();
                        let grid = n.div_ceil(64);
                        if round % 2 == 0 {
                            f.launch(grid, 64u32, 0, &s, &[&buf, &n]).unwrap();
                            s.synchronize().unwrap();
                        } else {
                            f.launch(grid, 64u32, 0, &ctx.default_stream(), &[&buf, &n])
                                .unwrap();
                        }
                        let out = buf.to_vec().unwrap();
                        let want: Vec<u32> = host.iter().map(|v| v + 1).collect();
                        assert_eq!(out, want, "thread {t} round {round}");
                        drop(buf);
                    }
                });
            }
        });
        ctx.synchronize().unwrap();
    }
}

#[test]
fn handles_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ferrocuda_driver::Context>();
    assert_send_sync::<ferrocuda_driver::Module>();
    assert_send_sync::<ferrocuda_driver::Function>();
    assert_send_sync::<ferrocuda_driver::DeviceBuffer<f32>>();
    assert_send_sync::<ferrocuda_driver::PinnedHostBuffer<f32>>();
    assert_send_sync::<ferrocuda_driver::Stream>();
    assert_send_sync::<ferrocuda_driver::Event>();
    assert_send_sync::<ferrocuda_driver::Device>();
    assert_send_sync::<ferrocuda_driver::Error>();
}
