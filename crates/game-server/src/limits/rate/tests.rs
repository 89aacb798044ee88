//! The login and registration limits, bucket by bucket.

use super::*;

fn limits(per_min: u32) -> RateLimits {
    RateLimits::new(&LimitsConfig {
        login_per_address_per_min: per_min,
        login_per_account_address_per_min: per_min,
        login_per_account_per_min: per_min,
        register_per_address_per_min: per_min,
        ..LimitsConfig::default()
    })
    .expect("limits")
}

fn ip(n: u32) -> IpAddr {
    IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n))
}

#[test]
fn a_burst_then_refusals_with_the_time_to_wait() {
    let limits = limits(2);
    assert_eq!(limits.check_register(ip(1)), Ok(()));
    assert_eq!(limits.check_register(ip(1)), Ok(()));
    let refused = limits.check_register(ip(1)).expect_err("third is refused");
    assert_eq!(refused.limit, Limit::RegisterAddress);
    // One token every 30 s.
    assert!(refused.retry_after > Duration::from_secs(29), "{refused:?}");
    assert!(
        refused.retry_after <= Duration::from_secs(30),
        "{refused:?}"
    );
    assert_eq!(limits.check_register(ip(2)), Ok(()));
    assert_eq!(limits.refused(Limit::RegisterAddress), 1);
    assert_eq!(limits.keys(), [0, 0, 0, 0, 2]);
}

#[test]
fn guessers_use_up_the_account_but_not_its_known_device() {
    // The defaults: 30 per address, 5 per (account, address), 20 per account.
    let limits = RateLimits::new(&LimitsConfig::default()).expect("limits");
    let account = limits.account("alice");
    let attempt = |address, device| LoginAttempt {
        address,
        account,
        device,
    };
    // One guesser address: 5, then its strict bucket refuses.
    for _ in 0..5 {
        assert_eq!(limits.check_login(attempt(ip(1), None)), Ok(()));
    }
    let strict = limits.check_login(attempt(ip(1), None)).expect_err("6th");
    assert_eq!(strict.limit, Limit::LoginAccountAddress);
    // Three more addresses use up the account-wide 20.
    for n in 2..=4 {
        for _ in 0..5 {
            assert_eq!(limits.check_login(attempt(ip(n), None)), Ok(()));
        }
    }
    let wide = limits.check_login(attempt(ip(5), None)).expect_err("21st");
    assert_eq!(wide.limit, Limit::LoginAccount);
    // The owner's known device, from anywhere, still gets in; another account too.
    let device = Some(limits.device(42));
    assert_eq!(limits.check_login(attempt(ip(6), device)), Ok(()));
    assert_eq!(limits.check_login(attempt(ip(1), device)), Ok(()));
    let bob = LoginAttempt {
        address: ip(5),
        account: limits.account("bob"),
        device: None,
    };
    assert_eq!(limits.check_login(bob), Ok(()));
    assert_eq!(limits.refused(Limit::LoginAccountAddress), 1);
    assert_eq!(limits.refused(Limit::LoginAccount), 1);
}

#[test]
fn keys_are_fixed_size_hashes_of_the_name() {
    let limits = limits(60);
    assert_eq!(limits.account("alice"), limits.account("alice"));
    assert_ne!(limits.account("alice"), limits.account("alicf"));
    assert_eq!(std::mem::size_of::<AccountKey>(), 8);
    assert_eq!(std::mem::size_of::<DeviceKey>(), 8);
}

#[test]
fn tables_stay_within_their_bound_under_100_000_distinct_names() {
    let limits = RateLimits::new(&LimitsConfig::default()).expect("limits");
    for n in 0..100_000 {
        let attempt = LoginAttempt {
            address: ip(n),
            account: limits.account(&format!("name-{n}")),
            device: None,
        };
        assert_eq!(limits.check_login(attempt), Ok(()));
        assert_eq!(limits.check_register(ip(n)), Ok(()));
    }
    // The default bound of docs/limits.md: 50,000 keys per table.
    assert_eq!(limits.keys(), [50_000, 50_000, 50_000, 0, 50_000]);
}

#[test]
fn sweeping_forgets_only_buckets_that_are_full_again() {
    let limits = limits(60);
    limits.check_register(ip(1)).expect("first");
    limits.sweep();
    // A token was taken less than a second ago: the address is remembered.
    assert_eq!(limits.keys(), [0, 0, 0, 0, 1]);
    // A thousand tokens a second: 10 ms after the one taken (a sleep lasts at least that),
    // the bucket is full again, so the sweep forgets it.
    let fast = self::limits(60_000);
    fast.check_register(ip(1)).expect("first");
    fast.check_register(ip(2)).expect("first");
    assert_eq!(fast.keys(), [0, 0, 0, 0, 2]);
    std::thread::sleep(Duration::from_millis(10));
    fast.sweep();
    assert_eq!(fast.keys(), [0, 0, 0, 0, 0]);
}

#[test]
fn off_lets_everything_through() {
    let limits = RateLimits::new(&LimitsConfig {
        rate_limits: crate::switch::Switch::Off,
        register_per_address_per_min: 1,
        ..LimitsConfig::default()
    })
    .expect("limits");
    for _ in 0..10 {
        assert_eq!(limits.check_register(ip(1)), Ok(()));
    }
    assert_eq!(limits.keys(), [0; 5]);
}

/// What logs show of the limiter: only whether it is on (its keys are hashes of names
/// and addresses, which logs must not carry).
#[test]
fn debug_output_says_only_whether_it_is_on() {
    let off = RateLimits::new(&LimitsConfig {
        rate_limits: crate::switch::Switch::Off,
        ..LimitsConfig::default()
    })
    .expect("limits");
    assert_eq!(format!("{off:?}"), "RateLimits { enabled: false, .. }");
    assert_eq!(
        format!("{:?}", limits(1)),
        "RateLimits { enabled: true, .. }"
    );
}
