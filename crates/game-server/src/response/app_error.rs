//! How a use case's failure is answered: a broken rule with its status and the domain's
//! stable code and message, a storage failure with one of the 503s, and the rest.

use game_domain::error::{AppError, GameError};
use hyper::StatusCode;

use super::{ApiError, storage};

impl From<AppError> for ApiError {
    fn from(error: AppError) -> ApiError {
        match error {
            AppError::Game(game) => ApiError::new(status(&game), game.code(), game.to_string()),
            AppError::Storage { kind, source } => storage::failure(kind, source.as_ref()),
            AppError::ShuttingDown => ApiError::shutting_down(),
            AppError::Busy => ApiError::busy(),
        }
    }
}

/// The HTTP status of a broken rule (docs/http-api.md, Errors): 401 without a session, 404
/// for what does not exist, 400 for everything the player asked wrongly. Every variant is
/// named, so a new rule cannot get a status by accident.
fn status(error: &GameError) -> StatusCode {
    match error {
        GameError::NotAuthenticated => StatusCode::UNAUTHORIZED,
        GameError::UserNotFound | GameError::ObjectNotFound => StatusCode::NOT_FOUND,
        GameError::UsernameTaken
        | GameError::InvalidUsername(_)
        | GameError::InvalidPassword(_)
        | GameError::InvalidCredentials
        | GameError::NotEnoughIron
        | GameError::ResearchInProgress
        | GameError::InvalidResearchType
        | GameError::ObjectTooFar
        | GameError::NotCollectible
        | GameError::NothingToNavigate
        | GameError::InvalidSpeed
        | GameError::SpeedTooHigh { .. }
        | GameError::InvalidAngle => StatusCode::BAD_REQUEST,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(error: GameError) -> (StatusCode, &'static str, String) {
        let api = ApiError::from(AppError::from(error));
        (api.status, api.code, api.message)
    }

    #[test]
    fn rule_errors_get_their_status_code_and_message() {
        assert_eq!(
            answer(GameError::NotAuthenticated),
            (
                StatusCode::UNAUTHORIZED,
                "not_authenticated",
                "Not authenticated".to_owned()
            )
        );
        assert_eq!(
            answer(GameError::ObjectNotFound),
            (
                StatusCode::NOT_FOUND,
                "object_not_found",
                "Object not found".to_owned()
            )
        );
        assert_eq!(answer(GameError::UserNotFound).0, StatusCode::NOT_FOUND);
        assert_eq!(
            answer(GameError::SpeedTooHigh { max: 25.0 }),
            (
                StatusCode::BAD_REQUEST,
                "speed_too_high",
                "Speed exceeds the maximum of 25".to_owned()
            )
        );
        assert_eq!(answer(GameError::UsernameTaken).0, StatusCode::BAD_REQUEST);
    }
}
