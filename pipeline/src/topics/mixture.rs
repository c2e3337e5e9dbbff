//! A mixture of multinomials over TF-IDF weights (the model behind naive Bayes, fitted without
//! labels by expectation-maximisation: Nigam et al. 2000), the last stage of a topic fit. k-means
//! on LSA vectors finds where the topics are; EM then lets every word vote with its own weight
//! in each topic instead of through 100 blended LSA dimensions, which is what short texts need:
//! on THUCNews titles it lifts NMI from about 0.3 to 0.45, on Banking77 by 0.01 to 0.03.
//!
//! A document's log-likelihood under topic c is `ln π_c + Σ_t x_t ln φ_c(t)` (x its TF-IDF row);
//! the M-step sets `φ_c(t) ∝ α + Σ_d r_dc x_dt` and `π_c ∝ 1 + Σ_d r_dc`. Responsibilities below
//! 10⁻³ are dropped, so an iteration costs about one pass over the non-zeros. The work is split in
//! two fixed halves on two threads; the halves' sums are added in a fixed order, so results do
//! not depend on the machine.

use super::in_halves as halves;
use super::tfidf::Sparse;

/// Additive smoothing of the word distributions (in units of TF-IDF weight).
const ALPHA: f32 = 0.01;
/// Responsibilities below this are dropped.
const FLOOR: f32 = 1e-3;

/// Every document's responsibilities, flat: document i's are `entries[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Clone)]
struct Responsibilities {
    offsets: Vec<usize>,
    entries: Vec<(u32, f32)>,
}

impl Responsibilities {
    fn new() -> Self {
        Responsibilities { offsets: vec![0], entries: Vec::new() }
    }

    fn push(&mut self, r: impl IntoIterator<Item = (u32, f32)>) {
        self.entries.extend(r);
        self.offsets.push(self.entries.len());
    }

    fn append(&mut self, other: Responsibilities) {
        let base = self.entries.len();
        self.entries.extend(other.entries);
        self.offsets.extend(other.offsets[1..].iter().map(|o| o + base));
    }

    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    fn get(&self, i: usize) -> &[(u32, f32)] {
        &self.entries[self.offsets[i]..self.offsets[i + 1]]
    }

    fn argmax(&self) -> Vec<Option<usize>> {
        (0..self.len())
            .map(|i| self.get(i).iter().max_by(|a, b| a.1.total_cmp(&b.1)).map(|e| e.0 as usize))
            .collect()
    }
}

/// The fitted mixture.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Mixture {
    /// Topics.
    pub k: usize,
    /// ln φ, terms × k, row-major (a document's terms read k contiguous values each).
    pub log_word: Vec<f32>,
    /// ln π, by topic.
    pub log_prior: Vec<f32>,
}

impl Mixture {
    /// The M-step: the mixture that best explains `rows` given their responsibilities.
    fn estimate(rows: &[Sparse], resp: &Responsibilities, terms: usize, k: usize) -> Mixture {
        let [(mut word, mut mass, mut count), (w, m, c)] = halves(rows, |rows, from| {
            let mut word = vec![0f32; terms * k];
            let mut mass = vec![0f32; k];
            let mut count = vec![0f32; k];
            for (i, row) in rows.iter().enumerate() {
                for &(c, p) in resp.get(from + i) {
                    let c = c as usize;
                    count[c] += p;
                    for &(t, x) in row {
                        word[t as usize * k + c] += p * x;
                        mass[c] += p * x;
                    }
                }
            }
            (word, mass, count)
        });
        word.iter_mut().zip(&w).for_each(|(a, b)| *a += b);
        mass.iter_mut().zip(&m).for_each(|(a, b)| *a += b);
        count.iter_mut().zip(&c).for_each(|(a, b)| *a += b);
        let denominators: Vec<f32> = mass.iter().map(|m| (m + ALPHA * terms as f32).ln()).collect();
        let unseen: Vec<f32> = denominators.iter().map(|d| ALPHA.ln() - d).collect();
        for term in word.chunks_exact_mut(k) {
            for ((w, d), u) in term.iter_mut().zip(&denominators).zip(&unseen) {
                // most terms are absent from most topics: no logarithm for those
                *w = if *w == 0.0 { *u } else { (*w + ALPHA).ln() - d };
            }
        }
        let total = count.iter().sum::<f32>() + k as f32;
        let log_prior = count.iter().map(|c| ((c + 1.0) / total).ln()).collect();
        Mixture { k, log_word: word, log_prior }
    }

