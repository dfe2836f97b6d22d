//! What every benchmark program of the workspace prints, in one place: each contender's
//! samples over interleaved rounds, summarised by the median with its min–max, and one line per
//! comparison:
//!
//! ```text
//! bench <name>: ours <median> [<min>–<max>] vs <baseline> <median> [<min>–<max>] = <ratio>x
//! ```
//!
//! The ratio is always ours over the baseline in the measured unit: for times below 1 means
//! faster, for rates above 1 does. Programs warm the server with a full-size run first, then
//! run the contenders in [`rotation`] so that none always goes first. Programs that take one
//! sample per contender per round also print the rounds' own ratios
//! ([`Measure::compare_rounds`]), which a machine whose speed drifts between rounds moves less.
//!
//! ```
//! use std::time::Duration;
//! use store_core::testkit::bench::{Measure, Samples, rotation};
//!
//! let mut ours = Samples::new("ours");
//! let mut plain = Samples::new("plain loop");
//! for round in 0..3 {
//!     for contender in rotation(round, 2) {
//!         // run contender `contender` here and time it
//!         let took = Duration::from_millis(if contender == 0 { 100 } else { 80 });
//!         [&mut ours, &mut plain][contender].push_time(took);
//!     }
//! }
//! let line = Measure::Time.compare("bulk", &ours, &plain);
//! assert_eq!(line, "bench bulk: ours 100.0 ms [100.0–100.0] vs plain loop 80.0 ms [80.0–80.0] = 1.25x");
//! ```

use std::time::Duration;

mod server_cpu;

pub use server_cpu::{CpuMark, ServerProcess, server_cpu_medians};

/// What the samples of a comparison measure, and so how they print and which way the ratio reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// Elapsed seconds (lower is better); printed in s, ms, µs or ns.
    Time,
    /// Amount per second in the given unit, such as `"docs/s"` or `"MiB/s"` (higher is better).
    Rate(&'static str),
}

impl Measure {
    /// The comparison line of `ours` against `baseline` (see the [module](self) docs), or a line
    /// saying which side has no samples.
    pub fn compare(self, name: &str, ours: &Samples, baseline: &Samples) -> String {
        let (Some(o), Some(b)) = (ours.summary(), baseline.summary()) else {
            return format!(
                "bench {name}: no samples for {}",
                if ours.is_empty() {
                    &ours.label
                } else {
                    &baseline.label
                }
            );
        };
        format!(
            "bench {name}: {} {} vs {} {} = {:.2}x",
            ours.label,
            self.show(o),
            baseline.label,
            self.show(b),
            o.median / b.median
        )
    }

    /// Prints the comparison line (see [`Measure::compare`]) on standard output.
    pub fn report(self, name: &str, ours: &Samples, baseline: &Samples) {
        println!("{}", self.compare(name, ours, baseline));
    }

    /// [`Measure::compare`] for samples taken one per contender per round, followed by the
    /// median and min–max of the rounds' own ratios: ` (per round: <median>x [<min>–<max>])`.
    /// Both contenders of a round ran on the machine as it was then, so the per-round ratio
    /// does not move with what slows the whole machine between rounds, as the ratio of
    /// medians can. Without as many samples on each side (two or more), the line is
    /// [`Measure::compare`]'s.
    ///
    /// ```
    /// use store_core::testkit::bench::{Measure, Samples};
    ///
    /// let (mut ours, mut plain) = (Samples::new("ours"), Samples::new("plain"));
    /// // The machine was twice as slow in the second round, for both.
    /// for (o, p) in [(1.2, 1.0), (2.6, 2.0), (1.1, 1.0)] {
    ///     ours.push(o);
    ///     plain.push(p);
    /// }
    /// let line = Measure::Time.compare_rounds("bulk", &ours, &plain);
    /// assert_eq!(
    ///     line,
    ///     "bench bulk: ours 1.200 s [1.100–2.600] vs plain 1.000 s [1.000–2.000] = 1.20x \
    ///      (per round: 1.20x [1.10–1.30])"
    /// );
    /// ```
    pub fn compare_rounds(self, name: &str, ours: &Samples, baseline: &Samples) -> String {
        let line = self.compare(name, ours, baseline);
        match round_ratios(ours, baseline).summary() {
            Some(r) => format!(
                "{line} (per round: {:.2}x [{:.2}–{:.2}])",
                r.median, r.min, r.max
            ),
            _ => line,
        }
    }

