//! `ticketpulse import twcs FILE.csv --out events.jsonl`: turns the Customer Support on Twitter
//! log (Kaggle "twcs": `tweet_id, author_id, inbound, created_at, text, response_tweet_id,
//! in_response_to_tweet_id`) into contract events.
//!
//! Mapping: a thread — a tweet and every tweet that answers it, followed through
//! `in_response_to_tweet_id` — is one conversation, `twcs-<root tweet id>`, on channel `twitter`.
//! It opens with a `conversation_started` at the root's time. Every tweet becomes a `message`
//! (`twcs-<tweet id>`): inbound tweets are the customer (`customer_id` = author), company tweets
//! are an agent (`agent_id` = `team` = the company's handle). The thread's team is the first
//! company that tweets in it, also set on `conversation_started`. Events are written in time
//! order.
//!
//! Dropped, and counted in the summary: rows that are not valid CSV or lack a tweet id, an author
//! or a parsable `created_at`. A tweet whose parent is not in the file starts its own thread.

use anyhow::{Context, Result};
use chrono::DateTime;
use clap::{Args, Subcommand};
use serde_json::json;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `ticketpulse import ...`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    format: Format,
}

#[derive(Debug, Subcommand)]
enum Format {
    /// The Customer Support on Twitter CSV (twcs.csv or a sample of it).
    Twcs(TwcsArgs),
}

/// `ticketpulse import twcs`.
#[derive(Debug, Args)]
pub struct TwcsArgs {
    /// The CSV file.
    file: PathBuf,
    /// Where to write the JSONL events.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// One usable row of the CSV.
#[derive(Debug, Clone)]
struct Tweet {
    id: String,
    author: String,
    inbound: bool,
    ts_ms: i64,
    text: String,
    parent: Option<String>,
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Imported {
    /// CSV rows read.
    pub rows: u64,
    /// Rows dropped, by reason.
    pub dropped: Vec<(String, u64)>,
    /// Conversations (threads).
    pub conversations: u64,
    /// Events written.
    pub events: u64,
}

/// Runs the subcommand.
pub fn main(args: ImportArgs) -> Result<()> {
    let Format::Twcs(a) = args.format;
    let imported = twcs(&a.file, &a.out)?;
    println!(
        "read {} rows: {} conversations, {} events written to {}",
        imported.rows,
        imported.conversations,
        imported.events,
        a.out.display()
    );
    for (reason, n) in &imported.dropped {
        println!("dropped {n} rows: {reason}");
    }
    Ok(())
}

/// Parses twcs's `Tue Oct 31 22:10:47 +0000 2017`.
fn parse_time(s: &str) -> Option<i64> {
    DateTime::parse_from_str(s.trim(), "%a %b %d %H:%M:%S %z %Y").ok().map(|t| t.timestamp_millis())
}

fn read(file: &Path, dropped: &mut HashMap<&'static str, u64>) -> Result<(u64, Vec<Tweet>)> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(file)
        .with_context(|| format!("opening {}", file.display()))?;
    let headers =
        reader.headers().with_context(|| format!("reading the header of {}", file.display()))?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("{} has no `{name}` column", file.display()))
    };
    let [id, author, inbound, created, text, parent] =
        ["tweet_id", "author_id", "inbound", "created_at", "text", "in_response_to_tweet_id"];
    let (id, author, inbound, created, text, parent) =
        (column(id)?, column(author)?, column(inbound)?, column(created)?, column(text)?, column(parent)?);
    let mut rows = 0;
    let mut tweets = Vec::new();
    for record in reader.records() {
        rows += 1;
        let Ok(r) = record else {
            *dropped.entry("not valid CSV").or_default() += 1;
            continue;
        };
        let field = |i: usize| r.get(i).map(str::trim).unwrap_or("");
        if field(id).is_empty() || field(author).is_empty() {
            *dropped.entry("no tweet_id or author_id").or_default() += 1;
            continue;
        }
        let Some(ts_ms) = parse_time(field(created)) else {
            *dropped.entry("created_at not parsable").or_default() += 1;
            continue;
        };
        tweets.push(Tweet {
            id: field(id).to_string(),
            author: field(author).to_string(),
            inbound: field(inbound).eq_ignore_ascii_case("true"),
            ts_ms,
            text: r.get(text).unwrap_or("").to_string(),
            parent: Some(field(parent).to_string()).filter(|p| !p.is_empty()),
        });
    }
    Ok((rows, tweets))
}

