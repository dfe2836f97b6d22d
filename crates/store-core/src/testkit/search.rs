//! The [`SearchIndex`] conformance suite.
//!
//! Each behaviour is a public async function taking a [`SearchFactory`], which opens a handle on
//! an index by name; the behaviour creates the index itself (one shard, no replicas), under a
//! unique lowercase name, and drops it at the end, so suites can run in parallel on one real
//! cluster. Behaviours call `refresh` before searching and never assume a write is invisible
//! before it. [`search_conformance_tests!`](crate::search_conformance_tests) expands to one
//! `#[tokio::test]` per behaviour:
//!
//! ```no_run
//! use std::sync::Arc;
//! use store_core::{IndexName, SearchIndex, memory::MemorySearchIndex};
//!
//! store_core::search_conformance_tests!(|name: IndexName| async move {
//!     Arc::new(MemorySearchIndex::new(name.as_str()).unwrap()) as Arc<dyn SearchIndex>
//! });
//! ```

mod documents;
mod missing;
mod paging;
mod queries;
mod support;

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use crate::keys::IndexName;
use crate::search::SearchIndex;

pub use documents::*;
pub use missing::*;
pub use paging::*;
pub use queries::*;

/// Opens a handle on the search index `name` for a behaviour; the index need not exist (the
/// behaviour creates it).
///
/// Implemented for every `Fn(IndexName) -> impl Future<Output = Arc<dyn SearchIndex>>`, so a
/// closure is a factory.
#[async_trait]
pub trait SearchFactory: Send + Sync {
    /// A handle on the index `name`.
    async fn open(&self, name: IndexName) -> Arc<dyn SearchIndex>;
}

#[async_trait]
impl<F, Fut> SearchFactory for F
where
    F: Fn(IndexName) -> Fut + Send + Sync,
    Fut: Future<Output = Arc<dyn SearchIndex>> + Send,
{
    async fn open(&self, name: IndexName) -> Arc<dyn SearchIndex> {
        self(name).await
    }
}

/// Expands to one `#[tokio::test]` per search behaviour, each running it with the factory
/// expression (anything implementing
/// [`SearchFactory`](crate::testkit::search::SearchFactory), such as a closure
/// `|name: IndexName| async move { ... as Arc<dyn SearchIndex> }`).
#[macro_export]
macro_rules! search_conformance_tests {
    ($factory:expr) => {
        $crate::search_conformance_tests!(@each $factory;
            create_exists_drop_lifecycle,
            create_twice_is_already_exists,
            missing_index_is_not_found,
            invalid_input_on_missing_index_is_invalid_input,
            write_to_missing_index_creates_it,
            index_then_get_round_trips,
            get_missing_is_none,
            create_only_twice_is_already_exists,
            stale_version_is_precondition_failed,
            update_merges_fields,
            update_missing_is_not_found,
            delete_reports_whether_it_existed,
            refresh_makes_writes_searchable,
            health_answers,
            invalid_input_is_rejected,
            mapping_conflict_is_invalid_input,
            match_is_analyzed_and_case_insensitive,
            match_operator_and_requires_every_term,
            match_phrase_needs_terms_in_order,
            term_on_keyword_is_exact,
            term_on_text_matches_one_token,
            dynamic_strings_have_a_keyword_subfield,
            terms_matches_any_value,
            range_on_numbers_respects_bounds,
            range_on_dates,
            prefix_matches_keyword_starts,
            exists_matches_fields_with_values,
            bool_combines_clauses,
            nested_fields_by_dotted_path,
            lists_match_any_element,
            more_occurrences_rank_first,
            sort_by_number_asc_and_desc,
            sort_on_text_is_invalid_input,
            from_and_size_page_through_hits,
            search_after_continues_without_repeats,
            search_all_yields_every_document_once,
            count_with_query,
            bulk_reports_each_failure,
            score_only_when_sorting_by_score,
        );
    };
    (@each $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[$crate::testkit::tokio::test(crate = "store_core::testkit::tokio")]
            async fn $name() {
                let factory = $factory;
                $crate::testkit::search::$name(&factory).await;
            }
        )*
    };
}