    /// Prints [`Measure::compare_rounds`]'s line on standard output.
    pub fn report_rounds(self, name: &str, ours: &Samples, baseline: &Samples) {
        println!("{}", self.compare_rounds(name, ours, baseline));
    }

    /// `<median> [<min>–<max>]` in this measure's unit.
    pub fn show(self, s: Summary) -> String {
        let (unit, scale, decimals) = match self {
            Measure::Time if s.median >= 1.0 => ("s", 1.0, 3),
            Measure::Time if s.median >= 1e-3 => ("ms", 1e3, 1),
            Measure::Time if s.median >= 1e-6 => ("µs", 1e6, 1),
            Measure::Time => ("ns", 1e9, 0),
            Measure::Rate(unit) if s.median >= 100.0 => (unit, 1.0, 0),
            Measure::Rate(unit) => (unit, 1.0, 2),
        };
        let f = |x: f64| format!("{:.*}", decimals, x * scale);
        format!("{} {unit} [{}–{}]", f(s.median), f(s.min), f(s.max))
    }
}

/// Each round's ratio, ours over the baseline, when both have one sample per round of two or
/// more rounds (as many samples); no samples otherwise.
fn round_ratios(ours: &Samples, baseline: &Samples) -> Samples {
    let mut ratios = Samples::new("ratio");
    if ours.values.len() == baseline.values.len() && ours.values.len() >= 2 {
        for (o, b) in ours.values.iter().zip(&baseline.values) {
            ratios.push(o / b);
        }
    }
    ratios
}

/// The median of some samples with their smallest and largest.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// The middle sample (the mean of the two middle ones for an even count).
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
}

/// One contender's samples: seconds for [`Measure::Time`], amounts per second for
/// [`Measure::Rate`].
#[derive(Clone, Debug, Default)]
pub struct Samples {
    label: String,
    values: Vec<f64>,
}

impl Samples {
    /// No samples yet, for the contender printed as `label`.
    pub fn new(label: impl Into<String>) -> Self {
        Samples {
            label: label.into(),
            values: Vec::new(),
        }
    }

    /// Adds an elapsed time, in seconds.
    pub fn push_time(&mut self, took: Duration) {
        self.values.push(took.as_secs_f64());
    }

    /// Adds `amount` done in `took` as a rate per second.
    pub fn push_rate(&mut self, amount: f64, took: Duration) {
        self.values
            .push(amount / took.as_secs_f64().max(f64::MIN_POSITIVE));
    }

    /// Adds a sample as it is.
    pub fn push(&mut self, value: f64) {
        self.values.push(value);
    }

    /// The contender's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The samples, in the order they were added.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Whether no sample was added.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The median with min and max, or `None` without samples.
    pub fn summary(&self) -> Option<Summary> {
        let mut sorted = self.values.clone();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => sorted[n / 2],
            _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        Some(Summary {
            median,
            min: sorted[0],
            max: sorted[n - 1],
        })
    }

    /// The sample at the fraction `p` (0.0 to 1.0) of the sorted samples (nearest rank), or
    /// `None` without samples.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let mut sorted = self.values.clone();
        sorted.sort_by(f64::total_cmp);
        let last = sorted.len().checked_sub(1)?;
        Some(sorted[((last as f64) * p.clamp(0.0, 1.0)).round() as usize])
    }
}

