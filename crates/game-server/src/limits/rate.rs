//! Token-bucket rate limits on login and registration (the `governor` crate): logins per
//! client address and per account, registrations per client address.
//!
//! The keyed stores grow by one small entry per key seen; [`RateLimits::sweep`] (run
//! periodically, and whenever a store passes [`MAX_KEYS`]) drops the keys whose bucket
//! is full again, so memory stays bounded by the keys active within about a minute.

use std::fmt;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::metrics::Exposition;

use super::config::{LimitsConfig, LimitsError};

/// Keys one store may hold before a check sweeps it at once.
pub const MAX_KEYS: usize = 100_000;

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Logins from one client address.
    LoginAddress,
    /// Logins for one account.
    LoginAccount,
    /// Registrations from one client address.
    RegisterAddress,
}

impl Limit {
    const ALL: [Limit; 3] = [
        Limit::LoginAddress,
        Limit::LoginAccount,
        Limit::RegisterAddress,
    ];

    /// The metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Limit::LoginAddress => "login_address",
            Limit::LoginAccount => "login_account",
            Limit::RegisterAddress => "register_address",
        }
    }
}

/// A refused request: which limit, and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    /// The limit that refused it.
    pub limit: Limit,
    /// When the next request would be let through.
    pub retry_after: Duration,
}

impl fmt::Display for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rate limit {} reached", self.limit.label())
    }
}

/// The three limits, or none when `--rate-limits off`.
pub struct RateLimits {
    limiters: Option<Limiters>,
    refused: [AtomicU64; 3],
}

struct Limiters {
    login_address: Keyed<IpAddr>,
    login_account: Keyed<String>,
    register_address: Keyed<IpAddr>,
    clock: DefaultClock,
}

impl fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimits")
            .field("enabled", &self.limiters.is_some())
            .finish_non_exhaustive()
    }
}

impl RateLimits {
    /// The limits `config` asks for.
    pub fn new(config: &LimitsConfig) -> Result<RateLimits, LimitsError> {
        let [login_address, login_account, register_address] = config.rates()?;
        let limiters = (config.rate_limits == crate::config::Switch::On).then(|| Limiters {
            login_address: RateLimiter::keyed(Quota::per_minute(login_address)),
            login_account: RateLimiter::keyed(Quota::per_minute(login_account)),
            register_address: RateLimiter::keyed(Quota::per_minute(register_address)),
            clock: DefaultClock::default(),
        });
        Ok(RateLimits {
            limiters,
            refused: Default::default(),
        })
    }

    /// Takes a login token from the address's bucket.
    pub fn check_login_address(&self, address: IpAddr) -> Result<(), RateLimited> {
        self.check(Limit::LoginAddress, |l| &l.login_address, address)
    }

    /// Takes a login token from the account's bucket (`account` is the name's
    /// uniqueness key).
    pub fn check_login_account(&self, account: &str) -> Result<(), RateLimited> {
        self.check(
            Limit::LoginAccount,
            |l| &l.login_account,
            account.to_owned(),
        )
    }

    /// Takes a registration token from the address's bucket.
    pub fn check_register(&self, address: IpAddr) -> Result<(), RateLimited> {
        self.check(Limit::RegisterAddress, |l| &l.register_address, address)
    }

    fn check<K: Hash + Eq + Clone>(
        &self,
        limit: Limit,
        pick: impl FnOnce(&Limiters) -> &Keyed<K>,
        key: K,
    ) -> Result<(), RateLimited> {
        let Some(limiters) = &self.limiters else {
            return Ok(());
        };
        let limiter = pick(limiters);
        let outcome = limiter.check_key(&key);
        if limiter.len() > MAX_KEYS {
            limiter.retain_recent();
        }
        outcome.map_err(|not_until| {
            self.refused[limit as usize].fetch_add(1, Ordering::Relaxed);
            RateLimited {
                limit,
                retry_after: not_until.wait_time_from(limiters.clock.now()),
            }
        })
    }

