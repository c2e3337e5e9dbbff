//! Fitting a topic model, in four stages:
//!
//! 1. tokens -> TF-IDF rows (sublinear tf, smoothed idf, L2 norm);
//! 2. on a sample of at most `sample` rows: LSA (randomized truncated SVD, Halko et al. 2011),
//!    the rows' mean direction removed, unit rows, then k-means (linfa-clustering: k-means++
//!    initialisation, several runs, the lowest inertia kept) into `oversplit × k` clusters.
//!    On unit vectors Euclidean k-means groups by cosine similarity, which suits text;
//! 3. those clusters merged to k by average linkage on the cosine of their mean TF-IDF rows:
//!    short tickets with the same cause are often written in a few fixed ways that share one or
//!    two words ("refund" in "I want a refund" and "refund still not here"), which k-means at k
//!    splits unevenly and a merge of smaller, purer clusters joins;
//! 4. expectation-maximisation of a mixture of multinomials over every row ([`super::mixture`]),
//!    started from the merged clusters: the final topics, and how a new ticket is assigned.
//!
//! Each topic is labelled by its top class-based TF-IDF terms. When `k` is not given it is
//! chosen by the mean silhouette of k-means over a range, on the sample.

use super::mixture::Mixture;
use super::text::{NUMBER, Tokenizer};
use super::tfidf::{Sparse, Tfidf, VocabularyLimits};
use crate::{Error, Result};
use linfa::prelude::*;
use linfa_clustering::{KMeans, KMeansInit};
use ndarray::{Array1, Array2, Axis};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How to fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FitConfig {
    /// Number of topics; chosen by silhouette over `k_range` when absent.
    pub k: Option<usize>,
    /// Smallest and largest k tried when choosing.
    pub k_range: (usize, usize),
    /// LSA dimensions.
    pub dims: usize,
    /// k-means runs (different k-means++ seeds); the lowest inertia wins.
    pub runs: usize,
    /// k-means iterations at most.
    pub max_iterations: u64,
    /// Rows the LSA and k-means stages see at most (a random sample); EM sees every row.
    pub sample: usize,
    /// k-means finds `oversplit × k` clusters, merged to k (1: no merge).
    pub oversplit: usize,
    /// EM iterations at most.
    pub em_iterations: usize,
    /// Character bigrams of Chinese runs as extra tokens.
    pub char_bigrams: bool,
    /// Vocabulary limits.
    pub vocabulary: VocabularyLimits,
    /// Terms in a topic's label.
    pub label_terms: usize,
    /// Remove the documents' mean direction before k-means (what all tickets share, "help",
    /// "order", pulls short texts into one giant cluster).
    pub center: bool,
    /// Seed of the sample, the random projection and k-means.
    pub seed: u64,
}

impl Default for FitConfig {
    fn default() -> Self {
        FitConfig {
            k: None,
            k_range: (4, 64),
            dims: 100,
            runs: 3,
            max_iterations: 100,
            sample: 3000,
            oversplit: 2,
            em_iterations: 30,
            char_bigrams: true,
            vocabulary: VocabularyLimits::default(),
            label_terms: 5,
            center: true,
            seed: 7,
        }
    }
}

/// One topic of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Topic {
    /// Its top terms, most telling first.
    pub terms: Vec<String>,
    /// Documents assigned to it at fit time.
    pub size: usize,
    /// The mean TF-IDF row of its documents, by term (the 100 heaviest terms, unit length): what
    /// it is about, comparable across models with different vocabularies.
    #[serde(default)]
    pub signature: Vec<(String, f32)>,
}

impl Topic {
    /// The human-readable label: the top terms joined.
    pub fn label(&self) -> String {
        self.terms.join(" ")
    }
}

/// A fitted topic model: what assigning a new ticket needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicModel {
    tokenizer: Tokenizer,
    tfidf: Tfidf,
    mixture: Mixture,
    /// The topics, in mixture order.
    pub topics: Vec<Topic>,
}

/// How k was chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum KChoice {
    /// Given.
    Given(usize),
    /// The best mean silhouette among the candidates: (k, silhouette) of each.
    Silhouette(Vec<(usize, f64)>),
}

/// Where a refit's topics came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// A fit from scratch.
    Fresh,
    /// EM started from the previous model's topics.
    Previous,
}

