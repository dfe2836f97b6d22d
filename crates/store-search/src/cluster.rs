//! Which server a handle talks to — OpenSearch or Elasticsearch, and which version — read once
//! from `GET /`, and the APIs that follow from it where the two differ.

use std::fmt;

use opensearch::http::Method;
use store_core::{Result, StoreError, Value};

use crate::error::{BACKEND, ConflictMeaning};
use crate::http::send;
use crate::index::OpenSearchIndex;
use crate::json::lookup;

/// The search engine behind the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Distribution {
    /// OpenSearch (any version; `version.distribution` is `opensearch`).
    OpenSearch,
    /// Elasticsearch (no `version.distribution`, or anything but `opensearch`).
    Elasticsearch,
}

impl fmt::Display for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Distribution::OpenSearch => "OpenSearch",
            Distribution::Elasticsearch => "Elasticsearch",
        })
    }
}

/// A server version, `major.minor.patch` (pre-release suffixes are ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerVersion {
    /// The major version.
    pub major: u32,
    /// The minor version.
    pub minor: u32,
    /// The patch version.
    pub patch: u32,
}

impl ServerVersion {
    /// A version from its three parts.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// Parses `7.10.2`, `2.19.0`, `8.15.0-SNAPSHOT` (missing parts are 0).
    pub fn parse(text: &str) -> Option<Self> {
        let core = text.split(['-', '+']).next()?;
        let mut parts = core.split('.').map(str::parse::<u32>);
        let major = parts.next()?.ok()?;
        let minor = parts.next().unwrap_or(Ok(0)).ok()?;
        let patch = parts.next().unwrap_or(Ok(0)).ok()?;
        Some(Self::new(major, minor, patch))
    }
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// How every match of a search is read from one consistent view (see
/// [`OpenSearchIndex::search_pit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PointInTimeApi {
    /// OpenSearch ≥ 2.4: `POST /<index>/_search/point_in_time`, closed with
    /// `DELETE /_search/point_in_time`.
    OpenSearch,
    /// Elasticsearch ≥ 7.10 with x-pack (the default distribution; every 8.x):
    /// `POST /<index>/_pit`, closed with `DELETE /_pit`.
    Elasticsearch,
    /// No point in time (OpenSearch 1.x, Elasticsearch before 7.10 or its OSS build): a scroll,
    /// which also reads one consistent view, cleared with `DELETE /_search/scroll`.
    Scroll,
}

/// What [`OpenSearchIndex::cluster`] found at `GET /`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    /// OpenSearch or Elasticsearch.
    pub distribution: Distribution,
    /// The server version.
    pub version: ServerVersion,
    /// Elasticsearch's `version.build_flavor` (`default`, `oss`, or `unknown` for a node built
    /// from the published jars), when the server reports one.
    pub build_flavor: Option<String>,
    /// Whether an Elasticsearch 7.x server answered `GET /_xpack` (x-pack holds 7.x's point
    /// in time). `None` where it was not asked: OpenSearch, Elasticsearch 8 and later (always
    /// x-pack), the `default` (always) and `oss` (never) flavors, and before 7.10.
    pub xpack: Option<bool>,
}

impl ClusterInfo {
    /// The server described by the body of `GET /`.
    ///
    /// `Internal` when it has no parsable `version.number`.
    pub fn from_root(body: &Value) -> Result<Self> {
        let number = lookup(body, &["version", "number"])
            .and_then(Value::as_str)
            .ok_or_else(|| StoreError::internal("`GET /` reported no version.number"))?;
        let version = ServerVersion::parse(number).ok_or_else(|| {
            StoreError::internal(format!("`GET /` reported an unreadable version `{number}`"))
        })?;
        let distribution = match lookup(body, &["version", "distribution"]).and_then(Value::as_str)
        {
            Some("opensearch") => Distribution::OpenSearch,
            _ => Distribution::Elasticsearch,
        };
        let build_flavor = lookup(body, &["version", "build_flavor"])
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(Self {
            distribution,
            version,
            build_flavor,
            xpack: None,
        })
    }

    /// Whether only `GET /_xpack` can tell if this server has a point in time: an
    /// Elasticsearch 7.10 to 7.x whose flavor says neither `default` nor `oss` (a node made
    /// from the published jars reports `unknown`, with or without x-pack loaded).
    pub fn needs_xpack_probe(&self) -> bool {
        self.distribution == Distribution::Elasticsearch
            && self.version >= ServerVersion::new(7, 10, 0)
            && self.version.major < 8
            && !matches!(self.build_flavor.as_deref(), Some("default" | "oss"))
    }

