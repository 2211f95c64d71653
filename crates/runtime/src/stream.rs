//! Streams and events of the runtime (`cudaStream_t`, `cudaEvent_t`): thin handles over the
//! driver's, created in the runtime's current context.

use driver::{EventFlags, StreamFlags};
use ferrocuda_driver as driver;

use crate::error::{Error, ErrorCode, Result};
use crate::state::scope;

/// A stream (`cudaStream_t`): in-order asynchronous work. Destroyed on drop once its work is
/// done (`cudaStreamDestroy`).
#[derive(Clone, Debug)]
pub struct Stream {
    inner: driver::Stream,
}

impl Stream {
    /// The driver-layer stream underneath.
    pub fn as_driver(&self) -> &driver::Stream {
        &self.inner
    }

    /// Wraps a driver-layer stream (e.g. one a library created) for runtime calls.
    pub fn from_driver(inner: driver::Stream) -> Stream {
        Stream { inner }
    }

    /// Waits for the stream's work (`cudaStreamSynchronize`).
    pub fn synchronize(&self) -> Result<()> {
        stream_synchronize(self)
    }

    /// `true` when all its work is done (`cudaStreamQuery`; CUDA reports pending work as
    /// `cudaErrorNotReady`, here it is `Ok(false)`).
    pub fn query(&self) -> Result<bool> {
        let s = scope()?;
        s.run(|_| self.inner.query())
    }

    /// Makes later work in this stream wait for `event` (`cudaStreamWaitEvent`).
    pub fn wait_event(&self, event: &Event) -> Result<()> {
        let s = scope()?;
        s.run(|_| self.inner.wait_event(&event.inner))
    }
}

/// Creates a stream in the runtime's context (`cudaStreamCreate`): a blocking stream that
/// synchronises with the default stream.
pub fn stream_create() -> Result<Stream> {
    stream_create_with_flags(StreamFlags::DEFAULT)
}

/// Creates a stream with flags (`cudaStreamCreateWithFlags`), e.g.
/// [`StreamFlags::NON_BLOCKING`].
pub fn stream_create_with_flags(flags: StreamFlags) -> Result<Stream> {
    let s = scope()?;
    let inner = s.run(|c| c.create_stream(flags, 0))?;
    Ok(Stream { inner })
}

/// The default (null) stream of the runtime's context, what `0` means in
/// `kernel<<<g, b, 0, 0>>>`.
pub fn default_stream() -> Result<Stream> {
    let s = scope()?;
    Ok(Stream {
        inner: s.ctx.default_stream(),
    })
}

/// Waits for a stream's work (`cudaStreamSynchronize`); an error a kernel hit is returned
/// here.
pub fn stream_synchronize(stream: &Stream) -> Result<()> {
    let s = scope()?;
    s.run(|_| stream.inner.synchronize())
}

/// Destroys a stream once its work is done (`cudaStreamDestroy`); dropping it does the same.
pub fn stream_destroy(stream: Stream) -> Result<()> {
    drop(stream);
    Ok(())
}

/// An event (`cudaEvent_t`): a point in a stream, with a timestamp.
#[derive(Debug)]
pub struct Event {
    inner: driver::Event,
}

impl Event {
    /// The driver-layer event underneath.
    pub fn as_driver(&self) -> &driver::Event {
        &self.inner
    }
}

/// Creates an event (`cudaEventCreate`).
pub fn event_create() -> Result<Event> {
    event_create_with_flags(EventFlags::DEFAULT)
}

/// Creates an event with flags (`cudaEventCreateWithFlags`).
pub fn event_create_with_flags(flags: EventFlags) -> Result<Event> {
    let s = scope()?;
    let inner = s.run(|c| c.create_event(flags))?;
    Ok(Event { inner })
}

/// Records `event` in `stream` (`cudaEventRecord`); `None` is the default stream.
pub fn event_record(event: &Event, stream: Option<&Stream>) -> Result<()> {
    let s = scope()?;
    match stream {
        Some(st) => s.run(|_| event.inner.record(&st.inner)),
        None => s.run(|c| event.inner.record(&c.default_stream())),
    }
}

/// Waits for the event's last record (`cudaEventSynchronize`).
pub fn event_synchronize(event: &Event) -> Result<()> {
    let s = scope()?;
    s.run(|_| event.inner.synchronize())
}

/// `true` when the work before the event's last record is done (`cudaEventQuery`).
pub fn event_query(event: &Event) -> Result<bool> {
    let s = scope()?;
    s.run(|_| event.inner.query())
}

/// Milliseconds between two recorded events (`cudaEventElapsedTime`).
pub fn event_elapsed_time(start: &Event, end: &Event) -> Result<f32> {
    let s = scope()?;
    s.run(|_| start.inner.elapsed_ms(&end.inner))
}

/// Destroys an event (`cudaEventDestroy`); dropping it does the same.
pub fn event_destroy(event: Event) -> Result<()> {
    drop(event);
    Ok(())
}

/// What `launch!` accepts as its fourth configuration value: a [`Stream`], `&Stream`,
/// `Option<&Stream>`, or the integer `0` (CUDA's spelling of the default stream).
pub trait StreamArg {
    /// The stream to launch on; `None` is the default stream of the runtime's context.
    fn stream_arg(&self) -> Result<Option<&Stream>>;
}

impl StreamArg for Stream {
    fn stream_arg(&self) -> Result<Option<&Stream>> {
        Ok(Some(self))
    }
}

impl StreamArg for &Stream {
    fn stream_arg(&self) -> Result<Option<&Stream>> {
        Ok(Some(self))
    }
}

impl StreamArg for Option<&Stream> {
    fn stream_arg(&self) -> Result<Option<&Stream>> {
        Ok(*self)
    }
}

impl StreamArg for i32 {
    fn stream_arg(&self) -> Result<Option<&Stream>> {
        if *self == 0 {
            Ok(None)
        } else {
            Err(Error::with_detail(
                ErrorCode::InvalidResourceHandle,
                format!("stream `{self}`: only 0 (the default stream) is a valid integer stream"),
            ))
        }
    }
}
