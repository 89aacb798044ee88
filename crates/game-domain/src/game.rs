//! The game's use cases, written once against [`Repository`].
//!
//! Each use case validates its input, draws any randomness up front, then hands the
//! repository one closure holding the pure rule. Time is read inside the closure, under the
//! repository's locks, so operations on one player are ordered in time as they are applied.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::accounts::{NewUser, Session, SessionToken, SessionView, hash_token, validate_password};
use crate::clock::Clock;
use crate::collect::{CollectOutcome, CollectRoll, collect};
use crate::error::{AppError, GameError};
use crate::navigate::{NavigateOutcome, NavigateRequest, navigate};
use crate::repository::Repository;
use crate::rng::GameRng;
use crate::space_object::ObjectId;
use crate::spawn::Spawn;
use crate::tech_tree::ResearchType;
use crate::user::{UserId, UserStats};
use crate::username::{login_name, new_username};
use crate::views::{ShipStats, TechTreeView, WorldDeltaView, WorldSync, WorldView};
use crate::world::WorldSnapshot;
use crate::world_history::Version;

/// Default session lifetime: 24 hours.
pub const SESSION_TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// Password hashing, supplied by the server (it runs the slow work off the async workers).
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a password into PHC string format.
    async fn hash(&self, password: &str) -> Result<String, AppError>;

    /// True if `password` matches `hash`. With no hash it does the same amount of work and
    /// answers false, so an unknown user cannot be told from a wrong password by timing.
    /// Fails only when the work could not be done ([`AppError::Busy`] when the hasher is
    /// saturated).
    async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, AppError>;

    /// True if `hash` was made with other cost parameters than new hashes get: a
    /// successful login then stores a fresh hash of the password.
    fn needs_rehash(&self, _hash: &str) -> bool {
        false
    }
}

/// A new player, logged in: what [`Game::register`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    /// The session token (for the cookie; only its hash is stored).
    pub token: String,
    /// The new player's id.
    pub user_id: UserId,
    /// The id of the new player's ship.
    pub ship_id: ObjectId,
}

/// The game: a repository plus the injected clock, RNG and password hasher.
pub struct Game<R> {
    repo: R,
    clock: Arc<dyn Clock>,
    rng: Mutex<GameRng>,
    hasher: Arc<dyn PasswordHasher>,
    session_ttl_ms: i64,
    spawn: Spawn,
}

impl<R: Repository> Game<R> {
    /// A game over `repo` with sessions lasting [`SESSION_TTL_MS`], drawing its randomness
    /// from `rng` (seeded, from the OS, or any generator: see [`GameRng`]).
    pub fn new(
        repo: R,
        clock: Arc<dyn Clock>,
        rng: GameRng,
        hasher: Arc<dyn PasswordHasher>,
    ) -> Game<R> {
        Game {
            repo,
            clock,
            rng: Mutex::new(rng),
            hasher,
            session_ttl_ms: SESSION_TTL_MS,
            spawn: Spawn::Point,
        }
    }

    /// The same game placing new ships by `spawn` (default: the spawn point).
    pub fn with_spawn(mut self, spawn: Spawn) -> Game<R> {
        self.spawn = spawn;
        self
    }

    /// The repository the game runs on.
    pub fn repo(&self) -> &R {
        &self.repo
    }

    /// Creates a player with a ship and logs it in; returns the session token with the new
    /// player's and ship's ids. The name must be an identifier ([`new_username`]), is
    /// stored in its width-mapped NFC form and must be unique without regard to case and
    /// to look-alike letters (the repository compares keys and skeletons).
    pub async fn register(&self, username: &str, password: &str) -> Result<Registered, AppError> {
        let username = new_username(username)?;
        validate_password(password)?;
        let hash = self.hasher.hash(password).await?;
        let user = self
            .repo
            .create_user(NewUser::register(username, hash, self.clock.now_ms()))
            .await?;
        self.place_new_ship(user.id).await?;
        Ok(Registered {
            token: self.open_session(user.id).await?,
            user_id: user.id,
            ship_id: user.ship_id,
        })
    }

