//! What a load run measured, a bounded latency histogram, and medians.

use std::fmt;
use std::time::Duration;

/// The result of one load run against one URL.
#[derive(Clone, Debug, PartialEq)]
pub struct Throughput {
    /// Requests completed.
    pub requests: u64,
    /// Completed requests per second.
    pub requests_per_sec: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// Answers outside 200–399 plus connection errors: any of these spoils the run.
    pub failures: u64,
}

impl fmt::Display for Throughput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>9.0} req/s  p50 {:>8}  p99 {:>8}",
            self.requests_per_sec,
            micros(self.p50),
            micros(self.p99)
        )?;
        if self.failures > 0 {
            write!(f, "  ({} failed)", self.failures)?;
        }
        Ok(())
    }
}

/// `412us`, `1.25ms`, `2.003s`: a latency the way wrk prints it.
pub fn micros(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1_000.0 {
        format!("{us:.0}us")
    } else if us < 1_000_000.0 {
        format!("{:.2}ms", us / 1e3)
    } else {
        format!("{:.3}s", us / 1e6)
    }
}

/// The median of `values` (the mean of the middle two for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// Bits of precision kept per power of two: values are exact below 1,024 µs and within
/// 0.2 % above.
const PRECISION: u32 = 10;
const LINEAR: u64 = 1 << PRECISION;
const HALF: usize = 1 << (PRECISION - 1);
/// Latencies are capped at 2^36 µs (about 19 hours): the histogram's size is fixed.
const MAX_SHIFT: u32 = 36 - PRECISION + 1;

/// A latency histogram of fixed size (about 120 KiB), in microseconds.
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; LINEAR as usize + MAX_SHIFT as usize * HALF],
            total: 0,
        }
    }
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Histogram")
            .field("total", &self.total)
            .finish()
    }
}

impl Histogram {
    /// Counts one latency.
    pub fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        let i = index(us).min(self.counts.len() - 1);
        self.counts[i] += 1;
        self.total += 1;
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
    }

    /// Latencies recorded.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The smallest recorded latency such that a fraction `q` (0–1) of them are at or below
    /// it (nearest rank); zero when empty.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.total == 0 {
            return Duration::ZERO;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Duration::from_micros(value(i));
            }
        }
        Duration::from_micros(value(self.counts.len() - 1))
    }

    /// The largest recorded latency (to the histogram's precision).
    pub fn max(&self) -> Duration {
        self.counts
            .iter()
            .rposition(|&c| c > 0)
            .map_or(Duration::ZERO, |i| Duration::from_micros(value(i)))
    }
}

/// Below 1,024: the value itself. Above: the top `PRECISION` bits of the value, in the
/// group of its power of two.
fn index(us: u64) -> usize {
    if us < LINEAR {
        return us as usize;
    }
    let top = 63 - us.leading_zeros();
    let shift = top + 1 - PRECISION;
    let mantissa = (us >> shift) as usize - HALF;
    LINEAR as usize + (shift as usize - 1) * HALF + mantissa
}

/// The middle of the range of values that land in bucket `i`.
fn value(i: usize) -> u64 {
    if (i as u64) < LINEAR {
        return i as u64;
    }
    let j = i - LINEAR as usize;
    let shift = (j / HALF) as u32 + 1;
    let mantissa = (j % HALF + HALF) as u64;
    (mantissa << shift) + (1 << (shift - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn small_latencies_are_exact() {
        let mut h = Histogram::default();
        for us in 1..=100 {
            h.record(Duration::from_micros(us));
        }
        assert_eq!(h.quantile(0.5), Duration::from_micros(50));
        assert_eq!(h.quantile(0.99), Duration::from_micros(99));
        assert_eq!(h.max(), Duration::from_micros(100));
    }

    #[test]
    fn large_latencies_keep_three_digits() {
        for us in [1_024u64, 1_500, 9_999, 250_000, 3_000_000, 60_000_000] {
            let mut h = Histogram::default();
            h.record(Duration::from_micros(us));
            let got = h.quantile(0.99).as_micros() as f64;
            let err = (got - us as f64).abs() / us as f64;
            assert!(err < 0.002, "{us} us read back as {got} us");
        }
    }

    #[test]
    fn indexes_grow_with_values() {
        let mut last = 0;
        for us in (0..5_000_000u64).step_by(997) {
            let i = index(us);
            assert!(i >= last, "{us}");
            last = i;
        }
    }

    #[test]
    fn merged_histograms_count_both() {
        let mut a = Histogram::default();
        let mut b = Histogram::default();
        a.record(Duration::from_micros(10));
        b.record(Duration::from_millis(20));
        a.merge(&b);
        assert_eq!(a.len(), 2);
        assert_eq!(a.quantile(1.0).as_millis(), 20);
    }

    #[test]
    fn latencies_print_like_wrk() {
        assert_eq!(micros(Duration::from_micros(412)), "412us");
        assert_eq!(micros(Duration::from_micros(1_250)), "1.25ms");
        assert_eq!(micros(Duration::from_millis(2_003)), "2.003s");
    }
}
