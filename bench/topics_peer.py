"""The scikit-learn recipe the topics issue compares against: TfidfVectorizer(sublinear_tf=True)
(English stop words; jieba words for Chinese) + KMeans(n_init=3). Prints the fit time (after
reading, with jieba's dictionary already loaded) and NMI against the labels.
  python topics_peer.py FILE TEXT_COLUMN LABEL_COLUMN K [jieba]
FILE is csv with a header, or tsv without one (columns by index)."""
import csv, sys, time

import pandas as pd
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import normalized_mutual_info_score as nmi

path, text, label, k = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
zh = len(sys.argv) > 5 and sys.argv[5] == "jieba"
if path.endswith((".txt", ".tsv")):
    df = pd.read_csv(path, sep="\t", header=None, quoting=csv.QUOTE_NONE)
    text, label = int(text), int(label)
else:
    df = pd.read_csv(path)
texts = df[text].astype(str).tolist()
if zh:
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    vec = TfidfVectorizer(tokenizer=lambda s: [w for w in jieba.lcut(s) if w.strip()], token_pattern=None,
                          sublinear_tf=True)
else:
    vec = TfidfVectorizer(stop_words="english", sublinear_tf=True)
start = time.perf_counter()
km = KMeans(n_clusters=k, n_init=3, random_state=0).fit(vec.fit_transform(texts))
took = time.perf_counter() - start
print(f"{took:.3f} {nmi(df[label], km.labels_):.4f}")
