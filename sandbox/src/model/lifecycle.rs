//! Version lifecycles: the dates a version goes by (general availability, deprecation, sunset),
//! what they mean on a given day, and the live state the gateway reads on every request.
//!
//! The model's dates (`x-ga`, `x-deprecated-since`, `x-sunset`) can be overridden by an admin;
//! the process then swaps a version's state while serving, and does so again when a sunset date
//! arrives, so the gateway's headers, its 410 and the pages that show the dates never disagree.

use super::dates;
use axum::http::HeaderValue;
use std::fmt;
use std::sync::{PoisonError, RwLock, RwLockReadGuard};
use time::Date;

/// Where a version stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lifecycle {
    Current,
    /// Still served, with `Deprecation` and `Sunset` headers. Dates are `YYYY-MM-DD`.
    Deprecated {
        since: String,
        sunset: String,
    },
    /// End of life since `since` (`YYYY-MM-DD`): every request gets 410 `GoneException`.
    Sunset {
        since: String,
    },
}

impl Lifecycle {
    /// From the `x-deprecated-since` / `x-sunset` dates, as of `today`.
    pub fn from_dates(
        deprecated_since: Option<&str>,
        sunset: Option<&str>,
        today: Date,
    ) -> Result<Lifecycle, String> {
        let parse = |key: &str, text: &str| {
            dates::parse_date(text)
                .ok_or_else(|| format!("{key} must be a date like 2027-06-30, not {text:?}"))
        };
        VersionDates {
            ga: None,
            deprecated_since: deprecated_since
                .map(|d| parse("x-deprecated-since", d))
                .transpose()?,
            sunset: sunset.map(|d| parse("x-sunset", d)).transpose()?,
        }
        .lifecycle(today)
        .map_err(|e| e.to_string())
    }

    pub fn is_gone(&self) -> bool {
        matches!(self, Lifecycle::Sunset { .. })
    }

    /// The RFC 9745 `Deprecation` header value (`@<unix seconds>`), for deprecated versions.
    pub fn deprecation_header(&self) -> Option<String> {
        match self {
            Lifecycle::Deprecated { since, .. } => {
                dates::parse_date(since).map(|date| format!("@{}", dates::unix_midnight(date)))
            }
            _ => None,
        }
    }

    /// The RFC 8594 `Sunset` header value (an HTTP-date), for deprecated versions.
    pub fn sunset_header(&self) -> Option<String> {
        match self {
            Lifecycle::Deprecated { sunset, .. } => {
                dates::parse_date(sunset).map(dates::imf_fixdate)
            }
            _ => None,
        }
    }
}

/// The dates a version goes by. Each may be unset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VersionDates {
    /// General availability.
    pub ga: Option<Date>,
    /// When the deprecation was announced (`Deprecation` header).
    pub deprecated_since: Option<Date>,
    /// The day the version stops working (`Sunset` header until then, 410 from then on).
    pub sunset: Option<Date>,
}

/// Dates that do not make a lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatesError {
    DeprecationWithoutSunset,
    SunsetWithoutDeprecation,
    DeprecationAfterSunset,
    GaAfterDeprecation,
}

impl fmt::Display for DatesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DatesError::DeprecationWithoutSunset => {
                "a deprecated version needs a sunset date (the day it stops working)"
            }
            DatesError::SunsetWithoutDeprecation => {
                "a future sunset date needs a deprecation date (when the deprecation was announced)"
            }
            DatesError::DeprecationAfterSunset => {
                "the deprecation date must not be after the sunset date"
            }
            DatesError::GaAfterDeprecation => {
                "the general-availability date must not be after the deprecation date"
            }
        })
    }
}

impl std::error::Error for DatesError {}

