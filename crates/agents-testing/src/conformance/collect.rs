//! The stream reader the suites share.

use std::time::Duration;

/// Reads a stream into a log while the suite drives the input side.
pub(crate) struct Collector<S, T> {
    stream: S,
    limit: Duration,
    pub(crate) items: Vec<agents_core::Result<T>>,
    pub(crate) ended: bool,
}

impl<S, T> Collector<S, T>
where
    S: futures_util::Stream<Item = agents_core::Result<T>> + Unpin,
{
    /// A collector whose input-side calls may block for at most `limit`.
    pub(crate) fn new(stream: S, limit: Duration) -> Self {
        Collector {
            stream,
            limit,
            items: Vec::new(),
            ended: false,
        }
    }

    /// Runs an input-side call (push, flush, end of input) to completion while recording
    /// whatever the stream yields meanwhile, so that a provider blocked on a full output
    /// channel never deadlocks the input side. A call still blocked after the limit (a provider
    /// that stopped reading its input) is a `Timeout` error.
    pub(crate) async fn during<F, R>(&mut self, fut: F) -> agents_core::Result<R>
    where
        F: std::future::Future<Output = agents_core::Result<R>>,
    {
        let limit = self.limit;
        match tokio::time::timeout(limit, self.poll_during(fut)).await {
            Ok(out) => out,
            Err(_) => Err(agents_core::Error::timeout(format!(
                "the call blocked for more than {limit:?} (the provider stopped reading input)"
            ))),
        }
    }

    /// Waits `d` while recording the stream.
    pub(crate) async fn pause(&mut self, d: Duration) {
        self.poll_during(tokio::time::sleep(d)).await;
    }

    async fn poll_during<F: std::future::Future>(&mut self, fut: F) -> F::Output {
        use futures_util::StreamExt;
        tokio::pin!(fut);
        loop {
            if self.ended {
                return fut.await;
            }
            tokio::select! {
                biased;
                out = &mut fut => return out,
                item = self.stream.next() => match item {
                    Some(item) => self.items.push(item),
                    None => self.ended = true,
                },
            }
        }
    }

    /// Reads until an item after index `from` satisfies `pred`, the stream ends or `limit`
    /// passes. Returns the index of the matching item.
    pub(crate) async fn until(
        &mut self,
        from: usize,
        limit: Duration,
        pred: impl Fn(&T) -> bool,
    ) -> Option<usize> {
        use futures_util::StreamExt;
        let found = |items: &[agents_core::Result<T>]| {
            items
                .iter()
                .enumerate()
                .skip(from)
                .find(|(_, i)| matches!(i, Ok(v) if pred(v)))
                .map(|(n, _)| n)
        };
        if let Some(n) = found(&self.items) {
            return Some(n);
        }
        let deadline = tokio::time::Instant::now() + limit;
        while !self.ended {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return None,
                Ok(None) => self.ended = true,
                Ok(Some(item)) => {
                    let hit = matches!(&item, Ok(v) if pred(v));
                    self.items.push(item);
                    if hit {
                        return Some(self.items.len() - 1);
                    }
                }
            }
        }
        None
    }

    /// Reads to the end; false when `limit` passed first.
    pub(crate) async fn read_to_end(&mut self, limit: Duration) -> bool {
        self.until(usize::MAX, limit, |_| false).await;
        self.ended
    }

    /// The stream, to drop it.
    pub(crate) fn into_stream(self) -> S {
        self.stream
    }

    /// The errors seen, as text.
    pub(crate) fn errors(&self) -> Vec<String> {
        self.items
            .iter()
            .filter_map(|i| i.as_ref().err().map(ToString::to_string))
            .collect()
    }

    /// The successful items.
    pub(crate) fn oks(&self) -> impl Iterator<Item = &T> {
        self.items.iter().filter_map(|i| i.as_ref().ok())
    }
}
