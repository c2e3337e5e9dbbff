#!/usr/bin/env python3
"""Times the Python peers of ticketpulse's sentiment on the same messages: vaderSentiment on the
English file, SnowNLP on the Chinese one. Prints messages/s for each (single core, one process).

  python3 bench/sentiment_peers.py messages-en.txt messages-zh.txt
"""
import sys
import time

en = [l.rstrip("\n") for l in open(sys.argv[1], encoding="utf-8")]
zh = [l.rstrip("\n") for l in open(sys.argv[2], encoding="utf-8")]

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

vader = SentimentIntensityAnalyzer()
t = time.perf_counter()
for s in en:
    vader.polarity_scores(s)
dt = time.perf_counter() - t
print(f"vaderSentiment: {len(en)} English messages in {dt:.2f} s = {len(en) / dt:,.0f} messages/s")

from snownlp import SnowNLP

t = time.perf_counter()
for s in zh:
    SnowNLP(s).sentiments
dt = time.perf_counter() - t
print(f"SnowNLP: {len(zh)} Chinese messages in {dt:.2f} s = {len(zh) / dt:,.0f} messages/s")