/// The order in which `contenders` run in round `round`: `0..contenders` rotated left by
/// `round`, so each contender goes first in turn (the cyclic order stays: with three or more,
/// each has the same predecessor in every round but the one it starts).
pub fn rotation(round: usize, contenders: usize) -> impl Iterator<Item = usize> {
    (0..contenders).map(move |i| (i + round) % contenders.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(label: &str, values: &[f64]) -> Samples {
        let mut s = Samples::new(label);
        values.iter().for_each(|v| s.push(*v));
        s
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        let s = samples("x", &[4.0, 1.0, 3.0, 2.0]).summary().unwrap();
        assert_eq!((s.median, s.min, s.max), (2.5, 1.0, 4.0));
        let s = samples("x", &[5.0, 1.0, 3.0]).summary().unwrap();
        assert_eq!((s.median, s.min, s.max), (3.0, 1.0, 5.0));
        assert!(samples("x", &[]).summary().is_none());
    }

    #[test]
    fn rates_print_in_their_unit_and_the_ratio_is_ours_over_the_baseline() {
        let ours = samples("ours", &[900.0, 1000.0, 1100.0]);
        let raw = samples("raw client", &[2000.0, 1900.0, 2100.0]);
        assert_eq!(
            Measure::Rate("q/s").compare("point_selects", &ours, &raw),
            "bench point_selects: ours 1000 q/s [900–1100] vs raw client 2000 q/s [1900–2100] = 0.50x"
        );
        let slow = samples("ours", &[1.5, 2.25, 3.0]);
        let fast = samples("boto3", &[0.0005, 0.00075, 0.001]);
        assert_eq!(
            Measure::Time.compare("t", &slow, &fast),
            "bench t: ours 2.250 s [1.500–3.000] vs boto3 750.0 µs [500.0–1000.0] = 3000.00x"
        );
        let get = samples("bare", &[2.5e-7, 3e-7, 3.5e-7]);
        assert_eq!(
            Measure::Time.compare("get", &get, &get),
            "bench get: bare 300 ns [250–350] vs bare 300 ns [250–350] = 1.00x"
        );
        assert_eq!(
            Measure::Time.compare("t", &slow, &Samples::new("boto3")),
            "bench t: no samples for boto3"
        );
    }

    #[test]
    fn per_round_ratios_need_one_sample_per_round_on_each_side() {
        let ours = samples("ours", &[2.0, 9.0]);
        let plain = samples("plain", &[1.0, 3.0]);
        assert_eq!(
            Measure::Time.compare_rounds("t", &ours, &plain),
            "bench t: ours 5.500 s [2.000–9.000] vs plain 2.000 s [1.000–3.000] = 2.75x \
             (per round: 2.50x [2.00–3.00])"
        );
        // Rates read the same way: ours over the baseline.
        let fast = samples("ours", &[300.0, 150.0]);
        let slow = samples("raw", &[100.0, 100.0]);
        assert!(
            Measure::Rate("q/s")
                .compare_rounds("q", &fast, &slow)
                .ends_with("= 2.25x (per round: 2.25x [1.50–3.00])")
        );
        // Unequal counts or a single round: the plain comparison.
        let uneven = samples("plain", &[1.0, 3.0, 2.0]);
        assert_eq!(
            Measure::Time.compare_rounds("t", &ours, &uneven),
            Measure::Time.compare("t", &ours, &uneven)
        );
        let one = samples("ours", &[2.0]);
        let other = samples("plain", &[1.0]);
        assert_eq!(
            Measure::Time.compare_rounds("t", &one, &other),
            Measure::Time.compare("t", &one, &other)
        );
    }

    #[test]
    fn every_contender_goes_first_once_in_as_many_rounds() {
        let firsts: Vec<usize> = (0..3).map(|r| rotation(r, 3).next().unwrap()).collect();
        assert_eq!(firsts, [0, 1, 2]);
        assert_eq!(rotation(4, 3).collect::<Vec<_>>(), [1, 2, 0]);
        assert_eq!(samples("x", &[3.0, 1.0, 2.0]).percentile(1.0), Some(3.0));
        assert_eq!(samples("x", &[3.0, 1.0, 2.0]).percentile(0.5), Some(2.0));
    }
}
