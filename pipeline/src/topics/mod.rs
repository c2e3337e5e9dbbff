//! Ticket topics: TF-IDF + LSA + k-means (linfa-clustering) + a multinomial mixture (EM) over the
//! words of tickets in both languages, with class-based TF-IDF labels. [`text`] makes the tokens,
//! [`tfidf`] the weighted rows, [`model`] fits, [`mixture`] refines and assigns, [`score`] measures agreement with known labels (NMI, ARI).

pub mod mixture;
pub mod model;
pub mod operator;
pub mod score;
pub mod text;
pub mod tfidf;

pub use model::{FitConfig, Fitted, KChoice, Start, Topic, TopicModel};
pub use operator::{OTHER, Refit, TopicOperator, TopicRow, TopicTag, TopicsConfig};
pub use score::{ari, nmi};
pub use text::Tokenizer;
pub use tfidf::{Sparse, Tfidf, VocabularyLimits};
