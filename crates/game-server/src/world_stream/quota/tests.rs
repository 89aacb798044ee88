//! The caps per session and per player.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

use super::*;

fn ended(ticket: &mut Ticket) -> bool {
    ticket
        .closed
        .try_recv()
        .is_err_and(|error| error == oneshot::error::TryRecvError::Closed)
}

#[test]
fn a_third_stream_of_a_session_closes_its_first() {
    let quota = StreamQuota::new(2, 4);
    let mut first = quota.open("s1", 7);
    let mut second = quota.open("s1", 7);
    assert!(!ended(&mut first) && !ended(&mut second));
    let mut third = quota.open("s1", 7);
    assert!(ended(&mut first));
    assert!(!ended(&mut second) && !ended(&mut third));
    assert_eq!(lock(&quota.open).streams.len(), 2);
    assert_eq!(quota.replaced.load(Ordering::Relaxed), 1);
    // The closed stream's ticket dropping later changes nothing.
    drop(first);
    assert_eq!(lock(&quota.open).streams.len(), 2);
}

#[test]
fn a_fifth_stream_of_a_player_closes_the_players_oldest() {
    let quota = StreamQuota::new(2, 4);
    let mut tickets: Vec<Ticket> = ["a", "a", "b", "b"]
        .into_iter()
        .map(|session| quota.open(session, 7))
        .collect();
    // Another player is not affected.
    let mut other = quota.open("z", 8);
    let mut fifth = quota.open("c", 7);
    let closed: Vec<bool> = tickets.iter_mut().map(ended).collect();
    assert_eq!(closed, [true, false, false, false]);
    assert!(!ended(&mut fifth) && !ended(&mut other));
    assert_eq!(lock(&quota.open).streams.len(), 5);
}

#[test]
fn closing_a_stream_gives_its_place_back() {
    let quota = StreamQuota::new(2, 4);
    let first = quota.open("s1", 7);
    let mut second = quota.open("s1", 7);
    drop(first);
    let mut third = quota.open("s1", 7);
    assert!(!ended(&mut second) && !ended(&mut third));
    assert_eq!(quota.replaced.load(Ordering::Relaxed), 0);
    drop((second, third));
    assert!(lock(&quota.open).streams.is_empty());
    assert!(lock(&quota.open).by_session.is_empty());
    assert!(lock(&quota.open).by_user.is_empty());
}

#[tokio::test]
async fn a_capped_body_ends_when_its_ticket_is_taken_back() {
    let quota = StreamQuota::new(1, 4);
    let body = Capped::new(
        Full::new(Bytes::from_static(b"never sent")),
        quota.open("s", 1),
    );
    let _newer = quota.open("s", 1);
    let collected = body.collect().await.expect("infallible").to_bytes();
    assert_eq!(collected, Bytes::new());
}
