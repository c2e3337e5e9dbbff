//! Memory per open conversation: opens N conversations (default 1,000,000), each with a start,
//! a customer message, a bot reply (first response met), a second customer message and a handoff
//! to a human who has not answered yet (waiting for a human; next-reply and resolution SLA clocks
//! running), and reports the growth of resident memory per
//! conversation (conversation state, its index and timers, and the windows they feed), plus the
//! time taken.
//!
//! ```sh
//! cargo run --release -p ticketpulse-pipeline --example open_conversations -- 1000000
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};
use ticketpulse_pipeline::conversation::{ConversationConfig, ConversationOperator, SlaPolicyConfig};
use ticketpulse_pipeline::metrics::{WindowOperator, WindowSpec};
use ticketpulse_schemas::{Event, EventKind, Role};

/// Resident memory of this process, bytes (Linux `/proc/self/status`).
fn rss() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        .unwrap_or(0);
    kb * 1024
}

fn event(conv: &str, seq: u32, ts_ms: i64, kind: EventKind, channel: Option<&str>) -> Event {
    Event {
        event_id: format!("{conv}-{seq}"),
        conversation_id: conv.into(),
        ts_ms,
        kind,
        channel: channel.map(Into::into),
        agent_id: None,
        team: Some("support".into()),
        customer_id: Some(format!("u{}", seq * 7919 + 13)),
        lang: None,
        attrs: None,
    }
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let config = ConversationConfig {
        sla: vec![SlaPolicyConfig {
            first_response: Some(Duration::from_secs(30)),
            next_reply: Some(Duration::from_secs(120)),
            resolution: Some(Duration::from_secs(4 * 3600)),
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut conversations = ConversationOperator::new(&config, 300_000, 3_600_000);
    let mut windows = WindowOperator::new(
        vec![WindowSpec::tumbling(60_000), WindowSpec { width_ms: 3_600_000, slide_ms: 900_000 }],
        300_000,
        86_400_000,
    );
    let channels = ["web", "app", "wechat", "weibo", "douyin", "email", "phone"];
    let base = 1_793_548_800_000i64;
    let before = rss();
    let started = Instant::now();
    let mut events = 0u64;
    for i in 0..n {
        let id = format!("c{i:08}");
        // conversations start over one hour, so the windows stay few
        let t = base + (i as i64 * 3_600_000) / n as i64;
        let ch = channels[i % channels.len()];
        let evs = [
            event(&id, 1, t, EventKind::ConversationStarted, Some(ch)),
            event(
                &id,
                2,
                t + 2_000,
                EventKind::Message { role: Role::Customer, text: "where is my parcel".into() },
                None,
            ),
            event(
                &id,
                3,
                t + 4_000,
                EventKind::Message { role: Role::Bot, text: "let me check".into() },
                None,
            ),
            event(
                &id,
                5,
                t + 10_000,
                EventKind::Message { role: Role::Customer, text: "it says delivered".into() },
                None,
            ),
            event(
                &id,
                4,
                t + 30_000,
                EventKind::Handoff { tier: 2, reason: Some("customer_request".into()) },
                None,
            ),
        ];
        for e in &evs {
            conversations.apply(e, &mut windows, i64::MIN);
            events += 1;
        }
    }
    let elapsed = started.elapsed();
    let total = rss() - before;
    let open = conversations.open_conversations();
    assert_eq!(open, n);
    let per = total as f64 / n as f64;
    println!(
        "{open} open conversations: {:.0} MiB resident memory added, {per:.0} bytes per conversation (state, index, \
         timers, and the {} open windows they feed); {events} events in {:.2}s ({:.0} events/s)",
        total as f64 / 1_048_576.0,
        windows.open_windows(),
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64()
    );
}
