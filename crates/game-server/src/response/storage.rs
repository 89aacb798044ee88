//! The answers to storage failures: which 503 a failure of the database gets.

use game_domain::error::StorageKind;
use hyper::StatusCode;

use super::ApiError;

impl ApiError {
    /// 503 when the database did not answer a call within its deadline: a write may or
    /// may not have committed (docs/http-api.md, Retrying).
    pub fn outcome_unknown() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "outcome_unknown",
            "The database did not answer in time; the operation may or may not have taken effect",
        )
    }

    /// 503 when this process lost the database lease to another one: it writes nothing
    /// more and is stopping; the client should retry against the new owner.
    pub fn lease_lost() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "lease_lost",
            "This server no longer owns the database; retry shortly",
        )
    }
}

impl ApiError {
    /// 503 when this process is past its own lease deadline without a confirmed renewal
    /// (it was paused, or is cut off from the database): another process may own the
    /// game by now, so it answers nothing from its state until a renewal succeeds.
    pub fn lease_expired() -> ApiError {
        ApiError {
            retry_after_s: Some(1),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "lease_expired",
                "This server cannot confirm it still owns the database; retry shortly",
            )
        }
    }

    /// The answer of a process whose [`game_persistence::LeaseStatus::check`] failed:
    /// `lease_lost` once the lease is lost, `lease_expired` while past its deadline.
    pub fn lease_refused(error: &game_persistence::StoreError) -> ApiError {
        match error.kind() {
            StorageKind::LeaseLost => ApiError::lease_lost(),
            _ => ApiError::lease_expired(),
        }
    }

    /// 503 from a standby: another process owns the database and serves the game; this
    /// one takes over when that one stops. Retry shortly (a load balancer routes by
    /// `/readyz`, which answers the same).
    pub fn standby() -> ApiError {
        ApiError {
            retry_after_s: Some(1),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "standby",
                "This server is a standby: another server owns the game now; retry shortly",
            )
        }
    }
}

/// The answer to a storage failure, by its kind: `lease_lost` when this process lost the
/// database, `lease_expired` when it is past its lease deadline, `outcome_unknown` when a
/// call was cut at its deadline, else `storage_unavailable`. `source` is only logged.
pub(super) fn failure(
    kind: StorageKind,
    source: &(dyn std::error::Error + Send + Sync + 'static),
) -> ApiError {
    match kind {
        StorageKind::LeaseLost => {
            tracing::error!("write refused: the database lease was lost");
            ApiError::lease_lost()
        }
        StorageKind::LeaseExpired => ApiError::lease_expired(),
        StorageKind::OutcomeUnknown => {
            tracing::warn!(error = %source, "database call cut at its deadline");
            ApiError::outcome_unknown()
        }
        StorageKind::Unavailable | StorageKind::Conflict | StorageKind::Invalid => {
            tracing::warn!(error = %source, ?kind, "storage failure answered with 503");
            ApiError::storage_unavailable()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(kind: StorageKind) -> (StatusCode, &'static str, Option<u64>) {
        let api = failure(kind, &std::io::Error::other("injected"));
        (api.status, api.code, api.retry_after_s)
    }

    #[test]
    fn each_kind_gets_its_503() {
        let unavailable = StatusCode::SERVICE_UNAVAILABLE;
        assert_eq!(
            answer(StorageKind::LeaseLost),
            (unavailable, "lease_lost", None)
        );
        assert_eq!(
            answer(StorageKind::LeaseExpired),
            (unavailable, "lease_expired", Some(1))
        );
        assert_eq!(
            answer(StorageKind::OutcomeUnknown),
            (unavailable, "outcome_unknown", None)
        );
        for kind in [
            StorageKind::Unavailable,
            StorageKind::Conflict,
            StorageKind::Invalid,
        ] {
            assert_eq!(answer(kind).1, "storage_unavailable", "{kind:?}");
        }
    }

    #[test]
    fn a_refused_lease_check_says_lost_or_expired() {
        use game_persistence::StoreError;
        assert_eq!(
            ApiError::lease_refused(&StoreError::LeaseLost).code,
            "lease_lost"
        );
        assert_eq!(
            ApiError::lease_refused(&StoreError::LeaseExpired).code,
            "lease_expired"
        );
    }
}
