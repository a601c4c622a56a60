//! The send engine: every greeting handed to it goes out at most once, in
//! order, within the rate, and each outcome is recorded in the ledger.
//!
//! The [`Dispatcher`] owns the send loop — the ledger reservation and the
//! outcome, the rate limiter, retries of temporary refusals, the stop policy
//! (an account refused, five refusals in a row, a signal) — and nothing
//! about the terminal. What it works with is passed in: the transport, the
//! ledger, the clock and the stop flag; so the loop runs the same in `greet
//! send` and in tests in simulated time.
//!
//! Greetings are offered one by one as they are rendered ([`Dispatcher::offer`]),
//! so memory holds one message, not the run. The outcome of message k is
//! committed with the reservation of message k+1 (one durable commit per
//! message, [`Ledger::settle`]); before any wait (rate, retry) and at the end
//! the outcome in hand is committed alone, so the only greeting ever in
//! doubt after a crash is the one whose reply had not been recorded.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lettre::address::Envelope;

use crate::exit::Exit;
use crate::ledger::{Ledger, Next, Outcome, Reservation, State};
use crate::message::GreetingKey;
use crate::rate::{Limiter, Rate};
use crate::render::header_value;
use crate::report;
use crate::transport::{Deliver, Delivery};

/// One composed greeting, ready to go.
pub struct Greeting {
    pub key: GreetingKey,
    /// The recipient as greeted (recorded in the ledger).
    pub to: String,
    /// "Μαρία Παπαδοπούλου", for progress and the summary.
    pub name: String,
    pub envelope: Envelope,
    pub bytes: Vec<u8>,
    /// The outbox file name.
    pub file: String,
    /// The gift code the message carries, recorded with its reservation.
    pub gift: Option<crate::ledger::GiftRecord>,
}

/// Time as the dispatcher sees it: the real clock in `greet send`, a
/// simulated one in tests (a 100-message rate test takes milliseconds).
pub trait Clock {
    /// Time since the run started.
    fn now(&self) -> Duration;
    /// Wait `d`, returning early when `stop` is raised.
    fn sleep(&mut self, d: Duration, stop: &AtomicBool);
}

/// The machine's monotonic clock.
pub struct RealClock(Instant);

impl RealClock {
    pub fn new() -> RealClock {
        RealClock(Instant::now())
    }
}

impl Default for RealClock {
    fn default() -> Self {
        RealClock::new()
    }
}

impl Clock for RealClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
    fn sleep(&mut self, d: Duration, stop: &AtomicBool) {
        let until = Instant::now() + d;
        while !stop.load(Ordering::Relaxed) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }
}

/// A stop flag raised by SIGTERM (systemd stopping the unit, a shutdown),
/// SIGINT (Ctrl-C) and SIGHUP: the message in hand is finished and recorded,
/// then the run stops; the rest stay due for the next run.
pub fn stop_on_signals() -> anyhow::Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [SIGTERM, SIGINT, SIGHUP] {
        signal_hook::flag::register(signal, Arc::clone(&flag))?;
    }
    Ok(flag)
}

/// How the run behaves; `greet send` fills it from the config and flags.
#[derive(Debug, Clone)]
pub struct Policy {
    pub rate: Rate,
    /// At most this many greetings handed to the transport in this run.
    pub cap: usize,
    /// `--retry-uncertain`.
    pub retry_uncertain: bool,
    /// Tries for a temporary refusal (the first included).
    pub attempts: u32,
    /// The wait before retry n is `backoff × n`.
    pub backoff: Duration,
    /// Stop when this many messages in a row are refused for good.
    pub refusals_in_a_row: usize,
    /// The domain of the Message-ID.
    pub domain: String,
    /// How many greetings are expected (for "N not sent yet" on a stop).
    pub expected: usize,
}

impl Policy {
    pub fn new(rate: Rate, domain: &str) -> Policy {
        Policy {
            rate,
            cap: usize::MAX,
            retry_uncertain: false,
            attempts: 3,
            backoff: retry_delay(),
            refusals_in_a_row: 5,
            domain: domain.to_string(),
            expected: 0,
        }
    }
}

/// The wait before the first retry: two seconds.
#[cfg(not(feature = "test-hooks"))]
fn retry_delay() -> Duration {
    Duration::from_secs(2)
}

