//! Helpers shared by the core's integration tests.

/// Runs the body once per engine on a fresh database, naming the engine on failure.
#[macro_export]
macro_rules! on_both_engines {
    (|$db:ident| $body:block) => {
        for test_db in portico_core::testing::TestDatabase::both().await {
            let db = test_db.db.clone();
            let engine = db.backend().name();
            // Spawned so a failing assertion still lets the database be dropped.
            let outcome = tokio::spawn(async move {
                let $db: &portico_core::Database = &db;
                $body
            })
            .await;
            if let Err(failure) = outcome {
                eprintln!("the failure above happened on {engine}");
                std::panic::resume_unwind(failure.into_panic());
            }
        }
    };
}
