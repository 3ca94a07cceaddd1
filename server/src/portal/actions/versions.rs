//! The admin's form for an API version's lifecycle dates (`/admin/versions`). Saving puts the
//! dates in force in this process at once (gateway, docs, deprecation pages) and in every other
//! process within one upkeep tick.

use crate::portal::PortalState;
use crate::portal::extract::{Admin, CsrfForm};
use crate::portal::session::{done, refused};
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use portico_app::pages::admin::routes;
use portico_core::CoreError;
use portico_sandbox::model::VersionDates;
use serde::Deserialize;
use tower_sessions::Session;

const VERSIONS: &str = "/admin/versions";

pub fn routes() -> Router<PortalState> {
    Router::new().route(routes::VERSION_DATES, post(set_dates))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DatesForm {
    ga: String,
    deprecated_since: String,
    sunset: String,
    /// Any value: back to the model's dates.
    reset: String,
}

async fn set_dates(
    State(state): State<PortalState>,
    Admin(admin): Admin,
    session: Session,
    Path(version): Path<String>,
    CsrfForm(form): CsrfForm<DatesForm>,
) -> Response {
    let dates = if form.reset.is_empty() {
        let field = |label: &str, text: &str| {
            VersionDates::parse_date(text).map_err(|e| CoreError::Invalid(format!("{label}: {e}.")))
        };
        let parsed = field("Generally available", &form.ga).and_then(|ga| {
            Ok(VersionDates {
                ga,
                deprecated_since: field("Deprecated since", &form.deprecated_since)?,
                sunset: field("Sunset", &form.sunset)?,
            })
        });
        match parsed {
            Ok(dates) => dates,
            Err(e) => return refused(&session, e, VERSIONS).await,
        }
    } else {
        VersionDates::default()
    };
    match state
        .lifecycles
        .set_dates(&admin.actor, &version, dates)
        .await
    {
        Ok(()) => {
            let lifecycle = state
                .lifecycles
                .catalog()
                .version(&version)
                .map(|v| v.lifecycle());
            let now = match lifecycle {
                Some(portico_sandbox::model::Lifecycle::Current) | None => "current".to_owned(),
                Some(portico_sandbox::model::Lifecycle::Deprecated { sunset, .. }) => {
                    format!("deprecated, sunset on {sunset}")
                }
                Some(portico_sandbox::model::Lifecycle::Sunset { since }) => {
                    format!("retired since {since} (calls return 410)")
                }
            };
            done(&session, format!("{version} is now {now}."), VERSIONS).await
        }
        Err(e) => refused(&session, e, VERSIONS).await,
    }
}
