//! Errors: broken game rules ([`GameError`]) and failures of a use case ([`AppError`]),
//! storage failures classified by [`StorageKind`].

use thiserror::Error;

/// A broken game rule or bad input: the player's fault, never the server's.
///
/// Each variant has a stable snake_case [`code`](GameError::code) and a human message (its
/// `Display`). How a front end answers one (the HTTP server's status codes) is its own
/// business: this crate knows no transport.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum GameError {
    /// Registration with a name that exists.
    #[error("Username taken")]
    UsernameTaken,
    /// A username the rules of [`crate::username`] refuse; the code names the rule.
    #[error("Invalid username: {}", .0.message())]
    InvalidUsername(UsernameProblem),
    /// Password empty or too long.
    #[error("Invalid password: {0}")]
    InvalidPassword(&'static str),
    /// Unknown user or wrong password (deliberately the same).
    #[error("Invalid credentials")]
    InvalidCredentials,
    /// No valid session.
    #[error("Not authenticated")]
    NotAuthenticated,
    /// The user behind a session no longer exists.
    #[error("User not found")]
    UserNotFound,
    /// Research costs more iron than the player has.
    #[error("Not enough iron")]
    NotEnoughIron,
    /// Another research is active.
    #[error("Research already in progress")]
    ResearchInProgress,
    /// The research type is not one of the three.
    #[error("Invalid research type")]
    InvalidResearchType,
    /// No such object (or it was collected already).
    #[error("Object not found")]
    ObjectNotFound,
    /// The object is beyond collection range.
    #[error("Object too far away")]
    ObjectTooFar,
    /// Player ships cannot be collected.
    #[error("Player ships cannot be collected")]
    NotCollectible,
    /// Navigate without speed or angle.
    #[error("Speed or angle required")]
    NothingToNavigate,
    /// Speed negative or not a finite number.
    #[error("Speed must be a finite number of at least 0")]
    InvalidSpeed,
    /// Speed above the ship's maximum.
    #[error("Speed exceeds the maximum of {max}")]
    SpeedTooHigh {
        /// The ship's current max speed.
        max: f64,
    },
    /// Angle not a finite number.
    #[error("Angle must be a finite number")]
    InvalidAngle,
}

impl GameError {
    /// A stable snake_case code clients can match on.
    pub fn code(&self) -> &'static str {
        match self {
            GameError::UsernameTaken => "username_taken",
            GameError::InvalidUsername(problem) => problem.code(),
            GameError::InvalidPassword(_) => "invalid_password",
            GameError::InvalidCredentials => "invalid_credentials",
            GameError::NotAuthenticated => "not_authenticated",
            GameError::UserNotFound => "user_not_found",
            GameError::NotEnoughIron => "not_enough_iron",
            GameError::ResearchInProgress => "research_in_progress",
            GameError::InvalidResearchType => "invalid_research_type",
            GameError::ObjectNotFound => "object_not_found",
            GameError::ObjectTooFar => "object_too_far",
            GameError::NotCollectible => "not_collectible",
            GameError::NothingToNavigate => "nothing_to_navigate",
            GameError::InvalidSpeed => "invalid_speed",
            GameError::SpeedTooHigh { .. } => "speed_too_high",
            GameError::InvalidAngle => "invalid_angle",
        }
    }
}