/// The outcome of a fit.
#[derive(Debug, Clone)]
pub struct Fitted {
    /// The model.
    pub model: TopicModel,
    /// The topic of each document (`None` for a document without any known term).
    pub assignments: Vec<Option<usize>>,
    /// How k was chosen.
    pub k: KChoice,
    /// Where the topics came from.
    pub start: Start,
    /// Seconds spent in each stage.
    pub stages: Vec<(&'static str, f64)>,
}

/// Scales a row to unit length (a zero row stays zero).
fn normalise_row(mut v: ndarray::ArrayViewMut1<f32>) {
    let n = v.dot(&v).sqrt();
    if n > 0.0 {
        v.mapv_inplace(|x| x / n);
    }
}

/// Applies `f` to every item, on two threads.
fn map_halves<T: Sync, U: Send>(items: &[T], f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    let [mut first, second] = super::in_halves(items, |half, _| half.iter().map(&f).collect::<Vec<U>>());
    first.extend(second);
    first
}

/// Times the stages of a fit.
struct Stages<'a> {
    progress: &'a dyn Fn(&str, f64),
    current: Option<(&'static str, std::time::Instant)>,
    done: Vec<(&'static str, f64)>,
}

impl Stages<'_> {
    fn start(&mut self, stage: &'static str, fraction: f64) {
        self.finish();
        (self.progress)(stage, fraction);
        self.current = Some((stage, std::time::Instant::now()));
    }

    fn finish(&mut self) {
        if let Some((stage, at)) = self.current.take() {
            self.done.push((stage, at.elapsed().as_secs_f64()));
        }
    }
}

impl TopicModel {
    /// Fits a model on `texts`; `progress` is told the stage and fraction done.
    pub fn fit(texts: &[String], config: &FitConfig, progress: &dyn Fn(&str, f64)) -> Result<Fitted> {
        Self::refit(texts, config, None, progress)
    }

    /// [`TopicModel::fit`] continuing from a previous model: EM starts from the previous topics
    /// (each ticket's topic under the previous model) and k stays the previous k, so that refits
    /// on overlapping tickets keep their topics; without a previous model (or with a different
    /// `config.k`), a fit from scratch.
    pub fn refit(
        texts: &[String],
        config: &FitConfig,
        previous: Option<&TopicModel>,
        progress: &dyn Fn(&str, f64),
    ) -> Result<Fitted> {
        let mut stages = Stages { progress, current: None, done: Vec::new() };
        let tokenizer = Tokenizer { char_bigrams: config.char_bigrams };
        stages.start("tokenising", 0.0);
        // support tickets repeat themselves ("where is my order"): each distinct text is
        // tokenised and weighted once
        let mut distinct: rustc_hash::FxHashMap<&str, usize> = Default::default();
        let of: Vec<usize> = texts
            .iter()
            .map(|t| {
                let next = distinct.len();
                *distinct.entry(t.as_str()).or_insert(next)
            })
            .collect();
        let mut unique: Vec<&str> = vec![""; distinct.len()];
        for (t, &i) in &distinct {
            unique[i] = t;
        }
        let unique_docs: Vec<Vec<String>> = map_halves(&unique, |t| tokenizer.tokens(t));
        let docs: Vec<&Vec<String>> = of.iter().map(|&u| &unique_docs[u]).collect();
        stages.start("weighting (TF-IDF)", 0.1);
        let tfidf = Tfidf::fit(&docs, config.vocabulary);
        if tfidf.is_empty() {
            return Err(Error::Runtime(format!(
                "no term is in at least {} of the {} texts: nothing to cluster",
                config.vocabulary.min_df,
                texts.len()
            )));
        }
        let unique_rows: Vec<Sparse> = map_halves(&unique_docs, |d| tfidf.transform(d));
        let rows: Vec<Sparse> = of.iter().map(|&u| unique_rows[u].clone()).collect();
        let present: Vec<usize> = (0..rows.len()).filter(|&i| !rows[i].is_empty()).collect();
        let terms = tfidf.len();
        let previous = previous.filter(|p| config.k.is_none_or(|k| k == p.k()));
        let (assignments, mixture, choice, start) = match previous {
            Some(p) => {
                stages.start("refining (EM)", 0.5);
                let k = p.k();
                let before: Vec<Option<usize>> =
                    map_halves(&unique_docs, |d| p.mixture.best(&p.tfidf.transform(d)).map(|b| b.0));
                let before: Vec<Option<usize>> = of.iter().map(|&u| before[u]).collect();
                let (mixture, assignments) =
                    Mixture::from_labels(&rows, &before, terms, k).refine(&rows, terms, config.em_iterations);
                (assignments, mixture, KChoice::Given(k), Start::Previous)
            }
            None => {
                let (mixture, assignments, choice) = fresh(&rows, &present, terms, config, &mut stages)?;
                (assignments, mixture, choice, Start::Fresh)
            }
        };
        let k = mixture.k;
        stages.start("labelling", 0.9);
        let topics = describe(&rows, texts, &tokenizer, &assignments, k, &tfidf, config.label_terms);
        stages.finish();
        progress("done", 1.0);
        let model = TopicModel { tokenizer, tfidf, mixture, topics };
        Ok(Fitted { model, assignments, k: choice, start, stages: stages.done })
    }

