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
