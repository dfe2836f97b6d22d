//! [`Served`]: which store answered the reads of a piece of work, seen through
//! [`observe_served`] whatever handle (`Arc<dyn DocumentStore>`…) the work used.

use std::cell::Cell;
use std::future::Future;

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
pub(crate) fn note(served: Served) {
    let _ = SERVED.try_with(|cell| {
        let merged = match cell.get() {
            Some(before) => before.merge(served),
            None => served,
        };
        cell.set(Some(merged));
    });
}