    /// Number of topics.
    pub fn k(&self) -> usize {
        self.topics.len()
    }

    /// The most likely topic of a text and its posterior probability, `None` when no word of it
    /// is known.
    pub fn assign(&self, text: &str) -> Option<(usize, f32)> {
        self.mixture.best(&self.tfidf.transform(&self.tokenizer.tokens(text)))
    }

    /// Rebuilds the vocabulary's index (after deserialising as part of a larger state).
    pub fn reindex(&mut self) {
        self.tfidf.reindex();
    }

    /// The vocabulary.
    pub fn tfidf(&self) -> &Tfidf {
        &self.tfidf
    }

    /// Serialises the model (postcard + zstd).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let raw = postcard::to_allocvec(self)
            .map_err(|e| Error::Runtime(format!("serialising the topic model: {e}")))?;
        zstd::encode_all(raw.as_slice(), 3).map_err(|e| Error::io("compressing", "topic model", e))
    }

    /// The inverse of [`TopicModel::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<TopicModel> {
        let raw = zstd::decode_all(bytes).map_err(|e| Error::io("decompressing", "topic model", e))?;
        let mut m: TopicModel = postcard::from_bytes(&raw)
            .map_err(|e| Error::Runtime(format!("decoding the topic model: {e}")))?;
        m.tfidf.reindex();
        Ok(m)
    }
}

/// k-means finds at most this many clusters when over-splitting (unless k itself is larger).
const OVERSPLIT_CAP: usize = 80;

/// A fit from scratch (stages 2 to 4 of the module's description): the mixture, each row's
/// topic and how k was chosen.
fn fresh(
    rows: &[Sparse],
    present: &[usize],
    terms: usize,
    config: &FitConfig,
    stages: &mut Stages<'_>,
) -> Result<(Mixture, Vec<Option<usize>>, KChoice)> {
    if config.k.is_some_and(|k| k == 0 || k > present.len()) {
        return Err(Error::config(
            "topics.k",
            format!("must be within 1..={} (texts with known terms)", present.len()),
        ));
    }
    stages.start("reducing (LSA)", 0.2);
    let sample = sample(present, config.sample, config.seed);
    let data = embed_sample(rows, &sample, terms, config)?;
    let (k, choice) = match config.k {
        Some(k) => (k, KChoice::Given(k)),
        None => {
            stages.start("choosing k", 0.3);
            choose_k(&data, config, stages.progress)?
        }
    };
    // over-splitting serves a small k (a few broad topics written many ways); at a large k the
    // clusters are already narrow, and k-means' cost grows with the clusters
    let split = (config.oversplit.max(1) * k).min(OVERSPLIT_CAP.max(k)).min(sample.len() / 2).max(k);
    stages.start("clustering (k-means)", 0.5);
    let labels = kmeans(&data, split, config.runs, config.max_iterations, config.seed)?;
    stages.start("merging", 0.6);
    let sample_rows: Vec<&Sparse> = sample.iter().map(|&i| &rows[i]).collect();
    let merged = merge(&sample_rows, &labels, split, k);
    let mut start = vec![None; rows.len()];
    for (&i, &l) in sample.iter().zip(&labels) {
        start[i] = Some(merged[l]);
    }
    stages.start("refining (EM)", 0.7);
    let (mixture, assignments) =
        Mixture::from_labels(rows, &start, terms, k).refine(rows, terms, config.em_iterations);
    Ok((mixture, assignments, choice))
}

