//! Token-bucket rate limits on login and registration (the `governor` crate), in tables of
//! bounded size ([`super::lru_store`]).
//!
//! A login takes a token from its client address's bucket, then either from its known
//! device's bucket (a device that signed in to the account before, docs/limits.md) or
//! from the strict bucket of (account, client address) and the looser account-wide one.
//! So guessers elsewhere can slow an account's new devices, never its known ones.
//! Registrations are counted per client address.
//!
//! Accounts and devices are keyed by a keyed hash (random per process) of the normalised
//! name or the device id: every key is a few bytes whatever the client sent, and the
//! names themselves are never kept. [`RateLimits::sweep`] (run periodically) forgets the
//! buckets that are full again.

use std::fmt;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{Quota, RateLimiter};

use crate::metrics::Exposition;

use super::config::{LimitsConfig, LimitsError};
use super::lru_store::LruStateStore;

type Keyed<K> = RateLimiter<K, LruStateStore<K>, DefaultClock>;

/// An account as the limiters know it: a keyed hash of its name's uniqueness key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountKey(u64);

/// A known device as the limiters know it: a keyed hash of its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceKey(u64);

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Logins from one client address.
    LoginAddress,
    /// Logins for one account from one client address.
    LoginAccountAddress,
    /// Logins for one account from anywhere but its known devices.
    LoginAccount,
    /// Logins from one known device.
    LoginDevice,
    /// Registrations from one client address.
    RegisterAddress,
}

impl Limit {
    const ALL: [Limit; 5] = [
        Limit::LoginAddress,
        Limit::LoginAccountAddress,
        Limit::LoginAccount,
        Limit::LoginDevice,
        Limit::RegisterAddress,
    ];

    /// The metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Limit::LoginAddress => "login_address",
            Limit::LoginAccountAddress => "login_account_address",
            Limit::LoginAccount => "login_account",
            Limit::LoginDevice => "login_device",
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

/// One login as the limiters count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginAttempt {
    /// The client address.
    pub address: IpAddr,
    /// The account it is for.
    pub account: AccountKey,
    /// The device, if it signed in to this account before.
    pub device: Option<DeviceKey>,
}

/// The limits, or none when `--rate-limits off`.
pub struct RateLimits {
    limiters: Option<Limiters>,
    keys: RandomState,
    refused: [AtomicU64; 5],
}

struct Limiters {
    login_address: Keyed<IpAddr>,
    login_account_address: Keyed<(AccountKey, IpAddr)>,
    login_account: Keyed<AccountKey>,
    login_device: Keyed<DeviceKey>,
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

fn keyed<K: Hash + Eq + Clone>(per_min: std::num::NonZeroU32, capacity: NonZeroUsize) -> Keyed<K> {
    RateLimiter::new(
        Quota::per_minute(per_min),
        LruStateStore::new(capacity),
        DefaultClock::default(),
    )
}

impl RateLimits {
    /// The limits `config` asks for.
    pub fn new(config: &LimitsConfig) -> Result<RateLimits, LimitsError> {
        let [address, account_address, account, register] = config.rates()?;
        let capacity = config.rate_limit_capacity()?;
        let limiters = (config.rate_limits == crate::switch::Switch::On).then(|| Limiters {
            login_address: keyed(address, capacity),
            login_account_address: keyed(account_address, capacity),
            login_account: keyed(account, capacity),
            // A known device is its owner's: it gets the per-address rate wherever it is.
            login_device: keyed(address, capacity),
            register_address: keyed(register, capacity),
            clock: DefaultClock::default(),
        });
        Ok(RateLimits {
            limiters,
            keys: RandomState::new(),
            refused: Default::default(),
        })
    }

    /// The limiters' key for the account whose name has uniqueness key `name_key`.
    pub fn account(&self, name_key: &str) -> AccountKey {
        AccountKey(self.keys.hash_one(name_key))
    }

    /// The limiters' key for the device with id `device`.
    pub fn device(&self, device: u128) -> DeviceKey {
        DeviceKey(self.keys.hash_one(device))
    }

    /// Takes a token from each bucket `attempt` counts against (see the module docs).
    pub fn check_login(&self, attempt: LoginAttempt) -> Result<(), RateLimited> {
        let LoginAttempt {
            address,
            account,
            device,
        } = attempt;
        self.check(Limit::LoginAddress, |l| &l.login_address, address)?;
        match device {
            Some(device) => self.check(Limit::LoginDevice, |l| &l.login_device, device),
            None => {
                self.check(
                    Limit::LoginAccountAddress,
                    |l| &l.login_account_address,
                    (account, address),
                )?;
                self.check(Limit::LoginAccount, |l| &l.login_account, account)
            }
        }
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
        pick(limiters).check_key(&key).map_err(|not_until| {
            self.refused[limit as usize].fetch_add(1, Ordering::Relaxed);
            RateLimited {
                limit,
                retry_after: not_until.wait_time_from(limiters.clock.now()),
            }
        })
    }

    /// Forgets keys whose bucket is full again.
    pub fn sweep(&self) {
        if let Some(l) = &self.limiters {
            l.login_address.retain_recent();
            l.login_account_address.retain_recent();
            l.login_account.retain_recent();
            l.login_device.retain_recent();
            l.register_address.retain_recent();
        }
    }

    /// Keys held now, per limit in the order of [`Limit`] (0 when off).
    pub fn keys(&self) -> [usize; 5] {
        self.limiters.as_ref().map_or([0; 5], |l| {
            [
                l.login_address.len(),
                l.login_account_address.len(),
                l.login_account.len(),
                l.login_device.len(),
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
            "Keys (addresses, accounts, devices) the rate limiters remember now, by limit.",
            "limit",
            Limit::ALL.map(Limit::label).into_iter().zip(self.keys()),
        );
    }
}

#[cfg(test)]
mod tests;
