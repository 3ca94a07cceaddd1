//! The audit writer: request records go into a bounded queue and a background task writes them
//! in batches. A full queue never blocks a request: the record is dropped, counted (exported on
//! `/metrics`) and logged. Shutdown drains the queue.

use portico_core::Database;
use portico_core::request_log::{self, RequestRecord};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Records held in memory at most; beyond this, records are dropped and counted.
pub const QUEUE_CAPACITY: usize = 50_000;
/// Largest batch written in one transaction.
const BATCH_SIZE: usize = 1000;
/// How often queued records are written (and so how stale the request log may be).
const FLUSH_INTERVAL: Duration = Duration::from_millis(200);

#[derive(Debug, Default)]
pub struct AuditCounters {
    pub written: AtomicU64,
    pub dropped: AtomicU64,
    pub failed: AtomicU64,
}

/// The sending side, cloned into every request handler.
#[derive(Clone, Debug)]
pub struct AuditSink {
    sender: mpsc::Sender<RequestRecord>,
    counters: Arc<AuditCounters>,
}

impl AuditSink {
    /// Queues a record without waiting.
    pub fn record(&self, record: RequestRecord) {
        if self.sender.try_send(record).is_err() {
            let dropped = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // Log the first drop and then every thousandth, not every one.
            if dropped == 1 || dropped.is_multiple_of(1000) {
                tracing::warn!(dropped, "audit queue full; request records dropped");
            }
        }
    }

    pub fn counters(&self) -> &Arc<AuditCounters> {
        &self.counters
    }
}

/// The writer task; [`AuditWriter::shutdown`] waits until everything queued is written.
pub struct AuditWriter {
    task: JoinHandle<()>,
}

impl AuditWriter {
    pub fn start(db: Database, capacity: usize) -> (AuditSink, AuditWriter) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let counters = Arc::new(AuditCounters::default());
        let task = tokio::spawn(write_batches(db, receiver, counters.clone()));
        (AuditSink { sender, counters }, AuditWriter { task })
    }

    /// Waits for the queue to drain. Every `AuditSink` clone must be dropped first (the
    /// servers are stopped), which closes the channel.
    pub async fn shutdown(self) {
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "audit writer stopped abnormally");
        }
    }
}

/// Wakes every [`FLUSH_INTERVAL`] and drains what is queued, in batches. Polling instead of
/// waiting on the channel means a busy gateway does not wake this task once per request.
async fn write_batches(
    db: Database,
    mut receiver: mpsc::Receiver<RequestRecord>,
    counters: Arc<AuditCounters>,
) {
    let mut batch = Vec::with_capacity(BATCH_SIZE);
    let mut target = Target::for_database(db);
    loop {
        tokio::time::sleep(FLUSH_INTERVAL).await;
        let mut open = true;
        loop {
            match receiver.try_recv() {
                Ok(record) => batch.push(record),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
            if batch.len() == BATCH_SIZE {
                write(&mut target, &mut batch, &counters).await;
            }
        }
        write(&mut target, &mut batch, &counters).await;
        if !open {
            return;
        }
    }
}

/// Where batches go: SQLite through the writer's own connection on a blocking thread,
/// PostgreSQL through the pool.
enum Target {
    Pool(Database),
    Sqlite(Option<request_log::SqliteLogWriter>, Database),
}

impl Target {
    fn for_database(db: Database) -> Self {
        match db.sqlite_path().map(request_log::SqliteLogWriter::open) {
            Some(Ok(writer)) => Target::Sqlite(Some(writer), db),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "request log: own SQLite connection unavailable; using the pool");
                Target::Pool(db)
            }
            None => Target::Pool(db),
        }
    }

    async fn insert(&mut self, batch: &mut Vec<RequestRecord>) -> portico_core::CoreResult<()> {
        match self {
            Target::Pool(db) => request_log::insert_batch(db, batch).await,
            Target::Sqlite(slot, db) => {
                let Some(mut writer) = slot.take() else {
                    return request_log::insert_batch(db, batch).await;
                };
                let records = std::mem::take(batch);
                let joined = tokio::task::spawn_blocking(move || {
                    let result = writer.insert_batch(&records);
                    (writer, records, result)
                })
                .await;
                match joined {
                    Ok((writer, records, result)) => {
                        *slot = Some(writer);
                        *batch = records;
                        result
                    }
                    // The blocking task panicked: the connection is gone; the pool takes over.
                    Err(e) => {
                        tracing::error!(error = %e, "request-log writer thread failed");
                        Err(portico_core::CoreError::Invalid(
                            "request-log writer failed".into(),
                        ))
                    }
                }
            }
        }
    }
}

async fn write(target: &mut Target, batch: &mut Vec<RequestRecord>, counters: &AuditCounters) {
    if batch.is_empty() {
        return;
    }
    let n = batch.len() as u64;
    match target.insert(batch).await {
        Ok(()) => {
            counters.written.fetch_add(n, Ordering::Relaxed);
        }
        Err(e) => {
            counters.failed.fetch_add(n, Ordering::Relaxed);
            tracing::error!(error = %e, records = n, "could not write request records");
        }
    }
    batch.clear();
}
