//! `coverage/show`: event counters with their average rates over the last
//! 5 seconds, minute and hour, in OVS's format.
//!
//! The daemon samples its counters (cumulative totals) with
//! [`Coverage::sample`] every few seconds; this module keeps one sample per
//! 5-second slot for an hour and computes each rate as the growth over the
//! window divided by the window (so a counter younger than the window
//! averages over the whole window, as OVS's does). Pure: `now` is passed in.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

const SLOT: Duration = Duration::from_secs(5);
const HOUR: Duration = Duration::from_secs(3600);

/// Counter history.
#[derive(Clone, Debug, Default)]
pub struct Coverage {
    samples: VecDeque<(Duration, BTreeMap<String, u64>)>,
}

impl Coverage {
    /// An empty history.
    pub fn new() -> Self {
        Coverage::default()
    }

    /// Record the counters' totals at `now`. Samples closer than 5 s to the
    /// previous one replace it; samples older than an hour are dropped.
    pub fn sample(&mut self, now: Duration, counters: impl IntoIterator<Item = (String, u64)>) {
        let totals: BTreeMap<String, u64> = counters.into_iter().collect();
        // The newest sample is provisional until it is a slot after the one
        // before it.
        let n = self.samples.len();
        let replace = n >= 2 && self.samples[n - 1].0.saturating_sub(self.samples[n - 2].0) < SLOT;
        if replace {
            self.samples.pop_back();
        }
        self.samples.push_back((now, totals));
        while self.samples.front().is_some_and(|(t, _)| now.saturating_sub(*t) > HOUR + SLOT) {
            self.samples.pop_front();
        }
    }

    fn total_at(&self, name: &str, t: Duration) -> u64 {
        // The newest sample at or before `t`, else 0 (the counter's history
        // starts inside the window).
        self.samples.iter().rev().find(|(st, _)| *st <= t).and_then(|(_, c)| c.get(name).copied()).unwrap_or(0)
    }

    fn rate(&self, name: &str, now: Duration, total: u64, window: Duration) -> f64 {
        let then = self.total_at(name, now.saturating_sub(window));
        total.saturating_sub(then) as f64 / window.as_secs_f64()
    }

    /// `coverage/show` at `now`, from the newest sample.
    pub fn show(&self, now: Duration) -> String {
        let Some((_, latest)) = self.samples.back() else { return "0 events never hit\n".into() };
        // A hash of the counter names, as OVS prints one.
        let hash = latest
            .keys()
            .fold(0x811c_9dc5u32, |h, k| k.bytes().fold(h, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193)));
        let mut out =
            format!("Event coverage, avg rate over last: 5 seconds, last minute, last hour,  hash={hash:08x}:\n");
        let mut never = 0;
        for (name, &total) in latest {
            if total == 0 {
                never += 1;
                continue;
            }
            out += &format!(
                "{name:<24} {:5.1}/sec {:9.3}/sec {:13.4}/sec   total: {total}\n",
                self.rate(name, now, total, SLOT),
                self.rate(name, now, total, Duration::from_secs(60)),
                self.rate(name, now, total, HOUR),
            );
        }
        out += &format!("{never} events never hit\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn rates_over_the_three_windows() {
        let mut c = Coverage::new();
        c.sample(s(0), [("upcall".to_string(), 0), ("never".to_string(), 0)]);
        c.sample(s(55), [("upcall".to_string(), 600), ("never".to_string(), 0)]);
        c.sample(s(60), [("upcall".to_string(), 1200), ("never".to_string(), 0)]);
        let text = c.show(s(60));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("Event coverage, avg rate over last: 5 seconds, last minute, last hour,  hash="));
        // 600 in the last 5 s = 120/s; 1200 in the last minute = 20/s; 1200/3600 per hour.
        assert_eq!(lines[1], "upcall                   120.0/sec    20.000/sec        0.3333/sec   total: 1200");
        assert_eq!(lines[2], "1 events never hit");
    }

    #[test]
    fn close_samples_replace_each_other_and_old_ones_expire() {
        let mut c = Coverage::new();
        for t in 0..100 {
            c.sample(s(t), [("x".to_string(), t)]);
        }
        // One sample per 5-second slot (plus the newest).
        assert!((15..=22).contains(&c.samples.len()), "{} samples for 100 s", c.samples.len());
        c.sample(s(10_000), [("x".to_string(), 5)]);
        assert_eq!(c.samples.len(), 1);
    }
}