/// At most `n` of `items`, drawn at random (seeded), in their original order.
fn sample(items: &[usize], n: usize, seed: u64) -> Vec<usize> {
    if items.len() <= n {
        return items.to_vec();
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut picked = rand::seq::index::sample(&mut rng, items.len(), n).into_vec();
    picked.sort_unstable();
    picked.into_iter().map(|i| items[i]).collect()
}

/// The sample's rows as unit LSA vectors (mean direction removed when `config.center`), one per
/// row: LSA is fitted on the sample's own terms only.
fn embed_sample(rows: &[Sparse], sample: &[usize], terms: usize, config: &FitConfig) -> Result<Array2<f32>> {
    // the sample's terms, numbered in vocabulary order
    let mut local = vec![u32::MAX; terms];
    for &i in sample {
        rows[i].iter().for_each(|&(t, _)| local[t as usize] = 0);
    }
    let mut used = 0u32;
    for l in local.iter_mut().filter(|l| **l == 0) {
        *l = used;
        used += 1;
    }
    let local_rows: Vec<Sparse> =
        sample.iter().map(|&i| rows[i].iter().map(|&(t, w)| (local[t as usize], w)).collect()).collect();
    let used = used as usize;
    let dims = config.dims.min(used.saturating_sub(1)).max(1);
    let components = lsa(&local_rows, used, dims, config.seed)?;
    let mut data = Array2::<f32>::zeros((sample.len(), dims));
    for (row, mut out) in local_rows.iter().zip(data.rows_mut()) {
        for &(t, w) in row {
            let c = &components[t as usize * dims..(t as usize + 1) * dims];
            out.iter_mut().zip(c).for_each(|(x, y)| *x += w * y);
        }
        normalise_row(out);
    }
    if config.center
        && let Some(mean) = data.mean_axis(Axis(0))
    {
        for mut out in data.rows_mut() {
            out -= &mean;
            normalise_row(out);
        }
    }
    Ok(data)
}

/// Merges `from` clusters (each row's label in `labels`) into `to` by average linkage (UPGMA)
/// on the cosine distance of the clusters' summed TF-IDF rows; each cluster's new label, the
/// new labels numbered by first appearance.
fn merge(rows: &[&Sparse], labels: &[usize], from: usize, to: usize) -> Vec<usize> {
    if from <= to {
        return (0..from).collect();
    }
    let mut sums: Vec<HashMap<u32, f32>> = vec![HashMap::new(); from];
    for (row, &l) in rows.iter().zip(labels) {
        for &(t, w) in row.iter() {
            *sums[l].entry(t).or_default() += w;
        }
    }
    let vectors: Vec<HashMap<u32, f32>> = sums
        .into_iter()
        .map(|mut m| {
            let n = m.values().map(|w| w * w).sum::<f32>().sqrt();
            if n > 0.0 {
                m.values_mut().for_each(|w| *w /= n);
            }
            m
        })
        .collect();
    let cosine = |a: &HashMap<u32, f32>, b: &HashMap<u32, f32>| -> f32 {
        let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
        small.iter().filter_map(|(t, w)| large.get(t).map(|v| w * v)).sum()
    };
    let mut distance = vec![0f32; from * from];
    for i in 0..from {
        for j in i + 1..from {
            let d = 1.0 - cosine(&vectors[i], &vectors[j]);
            distance[i * from + j] = d;
            distance[j * from + i] = d;
        }
    }
    let mut size = vec![1f32; from];
    let mut alive: Vec<bool> = vec![true; from];
    let mut parent: Vec<usize> = (0..from).collect();
    for _ in 0..from - to {
        let mut best = (f32::INFINITY, 0, 0);
        for i in (0..from).filter(|&i| alive[i]) {
            for j in (i + 1..from).filter(|&j| alive[j]) {
                if distance[i * from + j] < best.0 {
                    best = (distance[i * from + j], i, j);
                }
            }
        }
        let (_, i, j) = best;
        for m in (0..from).filter(|&m| alive[m] && m != i && m != j) {
            let d =
                (size[i] * distance[i * from + m] + size[j] * distance[j * from + m]) / (size[i] + size[j]);
            distance[i * from + m] = d;
            distance[m * from + i] = d;
        }
        size[i] += size[j];
        alive[j] = false;
        parent[j] = i;
    }
    let root = |mut c: usize| {
        while parent[c] != c {
            c = parent[c];
        }
        c
    };
    let mut numbering: HashMap<usize, usize> = HashMap::new();
    (0..from)
        .map(|c| {
            let r = root(c);
            let next = numbering.len();
            *numbering.entry(r).or_insert(next)
        })
        .collect()
}

/// Randomized truncated SVD of the sparse rows (n × terms): the right singular vectors,
/// terms × dims row-major. Four power iterations, ten oversampling dimensions.
fn lsa(rows: &[Sparse], terms: usize, dims: usize, seed: u64) -> Result<Vec<f32>> {
    let l = (dims + 10).min(terms).min(rows.len().max(1));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let omega = Array2::<f32>::from_shape_fn((terms, l), |_| StandardNormal.sample(&mut rng));
    // X · M for M terms × l
    let times = |m: &Array2<f32>| {
        let mut y = Array2::<f32>::zeros((rows.len(), m.ncols()));
        for (r, row) in rows.iter().enumerate() {
            let mut out = y.row_mut(r);
            for &(t, w) in row {
                out.scaled_add(w, &m.row(t as usize));
            }
        }
        y
    };
    // Xᵀ · Q for Q n × l
    let transposed_times = |q: &Array2<f32>| {
        let mut z = Array2::<f32>::zeros((terms, q.ncols()));
        for (r, row) in rows.iter().enumerate() {
            let qr = q.row(r);
            for &(t, w) in row {
                z.row_mut(t as usize).scaled_add(w, &qr);
            }
        }
        z
    };
    // power iterations: the span of X·Xᵀ·Q is the same whether or not Xᵀ·Q is orthonormalised
    // first, so only the tall n-side is (the terms side is much larger)
    let mut q = orthonormal(times(&omega))?;
    for _ in 0..4 {
        q = orthonormal(times(&transposed_times(&q)))?;
    }
    // B = Qᵀ X (l × terms); B Bᵀ = U Σ² Uᵀ; right singular vectors V = Bᵀ U Σ⁻¹
    let bt = transposed_times(&q); // terms × l = Bᵀ
    let (values, vectors) = symmetric_eigen(bt.t().dot(&bt))?;
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    order.truncate(dims);
    let mut u = vectors.select(Axis(1), &order);
    for (mut col, &j) in u.axis_iter_mut(Axis(1)).zip(&order) {
        let sigma = values[j].max(0.0).sqrt();
        let scale = if sigma > f32::EPSILON { 1.0 / sigma } else { 0.0 };
        col.mapv_inplace(|x| x * scale);
    }
    // terms × dims, row-major
    Ok(bt.dot(&u).iter().copied().collect())
}

/// An orthonormal basis of the column space of `a`: `A V Λ^(-1/2)` from the eigen decomposition
/// `AᵀA = V Λ Vᵀ` (a small l × l problem; the products run as matrix multiplications, much faster
/// than a Householder QR of the tall matrix). Directions with a negligible eigenvalue are dropped
/// to zero columns. Applied after every power iteration, so rounding does not accumulate.
fn orthonormal(a: Array2<f32>) -> Result<Array2<f32>> {
    let gram = a.t().dot(&a);
    let (values, vectors) = symmetric_eigen(gram)?;
    let top = values.iter().copied().fold(0f32, f32::max);
    let scale = Array1::from_iter(
        values.iter().map(|&v| if v > top * 1e-10 && v > 0.0 { 1.0 / v.sqrt() } else { 0.0 }),
    );
    let mut basis = a.dot(&vectors);
    for (mut col, s) in basis.axis_iter_mut(Axis(1)).zip(scale.iter()) {
        col.mapv_inplace(|x| x * s);
    }
    Ok(basis)
}

/// Eigenvalues and eigenvectors (columns) of a symmetric matrix.
fn symmetric_eigen(a: Array2<f32>) -> Result<(Array1<f32>, Array2<f32>)> {
    use linfa_linalg::eigh::EighInto;
    a.eigh_into().map_err(|e| Error::Runtime(format!("eigen decomposition: {e}")))
}

/// k-means (linfa-clustering's Lloyd iterations) of unit rows, `runs` times from different
/// k-means++ seeds, the lowest inertia kept: each row's cluster.
/// The k-means++ seeding is done here, in O(n·k·d) with one distance update per new centre:
/// linfa 0.8's recomputes every point's distance to all chosen centres at each step
/// (O(n·k²·d)), which took four fifths of a fit at k = 77.
fn kmeans(data: &Array2<f32>, k: usize, runs: usize, max_iterations: u64, seed: u64) -> Result<Vec<usize>> {
    let dataset = DatasetBase::from(data.clone());
    // scikit-learn's convergence: the centroids' total squared shift at most 1e-4 of the mean
    // feature variance (linfa compares the shift's norm, hence the square root)
    let variance = data.var_axis(Axis(0), 0.0).mean().unwrap_or(0.0);
    let tolerance = (1e-4 * variance).sqrt().max(1e-7);
    let mut best: Option<(f32, Vec<usize>)> = None;
    for run in 0..runs.max(1) as u64 {
        let init = plus_plus(data, k, seed.wrapping_add(run));
        let rng = <rand_xoshiro::Xoshiro256Plus as rand_xoshiro::rand_core::SeedableRng>::seed_from_u64(seed);
        let model = KMeans::params_with_rng(k, rng)
            .n_runs(1)
            .max_n_iterations(max_iterations)
            .tolerance(tolerance)
            .init_method(KMeansInit::Precomputed(init))
            .fit(&dataset)
            .map_err(|e| Error::Runtime(format!("k-means: {e}")))?;
        let inertia = model.inertia();
        tracing::debug!("k-means run {run}: inertia {inertia}");
        if best.as_ref().is_none_or(|(b, _)| inertia < *b) {
            best = Some((inertia, model.predict(data).to_vec()));
        }
    }
    best.map(|(_, labels)| labels).ok_or_else(|| Error::Runtime("k-means: no run".into()))
}

/// k-means++ seeding (Arthur & Vassilvitskii 2007) of unit rows: each next centre drawn with
/// probability proportional to the squared distance to the nearest centre so far.
fn plus_plus(data: &Array2<f32>, k: usize, seed: u64) -> Array2<f32> {
    use rand::Rng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let n = data.nrows();
    let mut centres = Array2::<f32>::zeros((k, data.ncols()));
    let mut nearest = vec![f32::INFINITY; n];
    let mut pick = rng.random_range(0..n);
    for c in 0..k {
        centres.row_mut(c).assign(&data.row(pick));
        let centre = data.row(pick);
        for (row, d) in data.rows().into_iter().zip(nearest.iter_mut()) {
            // unit rows: |a - b|² = 2 - 2 a·b
            let sq = (2.0 - 2.0 * row.dot(&centre)).max(0.0);
            *d = d.min(sq);
        }
        let total: f32 = nearest.iter().sum();
        if total <= 0.0 {
            pick = rng.random_range(0..n);
            continue;
        }
        let mut target = rng.random::<f32>() * total;
        pick = n - 1;
        for (i, &d) in nearest.iter().enumerate() {
            target -= d;
            if target <= 0.0 {
                pick = i;
                break;
            }
        }
    }
    centres
}

/// Chooses k by the mean silhouette (Rousseeuw 1987: mean distance to the own cluster against
/// the nearest other cluster) of k-means over candidates in `config.k_range`, on at most 2,000
/// rows (O(n²) distances).
fn choose_k(
    data: &Array2<f32>,
    config: &FitConfig,
    progress: &dyn Fn(&str, f64),
) -> Result<(usize, KChoice)> {
    let (lo, hi) = config.k_range;
    let hi = hi.min(data.nrows() / 2).max(lo.min(data.nrows()));
    let mut candidates = Vec::new();
    let mut k = lo.max(2);
    while k <= hi {
        candidates.push(k);
        // every k up to 10, then steps of a quarter
        k = if k < 10 { k + 1 } else { (k as f64 * 1.25).ceil() as usize };
    }
    if candidates.is_empty() {
        return Err(Error::config("topics.k_range", "no k to try: too few texts"));
    }
    let step = (data.nrows() / 2000).max(1);
    let sample = data.select(Axis(0), &(0..data.nrows()).step_by(step).collect::<Vec<_>>());
    // pairwise distances of the sample once (unit rows: |a-b|² = 2 - 2a·b)
    let gram = sample.dot(&sample.t());
    let distance = gram.mapv(|g| (2.0 - 2.0 * g).max(0.0).sqrt());
    let mut scores = Vec::new();
    for (i, &k) in candidates.iter().enumerate() {
        progress(&format!("choosing k (trying {k})"), 0.2 + 0.4 * i as f64 / candidates.len() as f64);
        let labels = kmeans(&sample, k, config.runs, config.max_iterations, config.seed)?;
        scores.push((k, silhouette(&distance, &labels, k)));
    }
    let best = scores.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1)).map_or(lo, |s| s.0);
    Ok((best, KChoice::Silhouette(scores)))
}

