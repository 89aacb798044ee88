//! The hub: subscribing, opening an area, ending subscriptions, keep-alives and the
//! figures. Feeding it batches and refreshes is in [`super::route`].

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use game_domain::interest::{CellGrid, SpatialGrid, margin, max_speed, registration_radius};
use game_domain::world::WorldSnapshot;
use tokio::sync::{Notify, mpsc};

use super::area::{AreaContext, AreaState};
use super::event::{AreaEvent, Event};
use super::registry::{Cells, Subscriber, SubscriberState, Subscribers, lock};
use super::subscription::{Follow, HubLimits, HubStats, Refused, Subscription};

/// Cells of the fan-out grid, in world units: an area of the default radius covers about
/// 6 × 6 of them.
pub const ROUTE_CELL: f64 = 256.0;

/// Cells of the spatial grid that areas are computed with (openings, refreshes), in world
/// units: small enough that an area query looks at few objects, large enough that it
/// looks at few cells.
pub const GRID_CELL: f64 = 128.0;

/// How the hub routes: the speeds its registrations allow for, and what the next refresh
/// must look at.
#[derive(Debug, Default)]
pub(crate) struct Routing {
    /// The fastest speed seen (the margin is computed for it; it only grows).
    pub(crate) speed: f64,
    /// The speed every registration allows for since the last refresh.
    pub(crate) registered_speed: f64,
    /// When the last refresh ran.
    pub(crate) refreshed_ms: Option<i64>,
    /// Areas that were given changes since the last refresh.
    pub(crate) touched: Vec<Arc<Subscriber>>,
    /// The refresh count, to look at each area once per refresh.
    pub(crate) stamp: u64,
}

/// Fans the world's batches out to subscribers: whole-world subscribers share each
/// batch; area subscribers are registered in the cells of the grid their area covers and
/// only look at the changes of those cells (module docs).
pub struct FanoutHub {
    pub(crate) limits: HubLimits,
    /// The area refresh period the margins are computed for.
    pub(crate) tick: Duration,
    pub(crate) world_subscribers: Subscribers,
    pub(crate) area_subscribers: Subscribers,
    /// Areas waiting for their opening.
    pub(crate) pending: Subscribers,
    pub(crate) cells: Cells,
    pub(crate) grid: std::sync::OnceLock<CellGrid>,
    pub(crate) routing: Mutex<Routing>,
    closed: AtomicBool,
    next_id: AtomicU64,
    open: AtomicUsize,
    pub(crate) areas: AtomicUsize,
    /// Wakes the feeder when the hub closes.
    pub closing: Notify,
    opened: AtomicU64,
    pub(crate) cut_off: AtomicU64,
    pub(crate) batches: AtomicU64,
    pub(crate) version: AtomicU64,
}

impl std::fmt::Debug for FanoutHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FanoutHub")
            .field("limits", &self.limits)
            .field("open", &self.len())
            .finish()
    }
}

impl FanoutHub {
    /// A hub with no subscriber, for areas refreshed every `tick`.
    pub fn new(limits: HubLimits, tick: Duration) -> FanoutHub {
        FanoutHub {
            limits,
            tick,
            world_subscribers: Subscribers::new(),
            area_subscribers: Subscribers::new(),
            pending: Subscribers::new(),
            cells: Cells::new(),
            grid: std::sync::OnceLock::new(),
            routing: Mutex::default(),
            closed: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
            open: AtomicUsize::new(0),
            areas: AtomicUsize::new(0),
            closing: Notify::new(),
            opened: AtomicU64::new(0),
            cut_off: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            version: AtomicU64::new(0),
        }
    }

    /// The area refresh period.
    pub fn tick(&self) -> Duration {
        self.tick
    }

