//! A sliding-window rate limit: no window of the configured length ever
//! holds more than the configured number of messages.
use std::collections::VecDeque;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: usize,
    pub per: Duration,
}

impl Rate {
    /// "30/minute", "500/hour", "1/second".
    pub fn parse(s: &str) -> Option<Rate> {
        let (n, unit) = s.trim().split_once('/')?;
        let count: usize = n.trim().parse().ok().filter(|n| *n > 0)?;
        let per = match unit.trim() {
            "second" | "s" => Duration::from_secs(1),
            "minute" | "min" | "m" => Duration::from_secs(60),
            "hour" | "h" => Duration::from_secs(3600),
            "day" | "d" => Duration::from_secs(86_400),
            _ => return None,
        };
        Some(Rate { count, per })
    }
}

/// "30/minute": the form `rate` is written in (a window `parse` cannot
/// name shows as "3 per 90s").
impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = match self.per {
            p if p == Duration::from_secs(1) => "second",
            p if p == Duration::from_secs(60) => "minute",
            p if p == Duration::from_secs(3600) => "hour",
            p if p == Duration::from_secs(86_400) => "day",
            per => return write!(f, "{} per {per:?}", self.count),
        };
        write!(f, "{}/{unit}", self.count)
    }
}

/// Times are durations since the run started (the dispatcher's clock).
pub struct Limiter {
    rate: Rate,
    sent: VecDeque<Duration>,
}

impl Limiter {
    pub fn new(rate: Rate) -> Self {
        Limiter {
            rate,
            sent: VecDeque::new(),
        }
    }

    /// How long to wait before the next message may go (zero if now).
    pub fn wait(&mut self, now: Duration) -> Duration {
        while self
            .sent
            .front()
            .is_some_and(|t| now.saturating_sub(*t) >= self.rate.per)
        {
            self.sent.pop_front();
        }
        if self.sent.len() < self.rate.count {
            return Duration::ZERO;
        }
        let oldest = self.sent.front().copied().unwrap_or(now);
        self.rate.per.saturating_sub(now.saturating_sub(oldest))
    }

    /// A message went out at `now`.
    pub fn record(&mut self, now: Duration) {
        self.sent.push_back(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        assert_eq!(
            Rate::parse("30/minute"),
            Some(Rate {
                count: 30,
                per: Duration::from_secs(60)
            })
        );
        assert_eq!(Rate::parse("500/hour").unwrap().count, 500);
        assert_eq!(Rate::parse("0/minute"), None);
        assert_eq!(Rate::parse("fast"), None);
    }

    #[test]
    fn every_unit_is_shown_in_the_form_it_is_written() {
        for (written, shown) in [
            ("30/minute", "30/minute"),
            ("30/min", "30/minute"),
            ("30/m", "30/minute"),
            (" 500 / hour ", "500/hour"),
            ("500/h", "500/hour"),
            ("1/second", "1/second"),
            ("2/s", "2/second"),
            ("1000/day", "1000/day"),
            ("7/d", "7/day"),
        ] {
            assert_eq!(
                Rate::parse(written).unwrap().to_string(),
                shown,
                "{written}"
            );
        }
        let odd = Rate {
            count: 3,
            per: Duration::from_secs(90),
        };
        assert_eq!(odd.to_string(), "3 per 90s");
    }

    proptest::proptest! {
        #[test]
        fn a_shown_rate_reads_back_as_the_same_rate(
            count in 1usize..10_000_000,
            unit in proptest::sample::select(vec!["second", "s", "minute", "min", "m", "hour", "h", "day", "d"]),
        ) {
            let rate = Rate::parse(&format!("{count}/{unit}")).unwrap();
            proptest::prop_assert_eq!(Rate::parse(&rate.to_string()), Some(rate));
            proptest::prop_assert_eq!(rate.count, count);
        }
    }

    #[test]
    fn no_window_holds_more_than_the_rate() {
        let rate = Rate {
            count: 30,
            per: Duration::from_secs(60),
        };
        let mut l = Limiter::new(rate);
        let start = Duration::ZERO;
        let mut now = start;
        let mut times = Vec::new();
        for _ in 0..100 {
            now += l.wait(now);
            l.record(now);
            times.push(now);
        }
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..].iter().filter(|u| **u - *t < rate.per).count();
            assert!(
                in_window <= 30,
                "{in_window} in the minute from message {i}"
            );
        }
        assert!(times[99] - start >= Duration::from_secs(180));
    }
}
