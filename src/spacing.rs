//! Never a storm: a customer gets at most one greeting within
//! `min_days_between` days (`[spacing]` in greet.toml).
//!
//! Which one, when two fall close together:
//! - a greeting that already went out (the ledger has it sent, bounced,
//!   uncertain or being sent) always stays — it cannot be unsent — and the
//!   others near it give way;
//! - among the rest, the occasion higher in `precedence` goes, then the
//!   earlier day; the one that loses is *spaced out*: not sent, and recorded
//!   in the ledger as `spaced` so it is never sent later either.
//!
//! Only dated occasions take part (birthday, anniversary, name day, and any
//! kind whose greeting is keyed by its day); campaigns are sent when the
//! owner runs them and are never spaced, nor do they space others.
//!
//! [`decide`] is the rule, pure; [`crate::pipeline`] feeds it, for each
//! customer due on a day a run covers, with what the ledger says went out
//! near that day, the run's other greetings to the customer, and the
//! greetings of the days still ahead (so a name day two days before a
//! birthday gives way to the birthday).
use std::collections::BTreeMap;

use chrono::NaiveDate;

/// `min_days_between` when greet.toml does not say: a week, so that two
/// greetings of the same week never both go ("birthday and name day in the
/// same week: the lower one is not sent").
pub const DEFAULT_MIN_DAYS: u32 = 7;

/// `[spacing]`, checked: how far apart greetings to one customer must be,
/// and the rank of every occasion that takes part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spacing {
    /// Two greetings to one customer are at least this many days apart; 0: off.
    pub min_days: u32,
    /// Occasion name → rank (0 goes first). Occasions not here (campaigns)
    /// are exempt.
    ranks: BTreeMap<String, usize>,
}

impl Spacing {
    /// Greetings are never spaced.
    pub fn off() -> Spacing {
        Spacing::default()
    }

    /// `ranked`: the occasions that take part, highest precedence first.
    pub fn new(min_days: u32, ranked: &[&str]) -> Spacing {
        Spacing {
            min_days,
            ranks: ranked
                .iter()
                .enumerate()
                .map(|(i, n)| (n.to_string(), i))
                .collect(),
        }
    }

    pub fn is_on(&self) -> bool {
        self.min_days > 0 && !self.ranks.is_empty()
    }

    /// The occasion's rank, `None` when it does not take part.
    pub fn rank(&self, occasion: &str) -> Option<usize> {
        self.ranks.get(occasion).copied()
    }

    /// The occasions that take part, highest precedence first.
    pub fn order(&self) -> Vec<&str> {
        let mut v: Vec<(&str, usize)> = self.ranks.iter().map(|(n, r)| (n.as_str(), *r)).collect();
        v.sort_by_key(|(_, r)| *r);
        v.into_iter().map(|(n, _)| n).collect()
    }

    /// Are two days too close for two greetings?
    pub fn too_close(&self, a: NaiveDate, b: NaiveDate) -> bool {
        (a - b).num_days().unsigned_abs() < u64::from(self.min_days)
    }

    /// The days whose greetings can space out one on `day`: `day` ± (min − 1).
    pub fn window(&self, day: NaiveDate) -> (NaiveDate, NaiveDate) {
        let reach = chrono::Days::new(u64::from(self.min_days.saturating_sub(1)));
        (
            day.checked_sub_days(reach).unwrap_or(day),
            day.checked_add_days(reach).unwrap_or(day),
        )
    }
}

/// One greeting to a customer the rule weighs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weighed {
    /// The occasion's rank in `precedence` (lower goes first).
    pub rank: usize,
    /// The day it is for.
    pub day: NaiveDate,
    /// It already went out (or may have): it stays, whatever its rank.
    pub went_out: bool,
}