    /// With [`Spawn::Spread`], moves the new (still) ship from the spawn point to its
    /// spread position. A second unit of work, because the position follows the user id
    /// and the repository assigns that id when it creates the user.
    async fn place_new_ship(&self, user_id: UserId) -> Result<(), AppError> {
        if self.spawn == Spawn::Point {
            return Ok(());
        }
        let (x, y) = self.spawn.position(user_id, self.repo.world_size());
        self.repo
            .with_user_and_world(user_id, Vec::new(), move |user, world| {
                let ship = world.get_mut(user.ship_id).ok_or(GameError::UserNotFound)?;
                (ship.x, ship.y) = (x, y);
                Ok(())
            })
            .await
    }

    /// Checks credentials, brings the player's stats up to date, and returns a new token.
    /// An unknown user and a wrong password fail alike. The name is matched by its NFC
    /// form without regard to case. A hash made with older cost parameters is replaced by
    /// a fresh one (best effort: if hashing is busy, the next login tries again).
    pub async fn login(&self, username: &str, password: &str) -> Result<String, AppError> {
        let user = match login_name(username) {
            Ok(name) if validate_password(password).is_ok() => {
                self.repo.find_user_by_name(&name).await?
            }
            _ => None,
        };
        let hash = user.as_ref().map(|u| u.password_hash.as_str());
        let matches = self.hasher.verify(password, hash).await?;
        let Some(user) = user.filter(|_| matches) else {
            return Err(GameError::InvalidCredentials.into());
        };
        let rehashed = if self.hasher.needs_rehash(&user.password_hash) {
            self.hasher.hash(password).await.ok()
        } else {
            None
        };
        let clock = self.clock.clone();
        self.repo
            .with_user(user.id, move |u| {
                u.update_stats(clock.now_s());
                if let Some(hash) = rehashed {
                    u.password_hash = hash;
                }
                Ok(())
            })
            .await?;
        self.open_session(user.id).await
    }

    /// Revokes the session behind `token`, durably. Unknown tokens are ignored.
    pub async fn logout(&self, token: &str) -> Result<(), AppError> {
        self.repo.revoke_session(&hash_token(token)).await
    }

    /// The user a token authenticates, or [`GameError::NotAuthenticated`].
    pub async fn authenticate(&self, token: Option<&str>) -> Result<UserId, AppError> {
        Ok(self.authenticate_session(token).await?.user_id)
    }

    /// The valid session a token stands for, or [`GameError::NotAuthenticated`].
    pub async fn authenticate_session(&self, token: Option<&str>) -> Result<Session, AppError> {
        let token = token.ok_or(GameError::NotAuthenticated)?;
        let session = self.repo.find_session(&hash_token(token)).await?;
        match session {
            Some(session) if session.is_valid_at(self.clock.now_ms()) => Ok(session),
            _ => Err(GameError::NotAuthenticated.into()),
        }
    }

    /// The game's clock, now (Unix ms).
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Who is logged in with `token`, if anyone.
    pub async fn session(&self, token: Option<&str>) -> Result<SessionView, AppError> {
        let logged_out = SessionView::LoggedOut;
        let user_id = match self.authenticate(token).await {
            Ok(user_id) => user_id,
            Err(AppError::Game(_)) => return Ok(logged_out),
            Err(other) => return Err(other),
        };
        let view = self
            .repo
            .read_player(user_id, |user, _ship| SessionView::LoggedIn {
                username: user.username.clone(),
                ship_id: user.ship_id,
            })
            .await;
        match view {
            Err(AppError::Game(GameError::UserNotFound)) => Ok(logged_out),
            other => other,
        }
    }

    /// Every object, positioned as of now.
    pub async fn world(&self) -> Result<WorldView, AppError> {
        // The world lock is held only for the O(1) snapshot; positioning every object
        // happens after it is released.
        let snapshot = self.repo.view_world(|world| world.snapshot()).await?;
        Ok(WorldView::of(&snapshot, self.clock.now_ms()))
    }

    /// An O(1) immutable copy of the world's stored states at its current version.
    pub async fn world_snapshot(&self) -> Result<WorldSnapshot, AppError> {
        self.repo.view_world(|world| world.snapshot()).await
    }

