//! Exact quantiles with linear interpolation between closest ranks (numpy's default `linear`
//! method, which pandas' `median` and `quantile` use), so window percentiles agree with an
//! analyst's pandas or DataFusion `approx_percentile_cont`-free recomputation.

/// The `q`-quantile (0..=1) of `values`; `None` when empty. Sorts `values` in place.
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(values[lo] + (values[hi] - values[lo]) * (pos - lo as f64))
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn matches_numpy_linear() {
        // numpy.quantile([1, 2, 3, 4], [0.5, 0.9, 0.99]) == [2.5, 3.7, 3.97]
        let mut v = vec![4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile(&mut v, 0.5), Some(2.5));
        assert!((quantile(&mut v, 0.9).unwrap_or_default() - 3.7).abs() < 1e-12);
        assert!((quantile(&mut v, 0.99).unwrap_or_default() - 3.97).abs() < 1e-12);
        assert_eq!(quantile(&mut [7.0], 0.9), Some(7.0));
        assert_eq!(quantile(&mut [], 0.5), None);
    }
}
