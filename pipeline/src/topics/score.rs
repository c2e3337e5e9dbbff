//! Clustering agreement with true labels: normalised mutual information (arithmetic-mean
//! normalisation, scikit-learn's default) and the adjusted Rand index.

use std::collections::HashMap;

/// Counts of (class, cluster) pairs, and the class and cluster totals.
type Contingency = (HashMap<(usize, usize), f64>, Vec<f64>, Vec<f64>);

/// The contingency table of two labelings of the same items.
fn contingency<A: Eq + std::hash::Hash, B: Eq + std::hash::Hash>(a: &[A], b: &[B]) -> Contingency {
    let mut ia: HashMap<&A, usize> = HashMap::new();
    let mut ib: HashMap<&B, usize> = HashMap::new();
    let mut table: HashMap<(usize, usize), f64> = HashMap::new();
    let (mut ra, mut rb) = (Vec::new(), Vec::new());
    for (x, y) in a.iter().zip(b) {
        let n = ia.len();
        let i = *ia.entry(x).or_insert(n);
        let n = ib.len();
        let j = *ib.entry(y).or_insert(n);
        if i == ra.len() {
            ra.push(0.0);
        }
        if j == rb.len() {
            rb.push(0.0);
        }
        ra[i] += 1.0;
        rb[j] += 1.0;
        *table.entry((i, j)).or_default() += 1.0;
    }
    (table, ra, rb)
}

fn entropy(counts: &[f64], n: f64) -> f64 {
    counts.iter().filter(|&&c| c > 0.0).map(|&c| -(c / n) * (c / n).ln()).sum()
}

/// Normalised mutual information of two labelings, in [0, 1].
pub fn nmi<A: Eq + std::hash::Hash, B: Eq + std::hash::Hash>(truth: &[A], predicted: &[B]) -> f64 {
    let n = truth.len().min(predicted.len()) as f64;
    if n == 0.0 {
        return 0.0;
    }
    let (table, ra, rb) = contingency(truth, predicted);
    let mi: f64 = table.iter().map(|(&(i, j), &c)| (c / n) * ((c * n) / (ra[i] * rb[j])).ln()).sum();
    let (ha, hb) = (entropy(&ra, n), entropy(&rb, n));
    if ha == 0.0 && hb == 0.0 {
        return 1.0;
    }
    let norm = (ha + hb) / 2.0;
    if norm <= 0.0 { 0.0 } else { (mi / norm).clamp(0.0, 1.0) }
}

/// Adjusted Rand index of two labelings (1 = identical partitions, ~0 = chance).
pub fn ari<A: Eq + std::hash::Hash, B: Eq + std::hash::Hash>(truth: &[A], predicted: &[B]) -> f64 {
    let pairs = |x: f64| x * (x - 1.0) / 2.0;
    let n = truth.len().min(predicted.len()) as f64;
    let (table, ra, rb) = contingency(truth, predicted);
    let index: f64 = table.values().map(|&c| pairs(c)).sum();
    let (sa, sb): (f64, f64) = (ra.iter().map(|&c| pairs(c)).sum(), rb.iter().map(|&c| pairs(c)).sum());
    let expected = sa * sb / pairs(n).max(1.0);
    let max = (sa + sb) / 2.0;
    if (max - expected).abs() < f64::EPSILON { 1.0 } else { (index - expected) / (max - expected) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agree_with_scikit_learn() {
        // sklearn: normalized_mutual_info_score([0,0,1,1,2,2],[0,0,1,2,2,2]) = 0.7396673768007592
        //          adjusted_rand_score(same) = 0.4444444444444444
        let (a, b) = ([0, 0, 1, 1, 2, 2], [0, 0, 1, 2, 2, 2]);
        assert!((nmi(&a, &b) - 0.739_667_376_800_759_2).abs() < 1e-9, "{}", nmi(&a, &b));
        assert!((ari(&a, &b) - 0.444_444_444_444_444_4).abs() < 1e-9, "{}", ari(&a, &b));
        assert!((nmi(&a, &[5, 5, 7, 7, 9, 9]) - 1.0).abs() < 1e-12);
        assert!((ari(&a, &[5, 5, 7, 7, 9, 9]) - 1.0).abs() < 1e-12);
    }
}