    /// Forgets keys whose bucket is full again and returns the memory.
    pub fn sweep(&self) {
        if let Some(limiters) = &self.limiters {
            sweep(&limiters.login_address);
            sweep(&limiters.login_account);
            sweep(&limiters.register_address);
        }
    }

    /// Keys held now, per limit (0 when off).
    pub fn keys(&self) -> [usize; 3] {
        self.limiters.as_ref().map_or([0; 3], |l| {
            [
                l.login_address.len(),
                l.login_account.len(),
                l.register_address.len(),
            ]
        })
    }

    /// Requests refused so far by `limit`.
    pub fn refused(&self, limit: Limit) -> u64 {
        self.refused[limit as usize].load(Ordering::Relaxed)
    }

    /// Adds `spacewars_rate_limited_total` and `spacewars_rate_limit_keys`.
    pub fn write_metrics(&self, out: &mut Exposition) {
        out.counters(
            "spacewars_rate_limited_total",
            "Requests refused with 429 rate_limited, by limit.",
            "limit",
            Limit::ALL.map(|limit| (limit.label(), self.refused(limit))),
        );
        out.gauges(
            "spacewars_rate_limit_keys",
            "Addresses or accounts the rate limiters remember now, by limit.",
            "limit",
            Limit::ALL.map(Limit::label).into_iter().zip(self.keys()),
        );
    }
}

fn sweep<K: Hash + Eq + Clone>(limiter: &Keyed<K>) {
    limiter.retain_recent();
    limiter.shrink_to_fit();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_min: u32) -> RateLimits {
        RateLimits::new(&LimitsConfig {
            login_per_address_per_min: per_min,
            login_per_account_per_min: per_min,
            register_per_address_per_min: per_min,
            ..LimitsConfig::default()
        })
        .expect("limits")
    }

    #[test]
    fn a_burst_then_refusals_with_the_time_to_wait() {
        let limits = limits(2);
        let ip: IpAddr = [10, 0, 0, 1].into();
        assert_eq!(limits.check_register(ip), Ok(()));
        assert_eq!(limits.check_register(ip), Ok(()));
        let refused = limits.check_register(ip).expect_err("third is refused");
        assert_eq!(refused.limit, Limit::RegisterAddress);
        // One token every 30 s.
        assert!(refused.retry_after > Duration::from_secs(29), "{refused:?}");
        assert!(
            refused.retry_after <= Duration::from_secs(30),
            "{refused:?}"
        );
        assert_eq!(limits.check_register([10, 0, 0, 2].into()), Ok(()));
        assert_eq!(limits.check_login_address(ip), Ok(()));
        assert_eq!(limits.refused(Limit::RegisterAddress), 1);
        assert_eq!(limits.keys(), [1, 0, 2]);
    }

    #[test]
    fn sweeping_forgets_only_buckets_that_are_full_again() {
        // One token a minute: the bucket "a" took from is not full again at the sweep.
        let slow = limits(1);
        slow.check_login_account("a").expect("first");
        slow.sweep();
        assert_eq!(slow.keys(), [0, 1, 0]);
        // A thousand tokens a second: 10 ms after the one taken (a sleep lasts at least
        // that), the bucket is full again, so the sweep forgets it.
        let fast = limits(60_000);
        fast.check_login_account("a").expect("first");
        fast.check_login_account("b").expect("first");
        assert_eq!(fast.keys(), [0, 2, 0]);
        std::thread::sleep(Duration::from_millis(10));
        fast.sweep();
        assert_eq!(fast.keys(), [0, 0, 0]);
    }

    #[test]
    fn off_lets_everything_through() {
        let limits = RateLimits::new(&LimitsConfig {
            rate_limits: crate::config::Switch::Off,
            register_per_address_per_min: 1,
            ..LimitsConfig::default()
        })
        .expect("limits");
        for _ in 0..10 {
            assert_eq!(limits.check_register([10, 0, 0, 1].into()), Ok(()));
        }
        assert_eq!(limits.keys(), [0, 0, 0]);
    }
}
