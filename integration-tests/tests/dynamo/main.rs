//! DynamoDB (moto or LocalStack): the smoke test of the harness's server, the whole
//! `DocumentStore` conformance suite and model check against `store-dynamo`, and the
//! DynamoDB-specific tests of the adapter (indexes, parallel scans, big batches, transaction
//! cancellation reasons, exact numbers, reserved words, throttling retries through the fault
//! proxy, table administration and error mapping).

mod admin;
mod conformance;
mod midbatch;
mod partiql;
mod smoke;
mod specific;
mod support;
mod throttling;
mod unprocessed;
