//! The job kinds a worker runs: from a stored job's `kind` to the code that
//! reads its payload and runs it, each built from a [`BackgroundJob`] impl.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::{BackgroundJob, Payload};

type Running<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// A stored job read into its type, ready to run with the context `C`.
pub trait Runnable<C>: Send + Sync {
    fn run<'a>(&'a self, ctx: &'a C, attempt: i32) -> Running<'a>;
    /// See [`BackgroundJob::backoff`].
    fn backoff(&self, attempts: i32) -> Duration;
}

struct Typed<J>(J);

impl<C, J> Runnable<C> for Typed<J>
where
    J: BackgroundJob,
    C: Borrow<J::Context> + Send + Sync,
{
    fn run<'a>(&'a self, ctx: &'a C, attempt: i32) -> Running<'a> {
        Box::pin(self.0.run(ctx.borrow(), attempt))
    }

    fn backoff(&self, attempts: i32) -> Duration {
        J::backoff(attempts)
    }
}

type Decode<C> = fn(&Payload) -> anyhow::Result<Box<dyn Runnable<C>>>;

fn decode<C, J>(payload: &Payload) -> anyhow::Result<Box<dyn Runnable<C>>>
where
    J: BackgroundJob,
    C: Borrow<J::Context> + Send + Sync + 'static,
{
    Ok(Box::new(Typed(payload.decode::<J>()?)))
}

/// Every job kind a worker with the context `C` runs.
pub struct Registry<C> {
    kinds: HashMap<&'static str, Decode<C>>,
}

impl<C> Default for Registry<C> {
    fn default() -> Self {
        Registry {
            kinds: HashMap::new(),
        }
    }
}

impl<C: Send + Sync + 'static> Registry<C> {
    /// Adds the job kind `J`, run with the part of `C` it asks for.
    ///
    /// # Panics
    /// When another kind has `J`'s name: a mistake in the list of kinds,
    /// which then fails every start (and the test of the list).
    #[must_use]
    pub fn register<J>(mut self) -> Self
    where
        J: BackgroundJob,
        C: Borrow<J::Context>,
    {
        let earlier = self.kinds.insert(J::KIND, decode::<C, J>);
        assert!(earlier.is_none(), "two job kinds named {}", J::KIND);
        self
    }

    /// The job `payload` holds, typed; an error when its kind is not
    /// registered or its fields do not fit it.
    pub fn decode(&self, payload: &Payload) -> anyhow::Result<Box<dyn Runnable<C>>> {
        let decode = self
            .kinds
            .get(payload.kind.as_str())
            .ok_or_else(|| anyhow::anyhow!("unknown job kind {:?}", payload.kind))?;
        decode(payload)
    }

    /// The registered kinds, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<_> = self.kinds.keys().copied().collect();
        kinds.sort_unstable();
        kinds
    }
}
