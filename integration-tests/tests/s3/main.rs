//! S3 (moto or LocalStack): smoke tests of the server itself, then store-s3 against it: the
//! ObjectStore conformance suite and model check, multipart transfers, presigned URLs,
//! batched deletes, large listings, errors and faults injected through the fault proxy; and
//! on a second server that checks signatures (s3s-fs), the suite again and presigned URLs.

mod conformance;
mod faults;
mod midbatch;
mod options;
mod specific;
mod support;
mod transfers;
mod verifying;

use integration_tests::clients::{s3_client, s3_client_at};
use integration_tests::fault_proxy::{FaultProxy, HttpFault};
use integration_tests::names::unique_name;
use integration_tests::services::{Service, endpoint};
use store_s3::sdk::primitives::ByteStream;

async fn empty_and_delete(client: &store_s3::sdk::Client, bucket: &str) {
    let listed = client
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    for object in listed.contents() {
        client
            .delete_object()
            .bucket(bucket)
            .key(object.key().unwrap())
            .send()
            .await
            .unwrap();
    }
    client.delete_bucket().bucket(bucket).send().await.unwrap();
}

#[tokio::test]
async fn objects_put_get_list_and_delete() {
    let client = s3_client().await;
    let bucket = unique_name("smoke");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    client
        .put_object()
        .bucket(&bucket)
        .key("dir/hello.txt")
        .content_type("text/plain")
        .body(ByteStream::from_static(b"hello moto"))
        .send()
        .await
        .unwrap();
    let got = client
        .get_object()
        .bucket(&bucket)
        .key("dir/hello.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_type(), Some("text/plain"));
    let body = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(&body[..], b"hello moto");
    let listed = client
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("dir/")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.contents().len(), 1);
    empty_and_delete(&client, &bucket).await;
}

#[tokio::test]
async fn sdk_retries_absorb_injected_503s() {
    let proxy = FaultProxy::http(&endpoint(Service::S3).await)
        .await
        .unwrap();
    let client = s3_client_at(&proxy.url());
    let bucket = unique_name("faults");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    proxy.set_http_fault(Some(HttpFault::new(503, 0.5).body(
        "application/xml",
        "<Error><Code>SlowDown</Code><Message>injected</Message></Error>",
    )));
    for i in 0..10 {
        client
            .put_object()
            .bucket(&bucket)
            .key(format!("k{i}"))
            .body(ByteStream::from(vec![b'x'; 100]))
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {i} failed despite retries: {e:?}"));
    }
    assert!(proxy.stats().injected >= 10, "{:?}", proxy.stats());
    proxy.clear();
    empty_and_delete(&client, &bucket).await;
}