    /// The M-step from hard labels (`None`: the document is left out).
    pub fn from_labels(rows: &[Sparse], labels: &[Option<usize>], terms: usize, k: usize) -> Mixture {
        let mut resp = Responsibilities::new();
        for l in labels {
            resp.push(l.map(|c| (c as u32, 1.0)));
        }
        Self::estimate(rows, &resp, terms, k)
    }

    /// Each topic's log-likelihood of a row (before normalising), into `ll`.
    fn scores_into(&self, row: &Sparse, ll: &mut Vec<f32>) {
        let k = self.k;
        ll.clear();
        ll.extend_from_slice(&self.log_prior);
        for &(t, x) in row {
            let w = &self.log_word[t as usize * k..(t as usize + 1) * k];
            ll.iter_mut().zip(w).for_each(|(l, w)| *l += x * w);
        }
    }

    /// The most likely topic of a row and its posterior probability (`None` for an empty row).
    pub fn best(&self, row: &Sparse) -> Option<(usize, f32)> {
        if row.is_empty() {
            return None;
        }
        let mut ll = Vec::with_capacity(self.k);
        self.scores_into(row, &mut ll);
        let (best, top) = ll.iter().copied().enumerate().max_by(|a, b| a.1.total_cmp(&b.1))?;
        let z: f32 = ll.iter().map(|l| (l - top).exp()).sum();
        Some((best, 1.0 / z))
    }

    /// The E-step: each row's responsibilities (none for an empty row).
    fn expect(&self, rows: &[Sparse]) -> Responsibilities {
        let [mut resp, second] = halves(rows, |rows, _| {
            let mut out = Responsibilities::new();
            let mut ll = Vec::with_capacity(self.k);
            for row in rows {
                if row.is_empty() {
                    out.push(None);
                    continue;
                }
                self.scores_into(row, &mut ll);
                let top = ll.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                ll.iter_mut().for_each(|l| *l = (*l - top).exp());
                let z: f32 = ll.iter().sum();
                let kept: f32 = ll.iter().filter(|&&p| p >= FLOOR * z).sum();
                out.push(
                    ll.iter()
                        .enumerate()
                        .filter(|&(_, &p)| p >= FLOOR * z)
                        .map(|(c, &p)| (c as u32, p / kept)),
                );
            }
            out
        });
        resp.append(second);
        resp
    }

    /// EM from this mixture: at most `iterations` rounds, stopping once fewer than one document
    /// in 2,000 changes its most likely topic. Returns the mixture and each row's most likely
    /// topic.
    pub fn refine(self, rows: &[Sparse], terms: usize, iterations: usize) -> (Mixture, Vec<Option<usize>>) {
        let mut mixture = self;
        let mut resp = mixture.expect(rows);
        let mut labels = resp.argmax();
        for _ in 0..iterations {
            mixture = Mixture::estimate(rows, &resp, terms, mixture.k);
            resp = mixture.expect(rows);
            let next = resp.argmax();
            let changed = next.iter().zip(&labels).filter(|(a, b)| a != b).count();
            labels = next;
            if changed * 2000 < rows.len() {
                break;
            }
        }
        (mixture, labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_two_vocabularies_and_scores_new_rows() {
        // terms 0-3 belong to topic A, 4-7 to topic B, 8 to both; each row has three of its
        // topic's terms and the shared one
        let rows: Vec<Sparse> = (0..40u32)
            .map(|i| {
                let base = if i % 2 == 0 { 0 } else { 4 };
                let mut row: Sparse = (0..4).filter(|&j| j != i % 4).map(|j| (base + j, 0.55)).collect();
                row.push((8, 0.3));
                row
            })
            .collect();
        // a noisy start: every fifth row in the wrong topic
        let start: Vec<Option<usize>> = (0..40).map(|i| Some((i % 2) ^ usize::from(i % 5 == 0))).collect();
        let (m, labels) = Mixture::from_labels(&rows, &start, 9, 2).refine(&rows, 9, 30);
        let a = labels[0].unwrap();
        for (i, l) in labels.iter().enumerate() {
            assert_eq!(*l == Some(a), i % 2 == 0, "{labels:?}");
        }
        let (best, p) = m.best(&vec![(1, 1.0)]).unwrap();
        assert_eq!(best, a);
        assert!(p > 0.9, "{p}");
        assert_eq!(m.best(&Vec::new()), None);
    }
}