/// A test build may shorten the retry wait with `GREET_RETRY_DELAY_MS`; the
/// release binary has no such hook.
#[cfg(feature = "test-hooks")]
fn retry_delay() -> Duration {
    std::env::var("GREET_RETRY_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_secs(2), Duration::from_millis)
}

/// Fault injection for the crash tests (a test build only): die as a power
/// cut would, after the server's reply and before it is recorded.
#[cfg(feature = "test-hooks")]
fn crash_after_reply() -> bool {
    std::env::var_os("GREET_TEST_KILL_AFTER_REPLY").is_some()
}

#[cfg(not(feature = "test-hooks"))]
fn crash_after_reply() -> bool {
    false
}

/// What the run did, for the summary.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub sent: usize,
    /// Found already sent when reserved (another run got there first).
    pub already: usize,
    /// Found uncertain or failed when reserved.
    pub skipped: usize,
    pub deferred: Vec<String>,
    pub failed: Vec<String>,
    pub uncertain: Vec<String>,
}

/// Why the run stopped before the end, and the exit code that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    pub exit: Exit,
    pub why: String,
}

/// What comes of offering a greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Offer the next one.
    More,
    /// The run is over (stopped, or the cap is reached): offer nothing more.
    Done,
}

/// What the terminal shows while sending (nothing, in a test).
pub trait Watch {
    fn sending(&mut self, _name: &str) {}
    fn waiting(&mut self, _wait: Duration) {}
    fn handled(&mut self) {}
}

impl Watch for () {}

pub struct Dispatcher<'a> {
    transport: &'a mut dyn Deliver,
    ledger: &'a Ledger,
    clock: &'a mut dyn Clock,
    stop: &'a AtomicBool,
    watch: &'a mut dyn Watch,
    policy: Policy,
    limiter: Limiter,
    /// The outcome in hand, committed with the next reservation.
    pending: Option<(GreetingKey, Outcome)>,
    handed: usize,
    offered: usize,
    rejected_in_a_row: usize,
    tally: Tally,
    stopped: Option<Stop>,
    started: bool,
}

