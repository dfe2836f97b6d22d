//! The hostile-input corpus (`integration-tests/data/hostile.json`, run by
//! `integration_tests::hostile`) against every backend of each kind: in-memory, embedded and
//! the harness's real servers. Each test prints what its backend stored and refused.

mod documents;
mod objects;
mod search;
mod sql;