/// The root of every tweet's thread (a tweet whose parent is absent is a root; cycles end at the
/// tweet where they are detected).
fn roots(tweets: &[Tweet]) -> Vec<usize> {
    let index: HashMap<&str, usize> = tweets.iter().enumerate().map(|(i, t)| (t.id.as_str(), i)).collect();
    let mut root: Vec<Option<usize>> = vec![None; tweets.len()];
    for start in 0..tweets.len() {
        let mut path = vec![start];
        let mut at = start;
        let found = loop {
            if let Some(r) = root[at] {
                break r;
            }
            match tweets[at].parent.as_deref().and_then(|p| index.get(p)) {
                Some(&p) if !path.contains(&p) => {
                    path.push(p);
                    at = p;
                }
                _ => break at,
            }
        };
        for i in path {
            root[i] = Some(found);
        }
    }
    root.into_iter().enumerate().map(|(i, r)| r.unwrap_or(i)).collect()
}

/// Converts `file` to contract events in `out`.
pub fn twcs(file: &Path, out: &Path) -> Result<Imported> {
    let mut dropped = HashMap::new();
    let (rows, tweets) = read(file, &mut dropped)?;
    let roots = roots(&tweets);
    let mut threads: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, &r) in roots.iter().enumerate() {
        threads.entry(r).or_default().push(i);
    }
    let mut events: Vec<(i64, String, String)> = Vec::with_capacity(tweets.len() + threads.len());
    for (&root, members) in &threads {
        let mut members = members.clone();
        members.sort_by(|&a, &b| (tweets[a].ts_ms, &tweets[a].id).cmp(&(tweets[b].ts_ms, &tweets[b].id)));
        let conversation = format!("twcs-{}", tweets[root].id);
        let team = members.iter().map(|&i| &tweets[i]).find(|t| !t.inbound).map(|t| t.author.clone());
        let first = &tweets[members[0]];
        let mut start = json!({
            "event_id": format!("{conversation}-start"),
            "conversation_id": conversation,
            "ts": first.ts_ms,
            "type": "conversation_started",
            "channel": "twitter",
        });
        if let Some(team) = &team {
            start["team"] = json!(team);
        }
        if first.inbound {
            start["customer_id"] = json!(first.author);
        }
        events.push((first.ts_ms, conversation.clone(), start.to_string()));
        for &i in &members {
            let t = &tweets[i];
            let mut e = json!({
                "event_id": format!("twcs-{}", t.id),
                "conversation_id": conversation,
                "ts": t.ts_ms,
                "type": "message",
                "role": if t.inbound { "customer" } else { "agent" },
                "text": t.text,
            });
            if t.inbound {
                e["customer_id"] = json!(t.author);
            } else {
                e["agent_id"] = json!(t.author);
                e["team"] = json!(t.author);
            }
            events.push((t.ts_ms, conversation.clone(), e.to_string()));
        }
    }
    // time order; a thread's start before its first tweet at the same millisecond
    events.sort_by(|a, b| {
        (a.0, &a.1, !a.2.contains("conversation_started")).cmp(&(
            b.0,
            &b.1,
            !b.2.contains("conversation_started"),
        ))
    });
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?,
    );
    for (_, _, line) in &events {
        writeln!(w, "{line}").with_context(|| format!("writing {}", out.display()))?;
    }
    w.flush().with_context(|| format!("writing {}", out.display()))?;
    let mut dropped: Vec<(String, u64)> = dropped.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    dropped.sort();
    Ok(Imported { rows, dropped, conversations: threads.len() as u64, events: events.len() as u64 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_follow_replies_and_roles_follow_inbound() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("t.csv");
        std::fs::write(
            &csv,
            "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n\
             2,AcmeHelp,False,Tue Oct 31 22:11:45 +0000 2017,\"@u1 Sorry, DM us\",3,1\n\
             1,u1,True,Tue Oct 31 22:10:47 +0000 2017,@AcmeHelp my order is late,2,\n\
             3,u1,True,Tue Oct 31 22:15:00 +0000 2017,done,,2\n\
             9,u2,True,not a date,hello,,\n\
             7,u3,True,Wed Nov 01 08:00:00 +0000 2017,anyone?,,99\n",
        )
        .unwrap();
        let out = dir.path().join("e.jsonl");
        let imported = twcs(&csv, &out).unwrap();
        assert_eq!(imported.rows, 5);
        assert_eq!(imported.conversations, 2, "thread 1-2-3, and 7 whose parent is missing");
        assert_eq!(imported.dropped, vec![("created_at not parsable".to_string(), 1)]);
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 6);
        assert_eq!(lines[0]["type"], "conversation_started");
        assert_eq!((&lines[0]["team"], &lines[0]["customer_id"]), (&json!("AcmeHelp"), &json!("u1")));
        assert_eq!(lines[1]["role"], "customer");
        assert_eq!((&lines[2]["role"], &lines[2]["agent_id"]), (&json!("agent"), &json!("AcmeHelp")));
        assert_eq!(lines[2]["ts"], 1_509_487_905_000i64);
        assert!(lines.iter().take(4).all(|l| l["conversation_id"] == "twcs-1"));
        for l in &lines {
            let bytes = l.to_string();
            assert!(ticketpulse_pipeline::decode::decode(bytes.as_bytes()).is_ok(), "{bytes}");
        }
    }
}