impl<'a> Dispatcher<'a> {
    pub fn new(
        transport: &'a mut dyn Deliver,
        ledger: &'a Ledger,
        clock: &'a mut dyn Clock,
        stop: &'a AtomicBool,
        watch: &'a mut dyn Watch,
        policy: Policy,
    ) -> Dispatcher<'a> {
        Dispatcher {
            transport,
            ledger,
            clock,
            stop,
            watch,
            limiter: Limiter::new(policy.rate),
            policy,
            pending: None,
            handed: 0,
            offered: 0,
            rejected_in_a_row: 0,
            tally: Tally::default(),
            stopped: None,
            started: false,
        }
    }

    /// Keep a greeting the spacing rule left out as `spaced` in the ledger
    /// (see [`Ledger::record_spaced`]).
    pub fn record_spaced(
        &self,
        key: &GreetingKey,
        recipient: &str,
        why: &str,
    ) -> anyhow::Result<bool> {
        self.ledger.record_spaced(key, recipient, why)
    }

    /// Connect (and authenticate) before the first greeting is marked as
    /// being sent: an unreachable server or a refused account changes nothing.
    pub fn start(&mut self) -> Flow {
        self.started = true;
        let mut attempt = 1;
        loop {
            match self.transport.prepare() {
                Ok(()) => return Flow::More,
                Err(Delivery::Transient(_)) if attempt < self.policy.attempts => {
                    self.clock.sleep(self.policy.backoff * attempt, self.stop);
                    attempt += 1;
                }
                Err(d) => {
                    // Before any greeting, a temporary refusal means "not now".
                    let d = match d {
                        Delivery::Transient(r) if r.code != Some(421) => Delivery::Unreachable(r),
                        d => d,
                    };
                    let (_, stop) = self.judge(d, "");
                    self.stopped = stop;
                    return Flow::Done;
                }
            }
        }
    }

    /// Hand one greeting to the transport — unless the ledger already has
    /// it, the cap is reached or the run has stopped — and keep its outcome.
    pub fn offer(&mut self, g: Greeting) -> anyhow::Result<Flow> {
        if !self.started && self.start() == Flow::Done {
            return Ok(Flow::Done);
        }
        if self.stopped.is_some() || self.handed >= self.policy.cap {
            return Ok(Flow::Done);
        }
        self.offered += 1;
        let wait = self.limiter.wait(self.clock.now());
        if !wait.is_zero() {
            // Nothing is left in hand while waiting.
            self.flush()?;
            self.watch.waiting(wait);
            self.clock.sleep(wait, self.stop);
        }
        if self.stop.load(Ordering::Relaxed) {
            let left = self.policy.expected.saturating_sub(self.offered - 1).max(1);
            self.stopped = Some(Stop {
                exit: Exit::TryLater,
                why: format!(
                    "stopped by a signal: {} not sent yet, still due for the next run",
                    report::count(left, "greeting", "greetings")
                ),
            });
            return Ok(Flow::Done);
        }
        self.watch.sending(&g.name);
        let message_id = g.key.message_id(&self.policy.domain);
        let done = self.pending.take();
        let reservation = self
            .ledger
            .settle(
                done.as_ref().map(|(k, o)| (k, o)),
                Some(Next {
                    key: &g.key,
                    recipient: &g.to,
                    message_id: &message_id,
                    retry_uncertain: self.policy.retry_uncertain,
                    gift: g.gift.as_ref(),
                }),
            )?
            .expect("a reservation was asked for");
        match reservation {
            Reservation::Go => {}
            Reservation::Skip(State::Sent) => {
                self.tally.already += 1;
                self.watch.handled();
                return Ok(Flow::More);
            }
            Reservation::Skip(_) => {
                self.tally.skipped += 1;
                self.watch.handled();
                return Ok(Flow::More);
            }
        }
        self.handed += 1;
        let mut attempt = 1;
        let delivery = loop {
            match self.transport.deliver(&g.envelope, &g.bytes, &g.file) {
                Delivery::Transient(_)
                    if attempt < self.policy.attempts && !self.stop.load(Ordering::Relaxed) =>
                {
                    // The reservation is committed; nothing else is in hand.
                    self.clock.sleep(self.policy.backoff * attempt, self.stop);
                    attempt += 1;
                }
                other => break other,
            }
        };
        self.limiter.record(self.clock.now());
        if matches!(delivery, Delivery::Sent(_)) && crash_after_reply() {
            let _ = signal_hook::low_level::raise(signal_hook::consts::SIGKILL);
        }
        let who = format!("{} <{}>", g.name, g.to);
        let (outcome, stop) = self.judge(delivery, &who);
        self.pending = Some((g.key, outcome));
        self.watch.handled();
        if stop.is_some() {
            self.stopped = stop;
            self.flush()?;
            return Ok(Flow::Done);
        }
        if self.handed >= self.policy.cap {
            self.flush()?;
            return Ok(Flow::Done);
        }
        Ok(Flow::More)
    }

    /// Commit the outcome in hand, if any.
    fn flush(&mut self) -> anyhow::Result<()> {
        if let Some((key, outcome)) = self.pending.take() {
            self.ledger.settle(Some((&key, &outcome)), None)?;
        }
        Ok(())
    }

    /// Commit what is in hand and say what the run did.
    pub fn finish(mut self) -> anyhow::Result<(Tally, Option<Stop>)> {
        self.flush()?;
        Ok((self.tally, self.stopped))
    }

    /// What to record for a delivery, and whether the run must stop after it.
    fn judge(&mut self, delivery: Delivery, who: &str) -> (Outcome, Option<Stop>) {
        // 421: the service itself is closing; the rest would fare no better.
        let closing = delivery.service_unavailable();
        let reason = |reply: &str| header_value(reply);
        let tally = &mut self.tally;
        let stop = |exit, why: String| Some(Stop { exit, why });
        match delivery {
            Delivery::Sent(reply) => {
                let reply = reply.to_string();
                tally.sent += 1;
                self.rejected_in_a_row = 0;
                (Outcome::Sent { reply }, None)
            }
            Delivery::Permanent(reply) => {
                let reply = reply.to_string();
                tally.failed.push(format!("{who}: {}", reason(&reply)));
                self.rejected_in_a_row += 1;
                let n = self.policy.refusals_in_a_row;
                let halt = if self.rejected_in_a_row >= n {
                    stop(
                        Exit::Partial,
                        format!(
                            "stopped: the last {n} messages were all refused ({}) — likely a template or account problem",
                            reason(&reply)
                        ),
                    )
                } else {
                    None
                };
                (Outcome::Failed { reply }, halt)
            }
            Delivery::Transient(reply) => {
                let reply = reply.to_string();
                let halt = if closing {
                    stop(
                        Exit::TryLater,
                        format!(
                            "stopped: {} is not accepting mail now ({}) — nothing is lost, run again later",
                            self.transport.describe(),
                            reason(&reply)
                        ),
                    )
                } else {
                    None
                };
                if !who.is_empty() {
                    tally.deferred.push(format!("{who}: {}", reason(&reply)));
                }
                (Outcome::Deferred { reply }, halt)
            }
            Delivery::Uncertain(reply) => {
                let reply = reply.to_string();
                tally.uncertain.push(format!("{who}: {}", reason(&reply)));
                (Outcome::Uncertain { reply }, None)
            }
            // The three below are not the recipient's fault: the greeting goes
            // back to deferred, nobody is marked failed, and the run stops.
            Delivery::Halt(reply) => {
                let reply = reply.to_string();
                let why = format!(
                    "stopped: the server refuses this account: {}",
                    reason(&reply)
                );
                (Outcome::Deferred { reply }, stop(Exit::TryLater, why))
            }
            Delivery::Insecure(reply) => {
                let reply = reply.to_string();
                let why = format!(
                    "stopped: TLS could not be set up with {} ({}); nothing was sent in clear — check host, port, security and ca_file",
                    self.transport.describe(),
                    reason(&reply)
                );
                (Outcome::Deferred { reply }, stop(Exit::Failure, why))
            }
            Delivery::Unreachable(reply) => {
                let reply = reply.to_string();
                let why = format!(
                    "stopped: cannot reach {}: {} — nothing is lost, run again later",
                    self.transport.describe(),
                    reason(&reply)
                );
                (Outcome::Deferred { reply }, stop(Exit::TryLater, why))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Reply;
    use std::cell::Cell;
    use std::rc::Rc;

    /// Simulated time: sleeping advances it, and so does each delivery.
    struct SimClock {
        now: Rc<Cell<Duration>>,
    }

    impl Clock for SimClock {
        fn now(&self) -> Duration {
            self.now.get()
        }
        fn sleep(&mut self, d: Duration, _: &AtomicBool) {
            self.now.set(self.now.get() + d);
        }
    }

    type Answers = Box<dyn FnMut(usize, &str) -> Delivery>;

    /// A transport that answers from a script and notes when each message
    /// arrived (in simulated time); it takes `latency` per message.
    struct Script {
        now: Rc<Cell<Duration>>,
        latency: Duration,
        answers: Answers,
        calls: usize,
        arrived: Vec<(Duration, String)>,
        raise_after: Option<(usize, Arc<AtomicBool>)>,
    }

    impl Deliver for Script {
        fn describe(&self) -> String {
            "the script".into()
        }
        fn deliver(&mut self, envelope: &Envelope, _: &[u8], _: &str) -> Delivery {
            self.now.set(self.now.get() + self.latency);
            let to = envelope.to()[0].to_string();
            let answer = (self.answers)(self.calls, &to);
            self.calls += 1;
            if matches!(answer, Delivery::Sent(_)) {
                self.arrived.push((self.now.get(), to));
            }
            if let Some((n, flag)) = &self.raise_after
                && self.calls == *n
            {
                flag.store(true, Ordering::Relaxed);
            }
            answer
        }
    }

    fn greeting(i: usize) -> Greeting {
        let to = format!("c{i}@example.gr");
        let from: lettre::Address = "shop@example.gr".parse().unwrap();
        Greeting {
            key: GreetingKey {
                occasion: "christmas".into(),
                customer: to.clone(),
                occurrence: "2026-12-25".into(),
            },
            envelope: Envelope::new(Some(from), vec![to.parse().unwrap()]).unwrap(),
            name: format!("Customer {i}"),
            bytes: b"Subject: x\r\n\r\nhello\r\n".to_vec(),
            file: format!("{i}.eml"),
            to,
            gift: None,
        }
    }

    struct Bench {
        _dir: tempfile::TempDir,
        ledger: Ledger,
        now: Rc<Cell<Duration>>,
    }

    fn bench() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open(&dir.path().join("greet-ledger.sqlite")).unwrap();
        ledger.lock().unwrap();
        Bench {
            _dir: dir,
            ledger,
            now: Rc::new(Cell::new(Duration::ZERO)),
        }
    }

    fn script(b: &Bench, answers: impl FnMut(usize, &str) -> Delivery + 'static) -> Script {
        Script {
            now: Rc::clone(&b.now),
            latency: Duration::from_millis(20),
            answers: Box::new(answers),
            calls: 0,
            arrived: Vec::new(),
            raise_after: None,
        }
    }

    fn policy(rate: &str) -> Policy {
        let mut p = Policy::new(Rate::parse(rate).unwrap(), "example.gr");
        p.backoff = Duration::from_secs(2);
        p
    }

    fn run(
        b: &Bench,
        transport: &mut Script,
        policy: Policy,
        n: usize,
        stop: &AtomicBool,
    ) -> (Tally, Option<Stop>) {
        let mut clock = SimClock {
            now: Rc::clone(&b.now),
        };
        let mut quiet = ();
        let mut d = Dispatcher::new(transport, &b.ledger, &mut clock, stop, &mut quiet, policy);
        for i in 0..n {
            if d.offer(greeting(i)).unwrap() == Flow::Done {
                break;
            }
        }
        d.finish().unwrap()
    }

    fn states(b: &Bench) -> Vec<(String, State)> {
        let mut v: Vec<_> = b
            .ledger
            .history(None)
            .unwrap()
            .into_iter()
            .map(|e| (e.key.customer, e.state))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    #[test]
    fn a_hundred_greetings_at_30_a_minute_never_put_31_in_any_minute() {
        let b = bench();
        let mut t = script(&b, |_, _| Delivery::Sent(Reply::parse("250 ok")));
        let stop = AtomicBool::new(false);
        let (tally, stopped) = run(&b, &mut t, policy("30/minute"), 100, &stop);
        assert_eq!((tally.sent, stopped), (100, None));
        let times: Vec<Duration> = t.arrived.iter().map(|(t, _)| *t).collect();
        for (i, start) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .filter(|t| **t - *start < Duration::from_secs(60))
                .count();
            assert!(
                in_window <= 30,
                "{in_window} in the minute from message {i}"
            );
        }
        // Messages 31, 61 and 91 each wait for a window to pass: 3 minutes.
        assert!(times[99] >= Duration::from_secs(180), "{:?}", times[99]);
        assert!(times[99] < Duration::from_secs(181), "{:?}", times[99]);
        assert_eq!(
            states(&b).iter().filter(|(_, s)| *s == State::Sent).count(),
            100
        );
    }

    #[test]
    fn every_rate_holds_in_every_window() {
        for (rate, n) in [
            ("1/second", 10),
            ("7/minute", 40),
            ("500/hour", 1200),
            ("3/day", 10),
        ] {
            let b = bench();
            let parsed = Rate::parse(rate).unwrap();
            let mut t = script(&b, |_, _| Delivery::Sent(Reply::parse("250 ok")));
            let (tally, _) = run(&b, &mut t, policy(rate), n, &AtomicBool::new(false));
            assert_eq!(tally.sent, n, "{rate}");
            let times: Vec<Duration> = t.arrived.iter().map(|(t, _)| *t).collect();
            for (i, start) in times.iter().enumerate() {
                let in_window = times[i..]
                    .iter()
                    .filter(|t| **t - *start < parsed.per)
                    .count();
                assert!(
                    in_window <= parsed.count,
                    "{rate}: {in_window} from message {i}"
                );
            }
            // And no slower than the rate allows: the last message leaves
            // within one latency of the earliest possible time.
            let windows = ((n - 1) / parsed.count) as u32;
            assert!(
                times[n - 1] < parsed.per * windows + Duration::from_secs(1) * (n as u32),
                "{rate}"
            );
        }
    }

    #[test]
    fn a_temporary_refusal_is_retried_with_growing_waits_then_deferred() {
        let b = bench();
        // c1 is refused twice then accepted; c2 is always refused.
        let mut refused_c1 = 0;
        let mut t = script(&b, move |_, to| {
            if to.starts_with("c1@") && refused_c1 < 2 {
                refused_c1 += 1;
                return Delivery::Transient(Reply::parse("451 4.3.0 try later"));
            }
            if to.starts_with("c2@") {
                return Delivery::Transient(Reply::parse("451 4.3.0 try later"));
            }
            Delivery::Sent(Reply::parse("250 ok"))
        });
        let (tally, stopped) = run(
            &b,
            &mut t,
            policy("1000/second"),
            3,
            &AtomicBool::new(false),
        );
        assert_eq!(stopped, None);
        assert_eq!(tally.sent, 2);
        assert_eq!(
            tally.deferred,
            vec!["Customer 2 <c2@example.gr>: 451 4.3.0 try later"]
        );
        // c1: waits of 2 s and 4 s; c2: 2 s and 4 s again; 1 + 3 + 3 deliveries of 20 ms.
        assert_eq!(
            b.now.get(),
            Duration::from_secs(12) + Duration::from_millis(20 * 7)
        );
        assert_eq!(
            states(&b),
            vec![
                ("c0@example.gr".into(), State::Sent),
                ("c1@example.gr".into(), State::Sent),
                ("c2@example.gr".into(), State::Deferred),
            ]
        );
    }

    #[test]
    fn five_refusals_in_a_row_stop_the_run_and_the_rest_stay_unmarked() {
        let b = bench();
        let mut t = script(&b, |_, _| {
            Delivery::Permanent(Reply::parse("550 5.1.1 no such user"))
        });
        let (tally, stopped) = run(
            &b,
            &mut t,
            policy("1000/second"),
            20,
            &AtomicBool::new(false),
        );
        assert_eq!(tally.failed.len(), 5);
        assert_eq!(stopped.unwrap().exit, Exit::Partial);
        assert_eq!(states(&b).len(), 5);
        assert!(states(&b).iter().all(|(_, s)| *s == State::Failed));
    }

    #[test]
    fn an_account_refusal_stops_the_run_with_the_greeting_deferred() {
        let b = bench();
        let mut t = script(&b, |i, _| {
            if i == 2 {
                Delivery::Halt(Reply::parse("550 5.4.5 Daily sending quota exceeded"))
            } else {
                Delivery::Sent(Reply::parse("250 ok"))
            }
        });
        let (tally, stopped) = run(
            &b,
            &mut t,
            policy("1000/second"),
            10,
            &AtomicBool::new(false),
        );
        assert_eq!(tally.sent, 2);
        let stopped = stopped.unwrap();
        assert_eq!(stopped.exit, Exit::TryLater);
        assert!(stopped.why.contains("5.4.5"), "{}", stopped.why);
        assert_eq!(
            states(&b),
            vec![
                ("c0@example.gr".into(), State::Sent),
                ("c1@example.gr".into(), State::Sent),
                ("c2@example.gr".into(), State::Deferred),
            ]
        );
    }

    #[test]
    fn a_421_stops_the_run_and_nothing_is_marked_failed() {
        let b = bench();
        let mut t = script(&b, |i, _| {
            if i == 0 {
                Delivery::Sent(Reply::parse("250 ok"))
            } else {
                Delivery::Transient(Reply::parse("421 4.7.0 closing"))
            }
        });
        let (tally, stopped) = run(
            &b,
            &mut t,
            policy("1000/second"),
            10,
            &AtomicBool::new(false),
        );
        assert_eq!((tally.sent, tally.deferred.len()), (1, 1));
        assert_eq!(stopped.unwrap().exit, Exit::TryLater);
        // The 421 was retried (3 tries), then the run stopped.
        assert_eq!(t.calls, 4);
        assert_eq!(states(&b)[1].1, State::Deferred);
    }

    #[test]
    fn a_signal_finishes_the_message_in_hand_and_leaves_the_rest_due() {
        let b = bench();
        let stop = Arc::new(AtomicBool::new(false));
        let mut t = script(&b, |_, _| Delivery::Sent(Reply::parse("250 ok")));
        t.raise_after = Some((3, Arc::clone(&stop)));
        let mut p = policy("1000/second");
        p.expected = 10;
        let (tally, stopped) = run(&b, &mut t, p, 10, &stop);
        assert_eq!(tally.sent, 3);
        let stopped = stopped.unwrap();
        assert_eq!(stopped.exit, Exit::TryLater);
        assert!(
            stopped.why.contains("7 greetings not sent yet"),
            "{}",
            stopped.why
        );
        assert_eq!(states(&b).len(), 3);
        assert!(states(&b).iter().all(|(_, s)| *s == State::Sent));
    }

    #[test]
    fn a_signal_during_a_rate_wait_ends_the_wait() {
        let b = bench();
        let stop = AtomicBool::new(false);
        let mut t = script(&b, |_, _| Delivery::Sent(Reply::parse("250 ok")));
        struct Stopper<'s>(Rc<Cell<Duration>>, &'s AtomicBool);
        impl Clock for Stopper<'_> {
            fn now(&self) -> Duration {
                self.0.get()
            }
            fn sleep(&mut self, d: Duration, _: &AtomicBool) {
                // A signal arrives one second into the wait.
                self.0.set(self.0.get() + d.min(Duration::from_secs(1)));
                self.1.store(true, Ordering::Relaxed);
            }
        }
        let mut clock = Stopper(Rc::clone(&b.now), &stop);
        let mut quiet = ();
        let mut d = Dispatcher::new(
            &mut t,
            &b.ledger,
            &mut clock,
            &stop,
            &mut quiet,
            policy("2/hour"),
        );
        let mut flows = Vec::new();
        for i in 0..5 {
            flows.push(d.offer(greeting(i)).unwrap());
        }
        let (tally, stopped) = d.finish().unwrap();
        assert_eq!(
            flows,
            [Flow::More, Flow::More, Flow::Done, Flow::Done, Flow::Done]
        );
        assert_eq!(tally.sent, 2);
        assert_eq!(stopped.unwrap().exit, Exit::TryLater);
        assert!(b.now.get() < Duration::from_secs(2));
    }

    #[test]
    fn the_ledger_is_committed_once_per_message_and_before_any_wait() {
        // Whatever point the run is at, every message the transport accepted
        // is either recorded `sent` or is the one in hand (still `sending`).
        let b = bench();
        let ledger_path = b._dir.path().join("greet-ledger.sqlite");
        let seen = Rc::new(std::cell::RefCell::new(Vec::new()));
        let seen_in = Rc::clone(&seen);
        let reader = Rc::new(Ledger::open_read_only(&ledger_path).unwrap());
        let r = Rc::clone(&reader);
        let mut t = script(&b, move |i, _| {
            // What another process reading the ledger sees as message i goes out.
            let h = r.history(None).unwrap();
            let sending = h.iter().filter(|e| e.state == State::Sending).count();
            let sent = h.iter().filter(|e| e.state == State::Sent).count();
            seen_in.borrow_mut().push((i, sent, sending));
            Delivery::Sent(Reply::parse("250 ok"))
        });
        let (tally, _) = run(
            &b,
            &mut t,
            policy("1000/second"),
            6,
            &AtomicBool::new(false),
        );
        assert_eq!(tally.sent, 6);
        // Message i is reserved (sending) together with the outcome of i-1.
        let want: Vec<_> = (0..6).map(|i| (i, i, 1)).collect();
        assert_eq!(*seen.borrow(), want);
        assert!(states(&b).iter().all(|(_, s)| *s == State::Sent));
    }

    #[test]
    fn the_cap_stops_after_that_many_handed_over_not_counting_those_already_sent() {
        let b = bench();
        // c1 was sent by an earlier run.
        let k = greeting(1).key;
        b.ledger.reserve(&k, "c1@example.gr", "<x>", false).unwrap();
        b.ledger
            .record(
                &k,
                &Outcome::Sent {
                    reply: "250".into(),
                },
            )
            .unwrap();
        let mut t = script(&b, |_, _| Delivery::Sent(Reply::parse("250 ok")));
        let mut p = policy("1000/second");
        p.cap = 3;
        let (tally, stopped) = run(&b, &mut t, p, 10, &AtomicBool::new(false));
        assert_eq!((tally.sent, tally.already, stopped), (3, 1, None));
        assert_eq!(t.calls, 3);
    }

    #[test]
    fn an_unreachable_server_changes_nothing_in_the_ledger() {
        let b = bench();
        struct Down;
        impl Deliver for Down {
            fn describe(&self) -> String {
                "down".into()
            }
            fn prepare(&mut self) -> Result<(), Delivery> {
                Err(Delivery::Transient(Reply::parse("connection refused")))
            }
            fn deliver(&mut self, _: &Envelope, _: &[u8], _: &str) -> Delivery {
                unreachable!("nothing is handed over")
            }
        }
        let mut clock = SimClock {
            now: Rc::clone(&b.now),
        };
        let stop = AtomicBool::new(false);
        let mut down = Down;
        let mut quiet = ();
        let mut d = Dispatcher::new(
            &mut down,
            &b.ledger,
            &mut clock,
            &stop,
            &mut quiet,
            policy("1/second"),
        );
        assert_eq!(d.offer(greeting(0)).unwrap(), Flow::Done);
        let (_, stopped) = d.finish().unwrap();
        assert_eq!(stopped.unwrap().exit, Exit::TryLater);
        assert!(states(&b).is_empty());
        // Three tries, waits of 2 s and 4 s.
        assert_eq!(b.now.get(), Duration::from_secs(6));
    }
}
