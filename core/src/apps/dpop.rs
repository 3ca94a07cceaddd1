//! The per-application "DPoP required" setting (RFC 9449): when on, the token endpoint issues
//! only DPoP-bound tokens to the application (a request without a proof is refused), and the
//! gateway refuses its unbound tokens issued earlier and demands a server nonce in every proof.

use crate::apps::access;
use crate::apps::manage::{self, AppSummary};
use crate::audit;
use crate::changes::Change;
use crate::clock;
use crate::identity::ActorContext;
use crate::identity::permissions::PortalAction;
use crate::{CoreResult, Database};
use serde_json::json;

/// Turns "DPoP required" on or off (owners and developers of the organisation, or admins),
/// audited as `application.dpop.required` / `application.dpop.optional`. Every replica's
/// client and plan caches are emptied after the commit, so the token endpoint and the gateway
/// apply it at once. Setting it to what it already is changes nothing and records nothing.
pub async fn set_dpop_required(
    db: &Database,
    ctx: &ActorContext,
    app_id: &str,
    required: bool,
) -> CoreResult<AppSummary> {
    let mut tx = audit::Write::begin(db, ctx).await?;
    let (app, _, _) =
        access::authorize_app_in(&mut tx, ctx, app_id, PortalAction::EditApplicationSettings)
            .await?;
    if app.dpop_required != required {
        sqlx::query("UPDATE applications SET dpop_required_at = $1, updated_at = $2 WHERE id = $3")
            .bind(required.then(clock::now))
            .bind(clock::now())
            .bind(app_id)
            .execute(&mut *tx)
            .await?;
        let action = if required {
            "application.dpop.required"
        } else {
            "application.dpop.optional"
        };
        tx.record(
            action,
            Some(app_id),
            Some(&app.partner_id),
            &json!({ "name": app.name }),
        )
        .await?;
        tx.changed(Change::Applications);
    }
    let summary = manage::summary_in(&mut tx, app_id).await?;
    tx.commit().await?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apps::manage::fixtures;
    use crate::testing::TestDatabase;

    #[tokio::test]
    async fn the_setting_is_stored_audited_and_limited_to_members() {
        for test_db in [TestDatabase::sqlite().await, TestDatabase::postgres().await] {
            let db = &test_db.db;
            let (owner, _) = fixtures::owner_with_org(db, "o@acme.test", "Acme").await;
            let (summary, _) = fixtures::app(db, &owner, "Bound").await;
            let id = &summary.app.id;
            assert!(!summary.app.dpop_required);

            let on = set_dpop_required(db, &owner, id, true).await.unwrap();
            assert!(on.app.dpop_required);
            let plan = crate::apps::plans::effective_plan(db, id).await.unwrap();
            assert!(plan.dpop_required, "the gateway's plan sees it");
            let client = crate::apps::applications::load_client(db, &on.app.client_id)
                .await
                .unwrap()
                .unwrap();
            assert!(client.0.dpop_required, "the token endpoint sees it");

            let (stranger, _) = fixtures::owner_with_org(db, "x@other.test", "Other").await;
            assert!(set_dpop_required(db, &stranger, id, false).await.is_err());

            let off = set_dpop_required(db, &owner, id, false).await.unwrap();
            assert!(!off.app.dpop_required);
            let mut conn = db.pool().acquire().await.unwrap();
            let actions: Vec<String> = sqlx::query_scalar(
                "SELECT action FROM audit_events WHERE target = $1 AND action LIKE 'application.dpop.%' ORDER BY occurred_at, id",
            )
            .bind(id)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
            assert_eq!(actions.len(), 2, "{actions:?}");
            assert!(actions.contains(&"application.dpop.required".to_owned()));
        }
    }
}