/// For each greeting to one customer: `None` if it may go, or `Some(j)`,
/// the greeting it gives way to. Greetings that went out always stay; the
/// others are taken by precedence, then by day, and each is kept only if
/// no greeting kept before it is closer than `min_days` — so no two kept
/// greetings are ever closer than that.
pub fn decide(min_days: u32, greetings: &[Weighed]) -> Vec<Option<usize>> {
    let mut out = vec![None; greetings.len()];
    if min_days == 0 {
        return out;
    }
    let close =
        |a: NaiveDate, b: NaiveDate| (a - b).num_days().unsigned_abs() < u64::from(min_days);
    let mut kept: Vec<usize> = (0..greetings.len())
        .filter(|&i| greetings[i].went_out)
        .collect();
    let mut rest: Vec<usize> = (0..greetings.len())
        .filter(|&i| !greetings[i].went_out)
        .collect();
    rest.sort_by_key(|&i| (greetings[i].rank, greetings[i].day, i));
    for i in rest {
        match kept
            .iter()
            .copied()
            .find(|&j| close(greetings[i].day, greetings[j].day))
        {
            Some(j) => out[i] = Some(j),
            None => kept.push(i),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(n: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap() + chrono::Duration::days(n)
    }

    fn w(rank: usize, d: i64, went_out: bool) -> Weighed {
        Weighed {
            rank,
            day: day(d),
            went_out,
        }
    }

    #[test]
    fn the_higher_occasion_goes_and_the_lower_one_gives_way_to_it() {
        // Birthday (rank 0) on day 2, name day (rank 1) on day 0: the name day gives way.
        let got = decide(7, &[w(1, 0, false), w(0, 2, false)]);
        assert_eq!(got, [Some(1), None]);
    }

    #[test]
    fn a_greeting_that_went_out_stays_whatever_its_rank() {
        // The name day went out on day 0; the birthday on day 2 gives way to it.
        let got = decide(7, &[w(1, 0, true), w(0, 2, false)]);
        assert_eq!(got, [None, Some(0)]);
    }

    #[test]
    fn greetings_exactly_min_days_apart_both_go_and_zero_switches_the_rule_off() {
        assert_eq!(decide(3, &[w(0, 0, false), w(1, 3, false)]), [None, None]);
        assert_eq!(
            decide(3, &[w(0, 0, false), w(1, 2, false)]),
            [None, Some(0)]
        );
        assert_eq!(decide(0, &[w(0, 0, false), w(1, 0, false)]), [None, None]);
        // 1: at most one greeting a day.
        assert_eq!(
            decide(1, &[w(1, 0, false), w(0, 0, false), w(2, 1, false)]),
            [Some(1), None, None]
        );
    }

    #[test]
    fn a_spaced_greeting_does_not_space_out_another() {
        // Anniversary (2) on day 0, name day (1) on day 5, birthday (0) on day 8,
        // min 7: the birthday keeps, the name day gives way to it, and so the
        // anniversary (8 days from the birthday) goes.
        let got = decide(7, &[w(2, 0, false), w(1, 5, false), w(0, 8, false)]);
        assert_eq!(got, [None, Some(2), None]);
    }

    #[test]
    fn the_window_reaches_min_minus_one_days_each_way() {
        let s = Spacing::new(3, &["birthday"]);
        assert_eq!(s.window(day(10)), (day(8), day(12)));
        assert!(s.too_close(day(10), day(12)));
        assert!(!s.too_close(day(10), day(13)));
        assert_eq!(s.rank("birthday"), Some(0));
        assert_eq!(s.rank("christmas"), None);
        assert!(!Spacing::new(0, &["birthday"]).is_on());
    }

    /// Runs of `send --due` over `days` days: `events[k]` is the day of
    /// occasion k (its rank is its index modulo 3); greet runs on the days
    /// in `runs`, each covering the days since the run before (catch-up).
    /// Returns the greetings sent, as (event, day).
    fn simulate(min_days: u32, events: &[i64], runs: &[i64]) -> Vec<(usize, i64)> {
        let mut sent: Vec<(usize, i64)> = Vec::new();
        let mut handled = vec![false; events.len()];
        let mut covered_to = -1;
        for &today in runs {
            // What the run weighs: its candidates (the days it covers), the
            // ledger around them, and the greetings of the days ahead.
            let mut weighed = Vec::new();
            let mut which = Vec::new();
            for (k, &d) in events.iter().enumerate() {
                if !handled[k] && d > covered_to && d <= today {
                    weighed.push(w(k % 3, d, false));
                    which.push(Some(k));
                }
            }
            let candidates = weighed.len();
            for &(k, d) in &sent {
                weighed.push(w(k % 3, d, true));
                which.push(None);
            }
            for (k, &d) in events.iter().enumerate() {
                if d > today && d < today + i64::from(min_days) {
                    weighed.push(w(k % 3, d, false));
                    which.push(None);
                }
            }
            let got = decide(min_days, &weighed);
            for n in 0..candidates {
                let k = which[n].unwrap();
                handled[k] = true;
                if got[n].is_none() {
                    sent.push((k, events[k]));
                }
            }
            covered_to = today;
        }
        sent
    }

    proptest! {
        /// Day after day, with days missed and caught up: what was sent
        /// over the whole time is spaced, as the ledger would show it, and
        /// with the rule off every greeting of a covered day goes.
        #[test]
        fn runs_day_after_day_never_send_two_greetings_closer_than_min_days(
            min_days in 0u32..9,
            events in proptest::collection::vec(0i64..60, 0..8),
            gaps in proptest::collection::vec(1i64..4, 30..60),
        ) {
            let mut runs = Vec::new();
            let mut day = 0;
            for g in gaps {
                runs.push(day);
                day += g;
            }
            let last = *runs.last().unwrap();
            let sent = simulate(min_days, &events, &runs);
            for (n, a) in sent.iter().enumerate() {
                for b in &sent[n + 1..] {
                    prop_assert!((a.1 - b.1).unsigned_abs() >= u64::from(min_days), "{a:?} {b:?} in {sent:?}");
                }
            }
            if min_days == 0 {
                prop_assert_eq!(sent.len(), events.iter().filter(|&&d| d <= last).count());
            }
            // Nothing is lost for nothing: every greeting of a covered day
            // not sent has one sent within reach, or one of higher
            // precedence that was due within reach (and itself gave way).
            for (k, &d) in events.iter().enumerate() {
                if d > last || sent.iter().any(|&(s, _)| s == k) {
                    continue;
                }
                let near = |o: i64| (o - d).unsigned_abs() < u64::from(min_days);
                prop_assert!(
                    sent.iter().any(|&(_, s)| near(s))
                        || events.iter().enumerate().any(|(o, &od)| o != k && near(od)),
                    "event {k} on day {d} left out with nothing near: {sent:?}"
                );
            }
        }


        /// Whatever the greetings, ranks and days: no greeting that goes is
        /// closer than min_days to another that goes or that went out; every
        /// greeting that went out stays; each spaced greeting names a kept
        /// one that is too close to it; and nothing is spaced needlessly
        /// (a spaced greeting has a kept one within reach).
        #[test]
        fn no_two_greetings_that_go_are_closer_than_min_days(
            min_days in 0u32..10,
            raw in proptest::collection::vec((0usize..5, 0i64..40, proptest::bool::weighted(0.2)), 0..12),
        ) {
            // Greetings that went out are history: keep them apart from
            // each other, as an earlier run under the same rule would have.
            let mut greetings: Vec<Weighed> = Vec::new();
            for (rank, d, went_out) in raw {
                let g = w(rank, d, went_out);
                if went_out && greetings.iter().any(|o| o.went_out && (o.day - g.day).num_days().unsigned_abs() < u64::from(min_days)) {
                    continue;
                }
                greetings.push(g);
            }
            let got = decide(min_days, &greetings);
            let goes: Vec<usize> = (0..greetings.len()).filter(|&i| got[i].is_none()).collect();
            for (n, &a) in goes.iter().enumerate() {
                for &b in &goes[n + 1..] {
                    let apart = (greetings[a].day - greetings[b].day).num_days().unsigned_abs();
                    prop_assert!(apart >= u64::from(min_days), "{:?} and {:?} both go, {apart} days apart", greetings[a], greetings[b]);
                }
            }
            for (i, g) in greetings.iter().enumerate() {
                if g.went_out {
                    prop_assert_eq!(got[i], None);
                }
                if let Some(j) = got[i] {
                    prop_assert!(got[j].is_none(), "gave way to a spaced greeting");
                    prop_assert!((g.day - greetings[j].day).num_days().unsigned_abs() < u64::from(min_days));
                    // It gave way to one that went out or that ranks at least as high.
                    let winner = &greetings[j];
                    prop_assert!(winner.went_out || (winner.rank, winner.day) <= (g.rank, g.day));
                }
            }
            if min_days == 0 {
                prop_assert_eq!(goes.len(), greetings.len());
            }
        }
    }
}
