//! Contexts: creation, the per-thread stack, primary contexts, the current-or-primary rule.

mod common;

use common::devices;
use ferrocuda_driver::{Context, ContextFlags, ErrorCode};

#[test]
fn create_with_flags_and_synchronize() {
    for d in devices() {
        let flags = ContextFlags::SCHED_BLOCKING_SYNC | ContextFlags::MAP_HOST;
        let ctx = Context::new(d, flags).unwrap();
        assert_eq!(ctx.device(), d);
        assert!(!ctx.is_primary());
        assert!(ctx
            .flags()
            .unwrap()
            .contains(ContextFlags::SCHED_BLOCKING_SYNC));
        ctx.synchronize().unwrap();
        let other = Context::new(d, ContextFlags::SCHED_AUTO).unwrap();
        assert_ne!(ctx, other);
        assert_eq!(ctx, ctx.clone());
    }
}

#[test]
fn per_thread_stack_push_pop_current_set_current() {
    for d in devices() {
        // Runs on its own thread so the stack starts empty.
        std::thread::spawn(move || {
            assert!(Context::current().is_none());
            assert_eq!(
                Context::pop_current().unwrap_err().code(),
                ErrorCode::InvalidContext
            );
            let a = Context::new(d, ContextFlags::SCHED_AUTO).unwrap();
            let b = Context::new(d, ContextFlags::SCHED_AUTO).unwrap();
            a.push_current().unwrap();
            assert_eq!(Context::current().unwrap(), a);
            b.push_current().unwrap();
            assert_eq!(Context::current().unwrap(), b);
            // Another thread has its own (empty) stack.
            std::thread::spawn(|| assert!(Context::current().is_none()))
                .join()
                .unwrap();
            assert_eq!(Context::pop_current().unwrap(), b);
            assert_eq!(Context::current().unwrap(), a);
            // set_current replaces the top.
            Context::set_current(Some(&b)).unwrap();
            assert_eq!(Context::current().unwrap(), b);
            assert_eq!(Context::pop_current().unwrap(), b);
            assert!(Context::current().is_none());
            Context::set_current(Some(&a)).unwrap();
            assert_eq!(Context::current().unwrap(), a);
            Context::set_current(None).unwrap();
            assert!(Context::current().is_none());
            Context::set_current(None).unwrap();
        })
        .join()
        .unwrap();
    }
}

#[test]
fn current_context_wins_else_the_primary_context() {
    for d in devices() {
        std::thread::spawn(move || {
            // No current context: the device's primary context.
            let p = Context::current_or_primary(d).unwrap();
            assert!(p.is_primary());
            assert_eq!(p.device(), d);
            let p2 = d.retain_primary_context().unwrap();
            assert_eq!(p, p2, "every retain shares one primary context");
            // A current context is used instead.
            let c = Context::new(d, ContextFlags::SCHED_AUTO).unwrap();
            c.push_current().unwrap();
            let used = Context::current_or_primary(d).unwrap();
            assert_eq!(used, c);
            assert!(!used.is_primary());
            Context::pop_current().unwrap();
            assert_eq!(Context::current_or_primary(d).unwrap(), p);
        })
        .join()
        .unwrap();
    }
}

#[test]
fn primary_context_retain_release_state_flags_reset() {
    for d in devices() {
        let p = d.retain_primary_context().unwrap();
        let (_, active) = d.primary_context_state().unwrap();
        assert!(active);
        // Memory allocated in it survives a second retain's release.
        let buf = p.upload(&[5u32; 16]).unwrap();
        let p2 = d.retain_primary_context().unwrap();
        drop(p2);
        assert_eq!(buf.to_vec().unwrap(), vec![5u32; 16]);
        // Reset destroys it with its memory; the stale buffer and handle drop without harm.
        d.reset_primary_context().unwrap();
        assert_eq!(
            p.upload(&[1u8]).unwrap_err().code(),
            ErrorCode::ContextIsDestroyed
        );
        drop(buf);
        drop(p);
        let p = d.retain_primary_context().unwrap();
        let fresh = p.upload(&[1u8, 2]).unwrap();
        assert_eq!(fresh.to_vec().unwrap(), vec![1, 2]);
        drop(fresh);
        d.set_primary_context_flags(ContextFlags::SCHED_YIELD)
            .unwrap();
        let (flags, _) = d.primary_context_state().unwrap();
        assert!(flags.contains(ContextFlags::SCHED_YIELD));
        d.set_primary_context_flags(ContextFlags::SCHED_AUTO)
            .unwrap();
        drop(p);
    }
}

#[test]
fn resources_outlive_their_context_handle() {
    for d in devices() {
        let ctx = Context::new(d, ContextFlags::SCHED_AUTO).unwrap();
        let buf = ctx.upload(&[1u32, 2, 3]).unwrap();
        let stream = ctx
            .create_stream(ferrocuda_driver::StreamFlags::NON_BLOCKING, 0)
            .unwrap();
        let event = ctx
            .create_event(ferrocuda_driver::EventFlags::DEFAULT)
            .unwrap();
        drop(ctx); // the resources keep it alive
        event.record(&stream).unwrap();
        stream.synchronize().unwrap();
        assert_eq!(buf.to_vec().unwrap(), vec![1, 2, 3]);
        drop(stream);
        drop(buf);
        drop(event);
    }
}