    /// Subscriptions open now.
    pub fn len(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// True when none is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when some subscription follows an area (the feeder then refreshes areas).
    pub fn has_areas(&self) -> bool {
        self.areas.load(Ordering::Relaxed) > 0
    }

    pub(crate) fn tick_ms(&self) -> i64 {
        i64::try_from(self.tick.as_millis()).unwrap_or(i64::MAX)
    }

    /// How long a registration stays good: two refresh periods (a refresh more than that
    /// after the last one looks at every area).
    pub(crate) fn horizon_ms(&self) -> i64 {
        self.tick_ms().saturating_mul(2)
    }

    pub(crate) fn grid_for(&self, world: &WorldSnapshot) -> CellGrid {
        *self
            .grid
            .get_or_init(|| CellGrid::new(world.size(), ROUTE_CELL))
    }

    /// Registers a subscription for the session `token_hash` (valid until `expires_ms`);
    /// what the hub sends from now on arrives on its queue. An area subscription then
    /// needs [`FanoutHub::open_area`].
    pub fn subscribe(
        &self,
        token_hash: String,
        expires_ms: i64,
        follow: Follow,
    ) -> Result<Subscription, Refused> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Refused::Closed);
        }
        if self.open.fetch_add(1, Ordering::AcqRel) >= self.limits.max_streams {
            self.open.fetch_sub(1, Ordering::AcqRel);
            // Subscriptions whose receiver left linger until the next send; drop them.
            self.end_departed();
            if self.open.fetch_add(1, Ordering::AcqRel) >= self.limits.max_streams {
                self.open.fetch_sub(1, Ordering::AcqRel);
                return Err(Refused::TooMany);
            }
        }
        let (queue, events) = mpsc::channel(self.limits.buffer.max(1));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let area = match follow {
            Follow::World => None,
            Follow::Area { ship, radius } => Some(AreaState::new(ship, radius)),
        };
        let is_area = area.is_some();
        let subscriber = Arc::new(Subscriber {
            id,
            token_hash,
            expires_ms,
            stamp: AtomicU64::new(0),
            touched: AtomicBool::new(false),
            batch: AtomicU64::new(0),
            group: AtomicUsize::new(0),
            state: Mutex::new(SubscriberState {
                queue: Some(queue),
                area,
            }),
        });
        if is_area {
            self.areas.fetch_add(1, Ordering::Relaxed);
            self.pending.insert(subscriber.clone());
            self.area_subscribers.insert(subscriber);
        } else {
            self.world_subscribers.insert(subscriber);
        }
        self.opened.fetch_add(1, Ordering::Relaxed);
        if self.closed.load(Ordering::Acquire) {
            // Closed meanwhile: close_all may have missed it.
            self.end_id(id);
            return Err(Refused::Closed);
        }
        Ok(Subscription { id, events })
    }

    /// Sends area subscription `id` its opening (what is near its ship in `world` at
    /// `now_ms`, then the batches that arrived since it subscribed) and registers it in
    /// the cells of its area. False, and it ends, when it cannot be opened (its ship is
    /// gone, its receiver is already behind, or it ended).
    pub fn open_area(&self, id: u64, world: &WorldSnapshot, now_ms: i64) -> bool {
        if self.pending.get(id).is_none() {
            return false;
        }
        {
            let mut routing = lock(&self.routing);
            routing.speed = routing.speed.max(max_speed(world.objects()));
        }
        let grid = SpatialGrid::build(world.objects(), world.size(), GRID_CELL, now_ms);
        self.open_area_in(id, world, &grid, now_ms)
    }

    /// [`FanoutHub::open_area`] with `grid`, the objects of `world` at `now_ms`, built once
    /// for many openings; in time proportional to the objects near the ship. Its margin
    /// allows for the fastest speed the hub has seen (in batches, refreshes and
    /// [`FanoutHub::open_area`]), not for a scan of `world`.
    pub fn open_area_in(
        &self,
        id: u64,
        world: &WorldSnapshot,
        grid: &SpatialGrid,
        now_ms: i64,
    ) -> bool {
        let Some(subscriber) = self.pending.get(id) else {
            return false;
        };
        let (margin_units, speed) = {
            let routing = lock(&self.routing);
            (margin(routing.speed, self.tick_ms()), routing.speed)
        };
        let ctx = AreaContext {
            world,
            now_ms,
            margin: margin_units,
        };
        let cells = self.grid_for(world);
        let sent = {
            let mut state = lock(&subscriber.state);
            let SubscriberState { queue, area } = &mut *state;
            match (queue, area) {
                (Some(queue), Some(area)) => match area.open(grid, &ctx) {
                    Some(events) => {
                        let sent = events
                            .into_iter()
                            .all(|event| queue.try_send(Event::Area(event)).is_ok());
                        if sent && let Some(center) = area.center(&ctx) {
                            let reach = registration_radius(
                                area.radius(),
                                margin_units,
                                speed,
                                self.horizon_ms(),
                            );
                            let rect = cells.cover(center, reach);
                            self.cells.move_to(&subscriber, None, Some(&rect));
                            area.cells = Some(rect);
                        }
                        sent
                    }
                    None => false,
                },
                _ => false,
            }
        };
        // Registered in its cells first, then no longer pending: a batch meanwhile finds
        // it one way or the other (and at most once: an area skips batches it had).
        self.pending.remove(id);
        if !sent {
            self.end_id(id);
        }
        sent
    }

    /// Queues `event` for `subscriber`; false when it must end (its queue is full: cut
    /// off, counted; or its receiver left).
    pub(crate) fn send(&self, state: &mut SubscriberState, event: Event) -> bool {
        let Some(queue) = &state.queue else {
            return false;
        };
        match queue.try_send(event) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.cut_off.fetch_add(1, Ordering::Relaxed);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Sends an area its events; false when it must end.
    pub(crate) fn send_area(&self, state: &mut SubscriberState, events: Vec<AreaEvent>) -> bool {
        events
            .into_iter()
            .all(|event| self.send(state, Event::Area(event)))
    }

    /// Ends subscription `id` (its queue ends after what is queued).
    pub(crate) fn end_id(&self, id: u64) {
        self.pending.remove(id);
        let removed = self
            .world_subscribers
            .remove(id)
            .or_else(|| self.area_subscribers.remove(id));
        if let Some(subscriber) = removed {
            self.open.fetch_sub(1, Ordering::AcqRel);
            let cells = {
                let mut state = lock(&subscriber.state);
                state.queue = None;
                let cells = state.area.as_mut().and_then(|area| area.cells.take());
                if state.area.is_some() {
                    self.areas.fetch_sub(1, Ordering::Relaxed);
                }
                cells
            };
            self.cells.move_to(&subscriber, cells.as_ref(), None);
        }
    }

    /// Every subscriber matching `keep`.
    pub(crate) fn all(&self, keep: impl Fn(&Subscriber) -> bool + Copy) -> Vec<Arc<Subscriber>> {
        let mut out = self.world_subscribers.collect(keep);
        out.extend(self.area_subscribers.collect(keep));
        out
    }

    fn end_departed(&self) {
        let departed = self.all(|s| {
            lock(&s.state)
                .queue
                .as_ref()
                .is_none_or(mpsc::Sender::is_closed)
        });
        for subscriber in departed {
            self.end_id(subscriber.id);
        }
    }

    /// Sends a keep-alive to every subscriber and ends those whose session expired by
    /// `now_ms` or whose receiver left.
    pub fn heartbeat(&self, now_ms: i64) {
        for subscriber in self.all(|_| true) {
            let alive = subscriber.expires_ms > now_ms
                && self.send(&mut lock(&subscriber.state), Event::Heartbeat);
            if !alive {
                self.end_id(subscriber.id);
            }
        }
    }

    /// Ends the subscriptions of a session (it was revoked); returns how many.
    pub fn close_session(&self, token_hash: &str) -> usize {
        let ended = self.all(|s| s.token_hash == token_hash);
        for subscriber in &ended {
            self.end_id(subscriber.id);
        }
        ended.len()
    }

    /// Ends every subscription open now, leaving the hub open (a process past its lease
    /// deadline may not go on telling anyone what its world looks like); returns how many.
    pub fn end_all(&self) -> usize {
        let ended = self.all(|_| true);
        for subscriber in &ended {
            self.end_id(subscriber.id);
        }
        ended.len()
    }

    /// [`FanoutHub::end_all`], telling each subscriber why first ([`Event::Ended`]).
    pub fn end_all_because(&self, reason: &'static str) -> usize {
        let ended = self.all(|_| true);
        for subscriber in &ended {
            let _ = self.send(&mut lock(&subscriber.state), Event::Ended(reason));
            self.end_id(subscriber.id);
        }
        ended.len()
    }

    /// Ends every subscription and refuses new ones (shutdown); stops the feeder.
    pub fn close_all(&self) {
        self.closed.store(true, Ordering::Release);
        for subscriber in self.all(|_| true) {
            self.end_id(subscriber.id);
        }
        self.closing.notify_waiters();
        self.closing.notify_one();
    }

    /// The figures, for metrics.
    pub fn stats(&self) -> HubStats {
        HubStats {
            open: self.len(),
            opened: self.opened.load(Ordering::Relaxed),
            cut_off: self.cut_off.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            version: self.version.load(Ordering::Relaxed),
        }
    }
}
