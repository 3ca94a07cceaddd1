//! Demo data: a partner and an application with every Commercial API scope, so a new
//! installation can be tried at once. Idempotent.

use crate::apps::applications::{self, Application, IssuedCredentials};
use crate::authz::scopes::Scopes;
use crate::orgs::partners::{self, PartnerStatus};
use crate::{CoreError, CoreResult, Database};

pub const DEMO_PARTNER: &str = "demo";
pub const DEMO_APPLICATION: &str = "Demo application";

/// What `ensure_demo` found or made.
#[derive(Debug)]
pub enum DemoOutcome {
    Created(Application, IssuedCredentials),
    /// Already there; its secret was shown once when it was created.
    Exists(Application),
}

/// On the first start of a database: the demo application, to print its credentials once.
pub async fn first_start(db: &Database) -> CoreResult<Option<(Application, IssuedCredentials)>> {
    let mut conn = db.pool().acquire().await?;
    if !crate::settings::insert_if_absent(
        &mut conn,
        "demo.created_at",
        &crate::clock::now().to_string(),
    )
    .await?
    {
        return Ok(None);
    }
    drop(conn);
    match ensure_demo(db).await? {
        DemoOutcome::Created(app, credentials) => Ok(Some((app, credentials))),
        DemoOutcome::Exists(_) => Ok(None),
    }
}

pub async fn ensure_demo(db: &Database) -> CoreResult<DemoOutcome> {
    if let Some(app) =
        applications::find_by_partner_and_name(db, DEMO_PARTNER, DEMO_APPLICATION).await?
    {
        return Ok(DemoOutcome::Exists(app));
    }
    let scopes = Scopes::parse("commercial:read commercial:write")?;
    let created = create_app(
        db,
        DEMO_PARTNER,
        "Demo Partner",
        DEMO_APPLICATION,
        &scopes,
        "sandbox",
    )
    .await;
    match created {
        Ok((app, credentials)) => Ok(DemoOutcome::Created(app, credentials)),
        // Another process made it in the meantime.
        Err(CoreError::Conflict(_)) => {
            applications::find_by_partner_and_name(db, DEMO_PARTNER, DEMO_APPLICATION)
                .await?
                .map(DemoOutcome::Exists)
                .ok_or(CoreError::NotFound {
                    what: "demo application",
                })
        }
        Err(e) => Err(e),
    }
}

/// `portico app create`: the partner is created (approved) when it does not exist yet.
pub async fn create_app(
    db: &Database,
    partner_slug: &str,
    partner_name: &str,
    app_name: &str,
    scopes: &Scopes,
    usage_plan: &str,
) -> CoreResult<(Application, IssuedCredentials)> {
    let mut tx = db.begin_write().await?;
    let partner = match partners::find_by_slug(&mut tx, partner_slug).await? {
        Some(partner) => partner,
        None => {
            partners::create(&mut tx, partner_slug, partner_name, PartnerStatus::Approved).await?
        }
    };
    let created = applications::create(&mut tx, &partner, app_name, scopes, usage_plan).await?;
    tx.commit().await?;
    Ok(created)
}
