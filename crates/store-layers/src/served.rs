//! [`Served`]: which store answered the reads of a piece of work, seen through
//! [`observe_served`] whatever handle (`Arc<dyn DocumentStore>`…) the work used.

use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The store that answered a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The primary store.
    Primary,
    /// The secondary store of a [`FallbackLayer`](crate::FallbackLayer).
    Secondary,
}

/// Who answered the reads made inside [`observe_served`]: the secondary if any read was
/// answered by a fallback, and whether that answer may be behind the primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Served {
    /// The store that answered (the secondary as soon as one read fell back).
    pub from: Source,
    /// Whether some answer may be behind the primary (a fallback not marked
    /// [`fresh`](crate::FallbackLayer::fresh)).
    pub stale: bool,
}

impl Served {
    /// The two records of one piece of work as one: a fallback anywhere wins.
    fn merge(self, other: Served) -> Served {
        Served {
            from: if self.from == Source::Secondary || other.from == Source::Secondary {
                Source::Secondary
            } else {
                Source::Primary
            },
            stale: self.stale || other.stale,
        }
    }
}

tokio::task_local! {
    static SERVED: Cell<Option<Served>>;
}

/// [`observe_served`] scopes open now, in any task: while there is none, a read has nobody
/// to tell and [`note`] skips the task-local lookup.
static OBSERVERS: AtomicUsize = AtomicUsize::new(0);

/// One open [`observe_served`] scope, counted in [`OBSERVERS`] until dropped (also when the
/// work is cancelled).
struct Observing;

impl Observing {
    fn open() -> Self {
        OBSERVERS.fetch_add(1, Ordering::Relaxed);
        Observing
    }
}

impl Drop for Observing {
    fn drop(&mut self) {
        OBSERVERS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Runs `work` and tells who answered its reads through a [`FallbackLayer`](crate::FallbackLayer):
/// `None` when no read went through one, else [`Served`] (from the secondary if any read fell
/// back). It follows the work in its own task (not into tasks it spawns), through any store
/// handle, and scopes nest: an outer scope also sees what an inner one saw.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use store_layers::observe_served;
/// let (n, served) = observe_served(async { 1 + 1 }).await;
/// assert_eq!((n, served), (2, None));
/// # });
/// ```
pub async fn observe_served<F: Future>(work: F) -> (F::Output, Option<Served>) {
    let _observing = Observing::open();
    let (output, served) = SERVED
        .scope(Cell::new(None), async move {
            let output = work.await;
            (output, SERVED.with(Cell::get))
        })
        .await;
    if let Some(served) = served {
        note(served);
    }
    (output, served)
}

/// Records who answered a read, in the enclosing [`observe_served`] scope if there is one.
#[inline]
pub(crate) fn note(served: Served) {
    // A scope of this task was opened (and counted) before the read began, so a count of
    // none means no scope of this task is open.
    if OBSERVERS.load(Ordering::Relaxed) == 0 {
        return;
    }
    let _ = SERVED.try_with(|cell| {
        let merged = match cell.get() {
            Some(before) => before.merge(served),
            None => served,
        };
        cell.set(Some(merged));
    });
}