/// Why a use case failed: a broken rule, or the storage behind the repository.
#[derive(Debug, Error)]
pub enum AppError {
    /// A game rule was broken; answered to the player.
    #[error(transparent)]
    Game(#[from] GameError),
    /// The storage failed (database down, lease lost, …); the player may retry. The layer
    /// that knows the failure names its [`StorageKind`], so no layer above has to downcast
    /// `source` to decide how to answer; `source` keeps the original error for the log.
    #[error("storage unavailable: {source}")]
    Storage {
        /// What kind of failure it is: decides the answer (docs/contributing.md, Errors).
        kind: StorageKind,
        /// The storage layer's own error, with its chain.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The repository is shutting down and accepts no more work.
    #[error("shutting down")]
    ShuttingDown,
    /// A bounded resource (password hashing) is full, or the request's deadline passed
    /// while it waited its turn; the player may retry shortly.
    #[error("busy")]
    Busy,
}

impl AppError {
    /// Wraps a storage layer's error of the given kind.
    pub fn storage(
        kind: StorageKind,
        error: impl std::error::Error + Send + Sync + 'static,
    ) -> AppError {
        AppError::Storage {
            kind,
            source: Box::new(error),
        }
    }
}

/// What kind of storage failure an [`AppError::Storage`] is: what a caller may conclude and
/// do, whatever the storage behind the repository. The storage layer classifies its own
/// errors (game-persistence's `StoreError::kind`); front ends match on this, never on the
/// storage's error types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    /// The storage could not do it (unreachable, no free connection, a failed statement or
    /// task): nothing was written; retrying later may succeed.
    Unavailable,
    /// A call was abandoned at its deadline: a write may or may not have taken effect.
    OutcomeUnknown,
    /// This process no longer owns the storage (its lease was taken over or released): it
    /// writes nothing more and should stop; another process serves the game.
    LeaseLost,
    /// This process is past its own ownership deadline without a confirmed renewal: another
    /// process may own the storage by now; retrying shortly may succeed.
    LeaseExpired,
    /// The storage refused a change that conflicts with what it holds (a name taken, the
    /// storage owned by another process).
    Conflict,
    /// The storage cannot be used as configured or holds data that does not fit (a bad
    /// URL, a backend left out of the build, failed migrations, an unreadable row):
    /// retrying does not help; an operator must look.
    Invalid,
}

/// Why a username is refused by the rules of [`crate::username`]; each has a stable error
/// code. It lives here, not in `username`, so that the errors depend on nothing and the
/// rules depend on the errors, one way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsernameProblem {
    /// The name is empty.
    Empty,
    /// More than [`MAX_USERNAME_CHARS`](crate::username::MAX_USERNAME_CHARS) characters.
    TooLong,
    /// Only whitespace.
    Blank,
    /// Whitespace at the start or the end.
    EdgeWhitespace,
    /// A control (Cc) or format (Cf) character somewhere.
    ForbiddenCharacter,
    /// Not an identifier by RFC 8265 (a space, a symbol, a compatibility character, a
    /// blank-looking letter, mixed directions): new names only.
    NotIdentifier,
}

impl UsernameProblem {
    /// The stable snake_case code of the 400 answer.
    pub fn code(self) -> &'static str {
        match self {
            UsernameProblem::Empty => "username_empty",
            UsernameProblem::TooLong => "username_too_long",
            UsernameProblem::Blank => "username_blank",
            UsernameProblem::EdgeWhitespace => "username_edge_whitespace",
            UsernameProblem::ForbiddenCharacter => "username_forbidden_character",
            UsernameProblem::NotIdentifier => "username_not_identifier",
        }
    }

    /// The human message (after "Invalid username: ").
    pub fn message(self) -> &'static str {
        match self {
            UsernameProblem::Empty => "must not be empty",
            UsernameProblem::TooLong => "at most 32 characters",
            UsernameProblem::Blank => "must not be only whitespace",
            UsernameProblem::EdgeWhitespace => "must not start or end with whitespace",
            UsernameProblem::ForbiddenCharacter => "no control or invisible formatting characters",
            UsernameProblem::NotIdentifier => {
                "letters, digits and ASCII punctuation only (no spaces, symbols or look-alike forms)"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_messages_are_stable() {
        assert_eq!(GameError::ObjectTooFar.to_string(), "Object too far away");
        assert_eq!(GameError::ResearchInProgress.code(), "research_in_progress");
        assert_eq!(
            GameError::SpeedTooHigh { max: 25.0 }.to_string(),
            "Speed exceeds the maximum of 25"
        );
    }
}