    /// The point-in-time API this server has, or [`PointInTimeApi::Scroll`] when it has none.
    ///
    /// Elasticsearch 7.10 to 7.x keeps point in time in x-pack: the `default` flavor has it,
    /// the `oss` flavor does not, and any other flavor has it when `GET /_xpack` answered
    /// ([`xpack`](Self::xpack)).
    pub fn point_in_time_api(&self) -> PointInTimeApi {
        let v = self.version;
        match self.distribution {
            Distribution::OpenSearch if v >= ServerVersion::new(2, 4, 0) => {
                PointInTimeApi::OpenSearch
            }
            Distribution::OpenSearch => PointInTimeApi::Scroll,
            Distribution::Elasticsearch if v.major >= 8 => PointInTimeApi::Elasticsearch,
            Distribution::Elasticsearch if v < ServerVersion::new(7, 10, 0) => {
                PointInTimeApi::Scroll
            }
            Distribution::Elasticsearch => match (self.build_flavor.as_deref(), self.xpack) {
                (Some("default"), _) | (_, Some(true)) => PointInTimeApi::Elasticsearch,
                _ => PointInTimeApi::Scroll,
            },
        }
    }

    /// Whether searches under this server's point in time accept `slice`: Elasticsearch from
    /// 7.15 (7.10–7.14 answer "`slice` cannot be used outside of a scroll context"), OpenSearch
    /// wherever it has a point in time (tested on 2.19).
    pub fn slices_point_in_time(&self) -> bool {
        match self.point_in_time_api() {
            PointInTimeApi::OpenSearch => true,
            PointInTimeApi::Elasticsearch => self.version >= ServerVersion::new(7, 15, 0),
            PointInTimeApi::Scroll => false,
        }
    }

    /// The sort field that breaks ties under a point in time: `_shard_doc` where the server
    /// has it (Elasticsearch ≥ 7.12, OpenSearch ≥ 3.3), else the unique `_id`.
    pub fn tiebreak_field(&self) -> &'static str {
        let has_shard_doc = match self.distribution {
            Distribution::Elasticsearch => self.version >= ServerVersion::new(7, 12, 0),
            Distribution::OpenSearch => self.version >= ServerVersion::new(3, 3, 0),
        };
        if has_shard_doc { "_shard_doc" } else { "_id" }
    }
}

impl fmt::Display for ClusterInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.distribution, self.version)?;
        match &self.build_flavor {
            Some(flavor) if self.distribution == Distribution::Elasticsearch => {
                write!(f, " ({flavor})")
            }
            _ => Ok(()),
        }
    }
}