    /// The id of the player's ship.
    pub async fn ship_of(&self, user_id: UserId) -> Result<ObjectId, AppError> {
        self.repo.read_player(user_id, |_user, ship| ship.id).await
    }

    /// What changed in the world after version `since`: the stored states changed and
    /// the ids removed, or the whole world when `since` is too old or unknown here.
    pub async fn world_since(&self, since: Version) -> Result<WorldSync, AppError> {
        let answer = self
            .repo
            .view_world(move |world| match world.changes_since(since) {
                Some(delta) => Ok((delta, world.version(), world.size())),
                None => Err(world.snapshot()),
            })
            .await?;
        let now_ms = self.clock.now_ms();
        Ok(match answer {
            Ok((delta, version, world_size)) => WorldSync::Delta(WorldDeltaView {
                world_size,
                version,
                since,
                upserted: delta.upserted,
                removed: delta.removed,
                current_time: now_ms,
            }),
            Err(snapshot) => WorldSync::Full(WorldView::of(&snapshot, now_ms)),
        })
    }

    /// The player's iron and income, after accounting for the time since the last update.
    pub async fn user_stats(&self, user_id: UserId) -> Result<UserStats, AppError> {
        let clock = self.clock.clone();
        self.repo
            .with_user(user_id, move |user| {
                user.update_stats(clock.now_s());
                Ok(user.stats())
            })
            .await
    }

    /// The player's ship as of now.
    pub async fn ship_stats(&self, user_id: UserId) -> Result<ShipStats, AppError> {
        let clock = self.clock.clone();
        let size = self.repo.world_size();
        self.repo
            .read_player(user_id, move |user, ship| {
                ShipStats::of(ship, &user.tech_tree, clock.now_ms(), size)
            })
            .await
    }

    /// The player's research tree, after accounting for the time since the last update.
    pub async fn tech_tree(&self, user_id: UserId) -> Result<TechTreeView, AppError> {
        let clock = self.clock.clone();
        self.repo
            .with_user(user_id, move |user| {
                user.update_stats(clock.now_s());
                Ok(TechTreeView::of(&user.tech_tree))
            })
            .await
    }

    /// Starts the next level of the research `kind` (a wire name parses with
    /// [`ResearchType::parse`]).
    pub async fn trigger_research(
        &self,
        user_id: UserId,
        kind: ResearchType,
    ) -> Result<(), AppError> {
        let clock = self.clock.clone();
        self.repo
            .with_user(user_id, move |user| {
                user.update_stats(clock.now_s());
                user.trigger_research(kind)
            })
            .await
    }

    /// Steers the player's ship.
    pub async fn navigate(
        &self,
        user_id: UserId,
        request: NavigateRequest,
    ) -> Result<NavigateOutcome, AppError> {
        let clock = self.clock.clone();
        self.repo
            .with_user_and_world(user_id, Vec::new(), move |user, world| {
                let size = world.size();
                let ship = world.get_mut(user.ship_id).ok_or(GameError::UserNotFound)?;
                navigate(ship, &user.tech_tree, request, clock.now_ms(), size)
            })
            .await
    }

    /// Collects an object near the player's ship; a new object spawns in its place.
    pub async fn collect(
        &self,
        user_id: UserId,
        object_id: ObjectId,
    ) -> Result<CollectOutcome, AppError> {
        let clock = self.clock.clone();
        let roll = {
            let mut rng = self
                .rng
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            CollectRoll::draw(&mut *rng, self.repo.world_size(), clock.now_ms())
        };
        self.repo
            .with_user_and_world(user_id, vec![object_id], move |user, world| {
                let now_ms = clock.now_ms();
                user.update_stats(now_ms.div_euclid(1000));
                let mut roll = roll;
                roll.spawn.last_position_update_ms = now_ms;
                collect(user, world, object_id, now_ms, &roll)
            })
            .await
    }

    async fn open_session(&self, user_id: UserId) -> Result<String, AppError> {
        let issued = {
            let mut rng = self
                .rng
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            SessionToken::issue(&mut *rng, user_id, self.clock.now_ms(), self.session_ttl_ms)
        };
        self.repo.insert_session(issued.session).await?;
        Ok(issued.token)
    }
}