impl VersionDates {
    /// What the dates mean on `today`. A sunset date today or earlier is the end of life,
    /// with or without a deprecation date; a deprecation date alone, or a future sunset alone,
    /// is an error.
    pub fn lifecycle(&self, today: Date) -> Result<Lifecycle, DatesError> {
        if let (Some(ga), Some(since)) = (self.ga, self.deprecated_since)
            && ga > since
        {
            return Err(DatesError::GaAfterDeprecation);
        }
        match (self.deprecated_since, self.sunset) {
            (None, None) => Ok(Lifecycle::Current),
            (_, Some(end)) if end <= today => Ok(Lifecycle::Sunset {
                since: dates::format_date(end),
            }),
            (Some(since), Some(end)) if since <= end => Ok(Lifecycle::Deprecated {
                since: dates::format_date(since),
                sunset: dates::format_date(end),
            }),
            (Some(_), Some(_)) => Err(DatesError::DeprecationAfterSunset),
            (Some(_), None) => Err(DatesError::DeprecationWithoutSunset),
            (None, Some(_)) => Err(DatesError::SunsetWithoutDeprecation),
        }
    }

    /// These dates with every date `other` sets put in their place.
    pub fn overlaid_with(self, other: VersionDates) -> VersionDates {
        VersionDates {
            ga: other.ga.or(self.ga),
            deprecated_since: other.deprecated_since.or(self.deprecated_since),
            sunset: other.sunset.or(self.sunset),
        }
    }

    /// Parses an optional `YYYY-MM-DD` (empty = unset), for dates typed by people.
    pub fn parse_date(text: &str) -> Result<Option<Date>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        dates::parse_date(text)
            .map(Some)
            .ok_or_else(|| format!("{text:?} is not a date like 2027-06-30"))
    }

    /// `YYYY-MM-DD`.
    pub fn format(date: Date) -> String {
        dates::format_date(date)
    }
}

/// An operation deprecated on its own (`deprecated: true` on the operation, with optional
/// `x-deprecated-since` and `x-sunset` dates), whatever its version's state. The docs read the
/// same keys, so the reference, the deprecations page and the gateway agree.
#[derive(Clone, Debug)]
pub struct OperationDeprecation {
    pub since: Option<Date>,
    pub sunset: Option<Date>,
    /// The start (UTC, unix seconds) of the sunset day: from then on the operation is 410.
    sunset_at: Option<i64>,
    /// `Deprecation` and `Sunset` values, ready to copy.
    pub(crate) deprecation_header: Option<HeaderValue>,
    pub(crate) sunset_header: Option<HeaderValue>,
}

impl OperationDeprecation {
    pub(crate) fn new(since: Option<Date>, sunset: Option<Date>) -> Result<Self, DatesError> {
        if let (Some(since), Some(end)) = (since, sunset)
            && since > end
        {
            return Err(DatesError::DeprecationAfterSunset);
        }
        Ok(Self {
            since,
            sunset,
            sunset_at: sunset.map(dates::unix_midnight),
            deprecation_header: since
                .and_then(|d| HeaderValue::from_str(&format!("@{}", dates::unix_midnight(d))).ok()),
            sunset_header: sunset.and_then(|d| HeaderValue::from_str(&dates::imf_fixdate(d)).ok()),
        })
    }

    /// Retired at `now` (unix seconds): every call gets 410.
    pub fn is_gone_at(&self, now: i64) -> bool {
        self.sunset_at.is_some_and(|at| now >= at)
    }
}

/// A version's state as the gateway reads it: the effective dates, their lifecycle and the
/// header values ready to copy.
#[derive(Clone, Debug)]
pub struct LifecycleState {
    pub dates: VersionDates,
    pub lifecycle: Lifecycle,
    /// `Deprecation` and `Sunset` values, for a deprecated version.
    pub(crate) headers: Option<(HeaderValue, HeaderValue)>,
}

impl LifecycleState {
    fn new(dates: VersionDates, lifecycle: Lifecycle) -> Self {
        let headers = match (lifecycle.deprecation_header(), lifecycle.sunset_header()) {
            (Some(deprecation), Some(sunset)) => HeaderValue::from_str(&deprecation)
                .ok()
                .zip(HeaderValue::from_str(&sunset).ok()),
            _ => None,
        };
        Self {
            dates,
            lifecycle,
            headers,
        }
    }
}

