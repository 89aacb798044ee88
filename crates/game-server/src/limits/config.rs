//! The flags of docs/limits.md (hashing pool, rate limits, connection caps), flattened into
//! [`crate::Config`].

use std::fmt;
use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

use clap::Args;
use thiserror::Error;

use crate::switch::Switch;

/// Limits under hostile load; every flag also reads `SPACEWARS_<FLAG>`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct LimitsConfig {
    /// Threads hashing passwords (argon2); 0 means one per CPU core.
    #[arg(long, env = "SPACEWARS_HASH_THREADS", default_value_t = 0)]
    pub hash_threads: usize,

    /// Password hashes that may wait for a thread; more are refused at once with 503
    /// `busy`.
    #[arg(long, env = "SPACEWARS_HASH_QUEUE", default_value_t = 16)]
    pub hash_queue: usize,

    /// Rate limits on login and registration (429 `rate_limited`); `off` for load tests
    /// and test suites that run from one address.
    #[arg(long, env = "SPACEWARS_RATE_LIMITS", value_enum, default_value_t = Switch::On)]
    pub rate_limits: Switch,

    /// Logins per minute from one client address, and from one known device (also the
    /// burst).
    #[arg(
        long,
        env = "SPACEWARS_LOGIN_PER_ADDRESS_PER_MIN",
        default_value_t = 30
    )]
    pub login_per_address_per_min: u32,

    /// Logins per minute for one account from one client address (also the burst).
    #[arg(
        long,
        env = "SPACEWARS_LOGIN_PER_ACCOUNT_ADDRESS_PER_MIN",
        default_value_t = 5
    )]
    pub login_per_account_address_per_min: u32,

    /// Logins per minute for one account from all addresses together, its known devices
    /// apart (also the burst).
    #[arg(
        long,
        env = "SPACEWARS_LOGIN_PER_ACCOUNT_PER_MIN",
        default_value_t = 20
    )]
    pub login_per_account_per_min: u32,

    /// Registrations per minute from one client address (also the burst).
    #[arg(
        long,
        env = "SPACEWARS_REGISTER_PER_ADDRESS_PER_MIN",
        default_value_t = 3
    )]
    pub register_per_address_per_min: u32,

    /// Keys one rate limit table holds at most; past it the least recently used key is
    /// forgotten.
    #[arg(long, env = "SPACEWARS_RATE_LIMIT_KEYS", default_value_t = 50_000)]
    pub rate_limit_keys: usize,

    /// Take the client address from the last `X-Forwarded-For` hop (set this only behind
    /// a reverse proxy that appends it; otherwise clients could choose their address).
    #[arg(long, env = "SPACEWARS_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,

    /// Open connections at most; more are closed at once.
    #[arg(long, env = "SPACEWARS_MAX_CONNECTIONS", default_value_t = 2_000)]
    pub max_connections: usize,

    /// Open connections at most from one client address; more are closed at once.
    #[arg(
        long,
        env = "SPACEWARS_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 64
    )]
    pub max_connections_per_address: usize,

    /// A new connection must send its first request head within this many milliseconds.
    #[arg(
        long,
        env = "SPACEWARS_FIRST_REQUEST_TIMEOUT_MS",
        default_value_t = 5_000
    )]
    pub first_request_timeout_ms: u64,

    /// An idle keep-alive connection is closed after this many milliseconds (also the
    /// time a later request head may take).
    #[arg(
        long,
        env = "SPACEWARS_KEEP_ALIVE_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    pub keep_alive_timeout_ms: u64,

    /// A response or event stream whose socket accepts no byte for this many milliseconds
    /// is closed (the client does not read).
    #[arg(
        long,
        env = "SPACEWARS_WRITE_STALL_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    pub write_stall_timeout_ms: u64,

    /// World event streams one session may have open; opening one more closes its oldest.
    #[arg(long, env = "SPACEWARS_MAX_STREAMS_PER_SESSION", default_value_t = 2)]
    pub max_streams_per_session: usize,

    /// World event streams one player may have open over all sessions; opening one more
    /// closes the oldest (of the session if it has one, else of the player).
    #[arg(long, env = "SPACEWARS_MAX_STREAMS_PER_USER", default_value_t = 4)]
    pub max_streams_per_user: usize,

    /// A second listener for `/healthz`, `/readyz` and `/metrics` only, outside the
    /// connection caps, so probes get through while game traffic is at its cap.
    #[arg(long, env = "SPACEWARS_OPS_LISTEN")]
    pub ops_listen: Option<SocketAddr>,

    /// How often expired and revoked sessions are deleted from the database, in
    /// milliseconds.
    #[arg(long, env = "SPACEWARS_SESSION_SWEEP_MS", default_value_t = 600_000)]
    pub session_sweep_ms: u64,
}