impl OpenSearchIndex {
    /// The server this handle talks to, read from `GET /` on the first call and shared by
    /// every clone and [`sibling`](Self::sibling) of the handle afterwards. The operations
    /// that differ between OpenSearch and Elasticsearch (today only
    /// [`search_pit`](Self::search_pit)) call it themselves.
    ///
    /// ```no_run
    /// # async fn demo(index: store_search::OpenSearchIndex) -> store_core::Result<()> {
    /// let cluster = index.cluster().await?;
    /// println!("{cluster}: point in time through {:?}", cluster.point_in_time_api());
    /// # Ok(()) }
    /// ```
    pub async fn cluster(&self) -> Result<&ClusterInfo> {
        self.cluster_cell()
            .get_or_try_init(|| async {
                let target = self.target("");
                let root = send(self.client(), Method::Get, "/", &[], None, "info", &target)
                    .await?
                    .check(ConflictMeaning::Auto, "info", &target)?;
                let mut info =
                    ClusterInfo::from_root(&root).map_err(|e| e.with_backend(BACKEND))?;
                if info.needs_xpack_probe() {
                    // Without x-pack the path reads as an (invalid) index name: a 400, no effect.
                    let reply = send(
                        self.client(),
                        Method::Get,
                        "/_xpack",
                        &[],
                        None,
                        "info",
                        &target,
                    )
                    .await?;
                    info.xpack = Some(reply.is_success() && reply.get(&["features"]).is_some());
                }
                Ok(info)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store_core::Document;

    fn root(number: &str, distribution: Option<&str>, flavor: Option<&str>) -> Value {
        let mut version = Document::new().with("number", number);
        if let Some(d) = distribution {
            version.insert("distribution", d);
        }
        if let Some(f) = flavor {
            version.insert("build_flavor", f);
        }
        Value::Map(Document::new().with("version", Value::Map(version)))
    }

    #[test]
    fn the_point_in_time_api_follows_distribution_version_and_flavor() {
        let cases = [
            (
                root("2.19.6", Some("opensearch"), None),
                PointInTimeApi::OpenSearch,
                "_id",
            ),
            (
                root("2.3.0", Some("opensearch"), None),
                PointInTimeApi::Scroll,
                "_id",
            ),
            (
                root("1.3.20", Some("opensearch"), None),
                PointInTimeApi::Scroll,
                "_id",
            ),
            (
                root("3.3.0", Some("opensearch"), None),
                PointInTimeApi::OpenSearch,
                "_shard_doc",
            ),
            (
                root("7.10.2", None, Some("oss")),
                PointInTimeApi::Scroll,
                "_id",
            ),
            (
                root("7.10.2", None, Some("default")),
                PointInTimeApi::Elasticsearch,
                "_id",
            ),
            (
                root("7.17.0", None, Some("default")),
                PointInTimeApi::Elasticsearch,
                "_shard_doc",
            ),
            (
                root("7.9.3", None, Some("default")),
                PointInTimeApi::Scroll,
                "_id",
            ),
            (
                root("8.15.0", None, Some("default")),
                PointInTimeApi::Elasticsearch,
                "_shard_doc",
            ),
            (
                root("9.0.0-SNAPSHOT", None, None),
                PointInTimeApi::Elasticsearch,
                "_shard_doc",
            ),
        ];
        for (body, api, tiebreak) in cases {
            let info = ClusterInfo::from_root(&body).unwrap();
            assert!(!info.needs_xpack_probe(), "{info}");
            let sliced = api == PointInTimeApi::OpenSearch
                || (api == PointInTimeApi::Elasticsearch
                    && info.version >= ServerVersion::new(7, 15, 0));
            assert_eq!(info.slices_point_in_time(), sliced, "{info}");
            assert_eq!(info.point_in_time_api(), api, "{info}");
            assert_eq!(info.tiebreak_field(), tiebreak, "{info}");
        }
    }

    /// `GET /` of the harness's node (made from the published jars) as recorded, and the two
    /// answers `GET /_xpack` gives with and without x-pack-core loaded.
    #[test]
    fn a_7_10_node_of_unknown_flavor_is_asked_about_x_pack() {
        let recorded = r#"{"name":"stores-test-node","cluster_name":"stores-test",
            "version":{"number":"7.10.2","build_flavor":"unknown","build_type":"unknown",
            "build_hash":"747e1cc71def077253878a59143c1f785afa92b9","build_snapshot":false,
            "lucene_version":"8.7.0"},"tagline":"You Know, for Search"}"#;
        let mut info =
            ClusterInfo::from_root(&crate::json::parse(recorded.as_bytes()).unwrap()).unwrap();
        assert!(info.needs_xpack_probe());
        assert_eq!(
            info.point_in_time_api(),
            PointInTimeApi::Scroll,
            "unknown until asked"
        );
        info.xpack = Some(true);
        assert_eq!(info.point_in_time_api(), PointInTimeApi::Elasticsearch);
        assert!(
            !info.slices_point_in_time(),
            "slices need a scroll before 7.15"
        );
        assert_eq!(info.tiebreak_field(), "_id", "no _shard_doc before 7.12");
        info.xpack = Some(false);
        assert_eq!(info.point_in_time_api(), PointInTimeApi::Scroll);
    }

    #[test]
    fn versions_parse_and_order() {
        assert_eq!(
            ServerVersion::parse("7.10.2"),
            Some(ServerVersion::new(7, 10, 2))
        );
        assert_eq!(ServerVersion::parse("8"), Some(ServerVersion::new(8, 0, 0)));
        assert_eq!(
            ServerVersion::parse("8.15.0-SNAPSHOT"),
            Some(ServerVersion::new(8, 15, 0))
        );
        assert_eq!(ServerVersion::parse("x.1"), None);
        assert!(ServerVersion::new(7, 9, 9) < ServerVersion::new(7, 10, 0));
        let os = ClusterInfo::from_root(&root("2.19.6", Some("opensearch"), None)).unwrap();
        assert_eq!(os.to_string(), "OpenSearch 2.19.6");
        let es = ClusterInfo::from_root(&root("7.10.2", None, Some("oss"))).unwrap();
        assert_eq!(es.to_string(), "Elasticsearch 7.10.2 (oss)");
        assert!(ClusterInfo::from_root(&Value::Map(Document::new())).is_err());
    }
}
