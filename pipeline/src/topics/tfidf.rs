//! TF-IDF over a fitted vocabulary: sublinear term frequency (`1 + ln tf`), smoothed inverse
//! document frequency (`ln((1 + n) / (1 + df)) + 1`, scikit-learn's), L2-normalised rows.
//! The vocabulary keeps terms in at least `min_df` documents and at most `max_df` of them (a
//! share), the `max_terms` most frequent first.

use rustc_hash::FxHashMap as HashMap;
use serde::{Deserialize, Serialize};

/// A sparse row: (term index, weight), sorted by index.
pub type Sparse = Vec<(u32, f32)>;

/// Vocabulary limits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VocabularyLimits {
    /// Minimum number of documents a term must appear in.
    pub min_df: usize,
    /// Maximum share of documents a term may appear in (terms above it say nothing).
    pub max_df: f64,
    /// At most this many terms (the most frequent).
    pub max_terms: usize,
}

impl Default for VocabularyLimits {
    fn default() -> Self {
        VocabularyLimits { min_df: 2, max_df: 0.5, max_terms: 50_000 }
    }
}

/// The fitted vocabulary and its idf weights.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tfidf {
    terms: Vec<String>,
    idf: Vec<f32>,
    #[serde(skip)]
    index: HashMap<String, u32>,
}

impl Tfidf {
    /// Fits the vocabulary on tokenised documents.
    pub fn fit<'a, D: AsRef<[String]> + Sync>(docs: &'a [D], limits: VocabularyLimits) -> Tfidf {
        let n = docs.len();
        // document frequencies, the two halves of the documents counted on two threads
        let count = |docs: &'a [D]| {
            let mut df: HashMap<&'a str, usize> = HashMap::default();
            let mut seen: Vec<&str> = Vec::new();
            for d in docs {
                seen.clear();
                seen.extend(d.as_ref().iter().map(String::as_str));
                seen.sort_unstable();
                seen.dedup();
                for t in &seen {
                    *df.entry(t).or_default() += 1;
                }
            }
            df
        };
        let [mut df, other] = super::in_halves(docs, |half, _| count(half));
        for (t, c) in other {
            *df.entry(t).or_default() += c;
        }
        let max = ((limits.max_df * n as f64).floor() as usize).max(limits.min_df);
        let mut kept: Vec<(&str, usize)> =
            df.into_iter().filter(|&(_, c)| c >= limits.min_df && c <= max).collect();
        // most frequent first, then alphabetical: deterministic
        kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        kept.truncate(limits.max_terms);
        kept.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let terms: Vec<String> = kept.iter().map(|(t, _)| (*t).to_string()).collect();
        let idf = kept.iter().map(|&(_, c)| (((1 + n) as f32) / ((1 + c) as f32)).ln() + 1.0).collect();
        let mut model = Tfidf { terms, idf, index: HashMap::default() };
        model.reindex();
        model
    }

    /// Rebuilds the term index (after deserialising).
    pub fn reindex(&mut self) {
        self.index = self.terms.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
    }

    /// Number of terms.
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    /// True without terms.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The term at `i`.
    pub fn term(&self, i: u32) -> &str {
        &self.terms[i as usize]
    }

    /// The index of `term`.
    pub fn index_of(&self, term: &str) -> Option<u32> {
        self.index.get(term).copied()
    }

    /// The L2-normalised TF-IDF row of a tokenised document (empty when no term is known).
    pub fn transform(&self, tokens: &[String]) -> Sparse {
        let mut counts: Vec<(u32, u32)> = Vec::with_capacity(tokens.len());
        for t in tokens {
            if let Some(&i) = self.index.get(t.as_str()) {
                counts.push((i, 1));
            }
        }
        counts.sort_unstable_by_key(|c| c.0);
        counts.dedup_by(|b, a| {
            let same = a.0 == b.0;
            if same {
                a.1 += b.1;
            }
            same
        });
        let mut row: Sparse =
            counts.into_iter().map(|(i, tf)| (i, (1.0 + (tf as f32).ln()) * self.idf[i as usize])).collect();
        let norm = row.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|(_, w)| *w /= norm);
        }
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn sublinear_smoothed_and_normalised_like_scikit_learn() {
        let docs = [doc("card lost card"), doc("card arrival"), doc("refund late"), doc("refund card")];
        let limits = VocabularyLimits { min_df: 1, max_df: 1.0, max_terms: 100 };
        let m = Tfidf::fit(&docs, limits);
        assert_eq!(m.len(), 5);
        let row = m.transform(&doc("card lost card unknown"));
        // card: df 3 -> idf ln(5/4)+1, tf 2 -> 1+ln 2; lost: df 1 -> idf ln(5/2)+1, tf 1
        let card = (1.0 + 2f32.ln()) * ((5.0f32 / 4.0).ln() + 1.0);
        let lost = (5.0f32 / 2.0).ln() + 1.0;
        let norm = (card * card + lost * lost).sqrt();
        let got: Vec<(&str, f32)> = row.iter().map(|&(i, w)| (m.term(i), w)).collect();
        assert_eq!(got.len(), 2);
        assert!((got[0].1 - card / norm).abs() < 1e-6 && got[0].0 == "card", "{got:?}");
        assert!((got[1].1 - lost / norm).abs() < 1e-6 && got[1].0 == "lost", "{got:?}");
        // max_df drops a term in too many documents
        let m = Tfidf::fit(&docs, VocabularyLimits { min_df: 1, max_df: 0.5, max_terms: 100 });
        assert!(m.index_of("card").is_none() && m.index_of("refund").is_some());
    }
}
