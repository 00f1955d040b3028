//! The per-run describe cache: a resource read by several checks is fetched
//! once. N checks on one RDS instance cost one `DescribeDBInstances`, even
//! when they run at the same moment (later callers wait for the first).

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::check::CheckError;

type Entry = Result<Arc<dyn Any + Send + Sync>, CheckError>;

/// Memoises fetches by key for the life of one run. Errors are cached too, so
/// a failing describe is not retried by every check that needs it.
#[derive(Default)]
pub struct DescribeCache {
    cells: Mutex<HashMap<String, Arc<OnceCell<Entry>>>>,
}

impl DescribeCache {
    /// Returns the value cached under `key`, fetching it first if needed.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let cache = verify::cache::DescribeCache::default();
    /// let a = cache.get("k", || async { Ok::<_, verify::check::CheckError>(41 + 1) }).await.unwrap();
    /// let b = cache.get("k", || async { unreachable!("served from the cache") }).await;
    /// assert_eq!((*a, *b.unwrap()), (42, 42));
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
            cells.entry(key.to_string()).or_default().clone()
        };
        let entry = cell
            .get_or_init(|| async {
                fetch()
                    .await
                    .map(|v| Arc::new(v) as Arc<dyn Any + Send + Sync>)
            })
            .await;
        match entry {
            Ok(value) => Ok(value
                .clone()
                .downcast::<T>()
                .unwrap_or_else(|_| panic!("describe cache key {key:?} reused for another type"))),
            Err(e) => Err(e.clone()),
        }
    }

    /// Forgets everything (the next run reads afresh).
    pub fn clear(&self) {
        self.cells.lock().expect("describe cache poisoned").clear();
    }
}