/// Mean silhouette of a labelling, from the pairwise distances.
fn silhouette(distance: &Array2<f32>, labels: &[usize], k: usize) -> f64 {
    let mut sizes = vec![0usize; k];
    labels.iter().for_each(|&l| sizes[l] += 1);
    let mut total = 0.0;
    for (i, &own) in labels.iter().enumerate() {
        let mut sums = vec![0f64; k];
        for (j, &l) in labels.iter().enumerate() {
            sums[l] += f64::from(distance[[i, j]]);
        }
        if sizes[own] <= 1 {
            continue; // a singleton scores 0
        }
        let a = sums[own] / (sizes[own] - 1) as f64;
        let b = (0..k)
            .filter(|&c| c != own && sizes[c] > 0)
            .map(|c| sums[c] / sizes[c] as f64)
            .fold(f64::INFINITY, f64::min);
        if b.is_finite() && a.max(b) > 0.0 {
            total += (b - a) / a.max(b);
        }
    }
    total / labels.len().max(1) as f64
}

/// Each topic: its label (class-based TF-IDF: a term weighs the share of the topic's documents
/// that contain it times `ln(1 + A / f)`, A the mean number of terms per topic and f the term's
/// documents over all topics; numbers never label a topic; each term shown as the commonest word
/// behind it, so stems read as words), its size and its signature (the mean TF-IDF row of its
/// documents, the 100 heaviest terms, unit length).
fn describe(
    rows: &[Sparse],
    texts: &[String],
    tokenizer: &Tokenizer,
    assignments: &[Option<usize>],
    k: usize,
    tfidf: &Tfidf,
    n: usize,
) -> Vec<Topic> {
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (d, a) in assignments.iter().enumerate() {
        if let Some(c) = *a {
            members[c].push(d);
        }
    }
    let number = tfidf.index_of(NUMBER);
    let terms = tfidf.len();
    let mut all = vec![0f32; terms];
    for row in rows {
        row.iter().for_each(|&(t, _)| all[t as usize] += 1.0);
    }
    let total_terms: f32 = all.iter().sum();
    let mean = total_terms / k.max(1) as f32;
    let (mut df, mut weight) = (vec![0f32; terms], vec![0f32; terms]);
    let mut touched: Vec<u32> = Vec::new();
    let mut topics: Vec<(Vec<u32>, Topic)> = members
        .iter()
        .map(|docs| {
            for &d in docs {
                for &(t, w) in &rows[d] {
                    if df[t as usize] == 0.0 {
                        touched.push(t);
                    }
                    df[t as usize] += 1.0;
                    weight[t as usize] += w;
                }
            }
            let words: f32 = touched.iter().map(|&t| df[t as usize]).sum::<f32>().max(1.0);
            let mut scored: Vec<(u32, f32)> = touched
                .iter()
                .filter(|&&t| Some(t) != number)
                .map(|&t| (t, df[t as usize] / words * (1.0 + mean / all[t as usize]).ln()))
                .collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            scored.truncate(3 * n);
            let mut heavy: Vec<(u32, f32)> = touched.iter().map(|&t| (t, weight[t as usize])).collect();
            heavy.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            heavy.truncate(100);
            let norm = heavy.iter().map(|(_, w)| w * w).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
            let signature = heavy.into_iter().map(|(t, w)| (tfidf.term(t).to_string(), w / norm)).collect();
            for t in touched.drain(..) {
                df[t as usize] = 0.0;
                weight[t as usize] = 0.0;
            }
            let candidates = scored.into_iter().map(|(t, _)| t).collect();
            (candidates, Topic { terms: Vec::new(), size: docs.len(), signature })
        })
        .collect();
    // the commonest word behind each candidate term
    let wanted: std::collections::HashSet<&str> =
        topics.iter().flat_map(|(c, _)| c.iter().map(|&t| tfidf.term(t))).collect();
    // (from every n-th text, 5,000 at most: enough to know how a term is usually written)
    let mut surfaces: HashMap<String, HashMap<String, usize>> = HashMap::new();
    for text in texts.iter().step_by(texts.len().div_ceil(5_000).max(1)) {
        for (t, w) in tokenizer.tokens_with_surface(text) {
            if wanted.contains(t.as_str()) {
                *surfaces.entry(t).or_default().entry(w).or_default() += 1;
            }
        }
    }
    let surface = |t: &str| -> String {
        surfaces
            .get(t)
            .and_then(|m| {
                m.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map(|(w, _)| (*w).to_string())
            })
            .unwrap_or_else(|| t.to_string())
    };
    for (candidates, topic) in &mut topics {
        // a bigram inside a word already listed adds nothing
        for &t in candidates.iter() {
            if topic.terms.len() == n {
                break;
            }
            let word = surface(tfidf.term(t));
            if !topic.terms.iter().any(|x| x.contains(&word)) {
                topic.terms.push(word);
            }
        }
    }
    topics.into_iter().map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tickets of six topics (four English, two Chinese): two to four words of the topic's
    /// vocabulary among two to four filler words shared by all, in random order.
    fn tickets() -> (Vec<String>, Vec<usize>) {
        use rand::Rng;
        use rand::seq::SliceRandom;
        let topics: [&[&str]; 6] = [
            &["battery", "overheating", "hot", "charging", "charger", "drains", "swollen"],
            &["refund", "money", "returned", "reimburse", "cancelled", "credited", "chargeback"],
            &["login", "password", "locked", "account", "reset", "verification", "sign"],
            &["delivery", "parcel", "courier", "tracking", "shipped", "package", "arrived"],
            &["电池", "发热", "发烫", "充电", "充电器", "鼓包", "耗电"],
            &["退款", "到账", "退货", "取消", "退回", "原路", "返还"],
        ];
        let filler = [
            "please", "help", "today", "order", "still", "again", "urgent", "phone", "订单", "客服", "今天",
            "麻烦",
        ];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let (mut texts, mut truth) = (Vec::new(), Vec::new());
        for i in 0..360 {
            let t = i % topics.len();
            let mut words: Vec<&str> =
                (0..rng.random_range(2..=4)).map(|_| topics[t][rng.random_range(0..7)]).collect();
            words.extend((0..rng.random_range(2..=4)).map(|_| filler[rng.random_range(0..filler.len())]));
            words.shuffle(&mut rng);
            texts.push(words.join(" "));
            truth.push(t);
        }
        (texts, truth)
    }

    #[test]
    fn recovers_the_topics_labels_them_and_assigns_new_tickets_after_a_reload() {
        let (texts, truth) = tickets();
        let config = FitConfig { k: Some(6), dims: 16, center: false, ..FitConfig::default() };
        let fitted = TopicModel::fit(&texts, &config, &|_, _| {}).unwrap();
        let predicted: Vec<usize> = fitted.assignments.iter().map(|a| a.unwrap()).collect();
        assert!(nmi_of(&truth, &predicted) > 0.95, "{:?}", fitted.model.topics);
        let battery = fitted.assignments[0].unwrap();
        assert!(
            fitted.model.topics[battery].terms.iter().any(|t| t == "battery"),
            "{:?}",
            fitted.model.topics
        );
        let battery_zh = fitted.assignments[4].unwrap();
        let reloaded = TopicModel::from_bytes(&fitted.model.to_bytes().unwrap()).unwrap();
        assert_eq!(reloaded, fitted.model);
        assert_eq!(reloaded.assign("my battery is overheating").map(|a| a.0), Some(battery));
        assert_eq!(reloaded.assign("电池 发烫 鼓包").map(|a| a.0), Some(battery_zh));
        assert_eq!(reloaded.assign("zzz qqq"), None, "no known word, no topic");
    }

    #[test]
    fn chooses_k_by_silhouette_when_not_given() {
        let (texts, _) = tickets();
        let config = FitConfig { k: None, k_range: (2, 10), dims: 16, center: false, ..FitConfig::default() };
        let fitted = TopicModel::fit(&texts, &config, &|_, _| {}).unwrap();
        let KChoice::Silhouette(scores) = &fitted.k else { panic!("{:?}", fitted.k) };
        assert_eq!(scores.len(), 9, "every k from 2 to 10: {scores:?}");
        assert_eq!(fitted.model.k(), 6, "{scores:?}");
    }

    fn nmi_of(a: &[usize], b: &[usize]) -> f64 {
        super::super::nmi(a, b)
    }
}
