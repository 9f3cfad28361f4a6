//! What every request of the console shares: the node (one store
//! connection behind a lock: an office has a handful of officers, and a
//! command holds it for milliseconds) and the clock.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::ConsoleError;
use crate::node::Node;
use crate::replication::Clock;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    node: Mutex<Node>,
    clock: Clock,
}

impl AppState {
    pub fn new(node: Node, clock: Clock) -> Self {
        AppState {
            inner: Arc::new(Inner {
                node: Mutex::new(node),
                clock,
            }),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Run `f` with the node on a blocking thread (store calls block). A
    /// panic in `f` becomes an internal error page; the lock is not left
    /// poisoned for the next request.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ConsoleError>
    where
        F: FnOnce(&mut Node) -> Result<T, ConsoleError> + Send + 'static,
        T: Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut node = inner
                .node
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            node.face = crate::node::Face::Console;
            f(&mut node)
        })
        .await
        .map_err(|e| ConsoleError::Internal(format!("the request's task failed: {e}")))?
    }
}
