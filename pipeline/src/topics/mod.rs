//! Ticket topics: TF-IDF + LSA + k-means (linfa-clustering) + a multinomial mixture (EM) over the
//! words of tickets in both languages, with class-based TF-IDF labels. [`text`] makes the tokens,
//! [`tfidf`] the weighted rows, [`model`] fits, [`mixture`] refines and assigns, [`score`] measures agreement with known labels (NMI, ARI).

pub mod mixture;
pub mod model;
pub mod operator;
pub mod score;
pub mod text;
pub mod tfidf;

/// Runs `f` on the first and the second half of `items` (with the index of the half's first item)
/// on two threads (one for fewer than 512 items); the results in order. The halves are fixed, so
/// results do not depend on the machine.
pub(crate) fn in_halves<'a, T: Sync, U: Send>(
    items: &'a [T],
    f: impl Fn(&'a [T], usize) -> U + Sync,
) -> [U; 2] {
    let mid = items.len() / 2;
    let (a, b) = items.split_at(mid);
    if items.len() < 512 {
        return [f(a, 0), f(b, mid)];
    }
    std::thread::scope(|s| {
        let second = s.spawn(|| f(b, mid));
        let first = f(a, 0);
        [first, second.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))]
    })
}

pub use model::{FitConfig, Fitted, KChoice, Start, Topic, TopicModel};
pub use operator::{
    BOUNDARY_MS, Decision, OTHER, Refit, Registered, TopicEvent, TopicOperator, TopicRow, TopicTag,
    TopicsConfig,
};
pub use score::{ari, nmi};
pub use text::Tokenizer;
pub use tfidf::{Sparse, Tfidf, VocabularyLimits};
