//! The per-run describe cache: a resource read by several checks is fetched
//! once. N checks on one RDS instance cost one `DescribeDBInstances`, even
//! when they run at the same moment (later callers wait for the first).
//!
//! Entries are keyed by the value's type as well as the key text, so a key
//! reused for another type is another entry, never a failed downcast. Each
//! entry remembers the AWS operations its fetch made, and every caller it
//! serves is credited with them ([`crate::aws::calls::OperationLog`]).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::OperationLog;
use crate::CheckError;

struct Entry {
    value: Result<Arc<dyn Any + Send + Sync>, CheckError>,
    operations: Vec<String>,
}

/// One entry per (value type, key text).
type Cells = HashMap<(TypeId, String), Arc<OnceCell<Entry>>>;

/// Memoises fetches by key for the life of one run. Errors are cached too, so
/// a failing describe is not retried by every check that needs it.
#[derive(Default)]
pub(crate) struct DescribeCache {
    cells: Mutex<Cells>,
}

impl DescribeCache {
    /// Returns the value cached under `key`, fetching it first if needed.
    ///
    /// ```ignore
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let cache = DescribeCache::default();
    /// let a = cache.get("k", || async { Ok::<_, crate::CheckError>(41 + 1) }).await.unwrap();
    /// let b = cache.get("k", || async { unreachable!("served from the cache") }).await;
    /// assert_eq!((*a, *b.unwrap()), (42, 42));
    /// // The same key for another type is another entry.
    /// let c = cache.get("k", || async { Ok::<_, crate::CheckError>("text") }).await.unwrap();
    /// assert_eq!(*c, "text");
    /// # });
    /// ```
    pub async fn get<T, F, Fut>(&self, key: &str, fetch: F) -> Result<Arc<T>, CheckError>
    where
        T: Any + Send + Sync,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, CheckError>>,
    {
        let cell = {
            let mut cells = self.cells.lock().expect("describe cache poisoned");
            cells
                .entry((TypeId::of::<T>(), key.to_string()))
                .or_default()
                .clone()
        };
        let entry = cell
            .get_or_init(|| async {
                let log = OperationLog::default();
                let value = log
                    .record(fetch())
                    .await
                    .map(|v| Arc::new(v) as Arc<dyn Any + Send + Sync>);
                Entry {
                    value,
                    operations: log.operations(),
                }
            })
            .await;
        for operation in &entry.operations {
            OperationLog::note(operation);
        }
        match &entry.value {
            Ok(value) => value.clone().downcast::<T>().map_err(|_| CheckError::Aws {
                // Unreachable: the key holds the type. Kept an error, never a panic.
                operation: "describe cache".into(),
                resource: key.into(),
                code: None,
                message: "cached value of another type".into(),
            }),
            Err(e) => Err(e.clone()),
        }
    }
}

impl std::fmt::Debug for DescribeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries = self.cells.lock().map(|c| c.len()).unwrap_or(0);
        f.debug_struct("DescribeCache")
            .field("entries", &entries)
            .finish()
    }
}