/// The live state of one version: read on every request, replaced rarely.
#[derive(Debug)]
pub(crate) struct LiveLifecycle(RwLock<LifecycleState>);

impl LiveLifecycle {
    pub(crate) fn new(dates: VersionDates, lifecycle: Lifecycle) -> Self {
        Self(RwLock::new(LifecycleState::new(dates, lifecycle)))
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, LifecycleState> {
        // The state is replaced whole, so a panic elsewhere cannot leave it half-written.
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts `dates` in force as of `today`; `Ok(true)` when the lifecycle or a date changed.
    pub(crate) fn set(&self, dates: VersionDates, today: Date) -> Result<bool, DatesError> {
        let lifecycle = dates.lifecycle(today)?;
        {
            let current = self.read();
            if current.dates == dates && current.lifecycle == lifecycle {
                return Ok(false);
            }
        }
        let state = LifecycleState::new(dates, lifecycle);
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = state;
        Ok(true)
    }
}

impl Clone for LiveLifecycle {
    /// A copy with its own lock: changing one version's dates never changes a clone's.
    fn clone(&self) -> Self {
        Self(RwLock::new(self.read().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Date {
        dates::parse_date(text).unwrap()
    }

    #[test]
    fn dates_make_lifecycles() {
        let today = day("2026-12-04");
        let dates = |since: Option<&str>, sunset: Option<&str>| VersionDates {
            ga: Some(day("2024-01-01")),
            deprecated_since: since.map(day),
            sunset: sunset.map(day),
        };
        assert_eq!(dates(None, None).lifecycle(today), Ok(Lifecycle::Current));
        assert_eq!(
            dates(Some("2026-06-01"), Some("2027-06-30")).lifecycle(today),
            Ok(Lifecycle::Deprecated {
                since: "2026-06-01".into(),
                sunset: "2027-06-30".into()
            })
        );
        assert_eq!(
            dates(Some("2026-06-01"), Some("2026-12-04")).lifecycle(today),
            Ok(Lifecycle::Sunset {
                since: "2026-12-04".into()
            })
        );
        assert_eq!(
            dates(Some("2026-06-01"), None).lifecycle(today),
            Err(DatesError::DeprecationWithoutSunset)
        );
        assert_eq!(
            dates(None, Some("2027-01-01")).lifecycle(today),
            Err(DatesError::SunsetWithoutDeprecation)
        );
        assert_eq!(
            dates(Some("2027-02-01"), Some("2027-03-01"))
                .overlaid_with(VersionDates {
                    ga: Some(day("2027-02-02")),
                    ..VersionDates::default()
                })
                .lifecycle(today),
            Err(DatesError::GaAfterDeprecation)
        );
    }

    #[test]
    fn live_state_is_replaced_whole_and_reports_changes() {
        let dates = VersionDates::default();
        let live = LiveLifecycle::new(dates, Lifecycle::Current);
        assert!(live.read().headers.is_none());
        let deprecated = VersionDates {
            ga: None,
            deprecated_since: Some(day("2026-06-01")),
            sunset: Some(day("2027-06-30")),
        };
        assert_eq!(live.set(deprecated, day("2026-12-04")), Ok(true));
        assert_eq!(live.set(deprecated, day("2026-12-04")), Ok(false));
        let state = live.read().clone();
        let (deprecation, sunset) = state.headers.unwrap();
        assert_eq!(deprecation, "@1780272000");
        assert_eq!(sunset, "Wed, 30 Jun 2027 00:00:00 GMT");
        // The sunset date arrives: same dates, new lifecycle.
        assert_eq!(live.set(deprecated, day("2027-06-30")), Ok(true));
        assert!(live.read().lifecycle.is_gone());
        assert!(live.read().headers.is_none());
        // Bad dates leave the state as it was.
        let bad = VersionDates {
            sunset: None,
            ..deprecated
        };
        assert!(live.set(bad, day("2027-06-30")).is_err());
        assert!(live.read().lifecycle.is_gone());
    }
}
