//! [`Consumed`]: what a call gives away (a document, a batch), handed to each run of it.

use std::sync::{Mutex, PoisonError};

/// A value a store call takes by value, given to the runs of that call: moved into the one
/// run when the layer runs the call at most once ([`Layer::may_repeat`](crate::Layer::may_repeat)
/// says so), else copied for each run, so a retry sends the same value again.
pub(crate) struct Consumed<T> {
    value: Mutex<Option<T>>,
    repeat: bool,
}

impl<T: Clone> Consumed<T> {
    /// Holds `value` for the runs of a call that may run again (`repeat`) or not.
    pub(crate) fn new(value: T, repeat: bool) -> Self {
        Self {
            value: Mutex::new(Some(value)),
            repeat,
        }
    }

    /// The value for one run: a copy when the call may run again, else the value itself.
    ///
    /// # Panics
    ///
    /// When a call its layer said runs once is run a second time: a bug in that layer's
    /// [`may_repeat`](crate::Layer::may_repeat).
    pub(crate) fn take(&self) -> T {
        let mut slot = self.value.lock().unwrap_or_else(PoisonError::into_inner);
        let taken = if self.repeat {
            slot.clone()
        } else {
            slot.take()
        };
        taken.expect("a layer ran a call again after saying it runs it at most once")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_that_may_repeat_gets_a_copy_each_run() {
        let consumed = Consumed::new(vec![1, 2, 3], true);
        assert_eq!(consumed.take(), vec![1, 2, 3]);
        assert_eq!(consumed.take(), vec![1, 2, 3]);
    }

    #[test]
    #[should_panic(expected = "at most once")]
    fn a_call_that_runs_once_gets_the_value_itself_and_only_once() {
        let consumed = Consumed::new(String::from("item"), false);
        assert_eq!(consumed.take(), "item");
        consumed.take();
    }
}