/// A limit out of range.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LimitsError {
    /// A rate of zero (use `--rate-limits off` instead).
    #[error("{0} must be at least 1 (turn rate limits off with --rate-limits off)")]
    ZeroRate(&'static str),
    /// A connection cap of zero.
    #[error("{0} must be at least 1")]
    ZeroCap(&'static str),
    /// A zero timeout.
    #[error("{0} must be at least 1")]
    ZeroTimeout(&'static str),
}

impl Default for LimitsConfig {
    fn default() -> LimitsConfig {
        LimitsConfig {
            hash_threads: 0,
            hash_queue: 16,
            rate_limits: Switch::On,
            login_per_address_per_min: 30,
            login_per_account_address_per_min: 5,
            login_per_account_per_min: 20,
            register_per_address_per_min: 3,
            rate_limit_keys: 50_000,
            trust_forwarded_for: false,
            max_connections: 2_000,
            max_connections_per_address: 64,
            first_request_timeout_ms: 5_000,
            keep_alive_timeout_ms: 30_000,
            write_stall_timeout_ms: 30_000,
            max_streams_per_session: 2,
            max_streams_per_user: 4,
            ops_listen: None,
            session_sweep_ms: 600_000,
        }
    }
}

impl LimitsConfig {
    /// Checks every value.
    pub fn validate(&self) -> Result<(), LimitsError> {
        self.rates()?;
        self.rate_limit_capacity()?;
        for (flag, value) in [
            ("--max-connections", self.max_connections),
            (
                "--max-connections-per-address",
                self.max_connections_per_address,
            ),
            ("--max-streams-per-session", self.max_streams_per_session),
            ("--max-streams-per-user", self.max_streams_per_user),
        ] {
            if value == 0 {
                return Err(LimitsError::ZeroCap(flag));
            }
        }
        if self.first_request_timeout_ms == 0 {
            return Err(LimitsError::ZeroTimeout("--first-request-timeout-ms"));
        }
        if self.keep_alive_timeout_ms == 0 {
            return Err(LimitsError::ZeroTimeout("--keep-alive-timeout-ms"));
        }
        if self.write_stall_timeout_ms == 0 {
            return Err(LimitsError::ZeroTimeout("--write-stall-timeout-ms"));
        }
        if self.session_sweep_ms == 0 {
            return Err(LimitsError::ZeroTimeout("--session-sweep-ms"));
        }
        Ok(())
    }

    /// Hashing threads: the flag, or the number of cores for 0.
    pub fn hash_threads(&self) -> usize {
        match self.hash_threads {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        }
    }

    /// The four rates per minute, in the order login per address, login per account and
    /// address, login per account, register per address.
    pub fn rates(&self) -> Result<[NonZeroU32; 4], LimitsError> {
        let rate = |value: u32, flag: &'static str| {
            NonZeroU32::new(value).ok_or(LimitsError::ZeroRate(flag))
        };
        Ok([
            rate(
                self.login_per_address_per_min,
                "--login-per-address-per-min",
            )?,
            rate(
                self.login_per_account_address_per_min,
                "--login-per-account-address-per-min",
            )?,
            rate(
                self.login_per_account_per_min,
                "--login-per-account-per-min",
            )?,
            rate(
                self.register_per_address_per_min,
                "--register-per-address-per-min",
            )?,
        ])
    }

    /// Keys per rate limit table.
    pub fn rate_limit_capacity(&self) -> Result<NonZeroUsize, LimitsError> {
        NonZeroUsize::new(self.rate_limit_keys).ok_or(LimitsError::ZeroCap("--rate-limit-keys"))
    }

    /// Time a socket may accept no byte of a response before the connection is closed.
    pub fn write_stall_timeout(&self) -> Duration {
        Duration::from_millis(self.write_stall_timeout_ms)
    }

    /// Time for a new connection's first request head.
    pub fn first_request_timeout(&self) -> Duration {
        Duration::from_millis(self.first_request_timeout_ms)
    }

    /// Period of the expired and revoked session sweep.
    pub fn session_sweep(&self) -> Duration {
        Duration::from_millis(self.session_sweep_ms)
    }

    /// Idle time after which a keep-alive connection is closed.
    pub fn keep_alive_timeout(&self) -> Duration {
        Duration::from_millis(self.keep_alive_timeout_ms)
    }
}

impl fmt::Display for LimitsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "hash_threads={} hash_queue={} rate_limits={:?} login_per_address_per_min={} \
             login_per_account_address_per_min={} login_per_account_per_min={} \
             register_per_address_per_min={} rate_limit_keys={} \
             trust_forwarded_for={} max_connections={} max_connections_per_address={} \
             first_request_timeout_ms={} keep_alive_timeout_ms={} write_stall_timeout_ms={} \
             max_streams_per_session={} max_streams_per_user={} ops_listen={} \
             session_sweep_ms={}",
            self.hash_threads(),
            self.hash_queue,
            self.rate_limits,
            self.login_per_address_per_min,
            self.login_per_account_address_per_min,
            self.login_per_account_per_min,
            self.register_per_address_per_min,
            self.rate_limit_keys,
            self.trust_forwarded_for,
            self.max_connections,
            self.max_connections_per_address,
            self.first_request_timeout_ms,
            self.keep_alive_timeout_ms,
            self.write_stall_timeout_ms,
            self.max_streams_per_session,
            self.max_streams_per_user,
            self.ops_listen
                .map_or_else(|| "none".to_owned(), |addr| addr.to_string()),
            self.session_sweep_ms,
        )
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::Config;

    fn parse(args: &[&str]) -> LimitsConfig {
        Config::try_parse_from(std::iter::once("game-server").chain(args.iter().copied()))
            .expect("valid flags")
            .limits
    }

    #[test]
    fn flags_set_the_limits_and_zeros_are_refused() {
        let limits = parse(&[
            "--hash-threads",
            "3",
            "--hash-queue",
            "0",
            "--rate-limits",
            "off",
            "--login-per-account-per-min",
            "7",
            "--trust-forwarded-for",
            "--max-connections-per-address",
            "9",
            "--ops-listen",
            "127.0.0.1:9100",
        ]);
        assert_eq!(limits.hash_threads(), 3);
        assert_eq!(limits.hash_queue, 0);
        assert_eq!(limits.rate_limits, Switch::Off);
        assert_eq!(limits.login_per_account_per_min, 7);
        assert!(limits.trust_forwarded_for);
        assert_eq!(limits.max_connections_per_address, 9);
        assert_eq!(
            limits.ops_listen,
            Some("127.0.0.1:9100".parse().expect("addr"))
        );
        assert_eq!(limits.validate(), Ok(()));
        assert_eq!(
            parse(&["--login-per-account-per-min", "0"]).validate(),
            Err(LimitsError::ZeroRate("--login-per-account-per-min"))
        );
        assert_eq!(
            parse(&["--max-connections", "0"]).validate(),
            Err(LimitsError::ZeroCap("--max-connections"))
        );
        assert_eq!(
            parse(&["--first-request-timeout-ms", "0"]).validate(),
            Err(LimitsError::ZeroTimeout("--first-request-timeout-ms"))
        );
        assert!(parse(&["--hash-threads", "0"]).hash_threads() >= 1);
    }

    #[test]
    fn defaults_are_documented_values() {
        let limits = LimitsConfig::default();
        assert_eq!(
            (
                limits.hash_queue,
                limits.login_per_address_per_min,
                limits.login_per_account_address_per_min,
                limits.login_per_account_per_min,
                limits.register_per_address_per_min,
                limits.rate_limit_keys,
            ),
            (16, 30, 5, 20, 3, 50_000)
        );
        assert_eq!(
            (
                limits.write_stall_timeout_ms,
                limits.max_streams_per_session,
                limits.max_streams_per_user
            ),
            (30_000, 2, 4)
        );
        assert_eq!(
            (limits.max_connections, limits.max_connections_per_address),
            (2_000, 64)
        );
        assert_eq!(
            (
                limits.first_request_timeout_ms,
                limits.keep_alive_timeout_ms,
                limits.session_sweep_ms
            ),
            (5_000, 30_000, 600_000)
        );
        assert_eq!(limits.rate_limits, Switch::On);
        assert!(!limits.trust_forwarded_for && limits.ops_listen.is_none());
    }
}
