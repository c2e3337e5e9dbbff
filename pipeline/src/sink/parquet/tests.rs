use super::*;
use crate::conversation::{ConversationRow, EndReason, Status};
use arrow::array::{Array, Float64Array, StringArray};
use std::sync::Arc;

fn row(id: &str, started_at: i64, frt: Option<f64>) -> ConversationRow {
    ConversationRow {
        conversation_id: Arc::from(id),
        revision: 1,
        channel: Arc::from("web"),
        team: None,
        customer_id: None,
        agent_id: None,
        status: Status::Closed,
        end_reason: EndReason::Closed,
        started_at,
        last_event_at: started_at + 1,
        events: 2,
        messages_by_role: [1, 0, 0, 0, 0],
        first_customer_message_at: Some(started_at),
        first_response_at: frt.map(|s| started_at + (s * 1000.0) as i64),
        first_response_s: frt,
        first_handoff_at: None,
        first_human_response_at: None,
        first_human_response_s: None,
        replies: 0,
        reply_mean_s: None,
        reply_p50_s: None,
        reply_max_s: None,
        waiting_since: Some(started_at),
        handoffs: 1,
        max_tier: 2,
        handoff_reasons: vec!["vip".into(), "bot_failed".into()],
        resolved: false,
        first_resolved_at: None,
        first_resolution_s: None,
        full_resolution_s: None,
        reopens: 0,
        bot_contained: false,
        one_touch: false,
        csat_rating: None,
        night: true,
        business_first_response_s: None,
        business_first_human_response_s: None,
        business_first_resolution_s: None,
        sla_first_response: Some(crate::conversation::Outcome::Pending),
        sla_next_reply: None,
        sla_resolution: None,
        sla_breaches: 0,
        sentiment_first: Some(-0.5),
        sentiment_last: Some(0.5),
        sentiment_min: Some(-0.5),
        sentiment_mean: Some(0.0),
        sentiment_trajectory: Some(std::sync::Arc::from("improved")),
        turned_negative: false,
        angry_with_bot_at: None,
        topic_id: None,
        topic_label: None,
        topic_model_version: None,
    }
}

#[test]
fn writes_one_tmp_file_per_date_and_reads_back_after_rename() -> Result<()> {
    let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", "", e))?;
    let mut sink = ParquetSink::<ConversationRow>::new(dir.path(), 3);
    let day = 86_400_000;
    sink.push(row("a", 1_793_548_800_000, Some(2.5)));
    sink.push(row("b", 1_793_548_800_000 + day, None));
    sink.push(row("c", 1_793_548_800_000 + 5, Some(1.0)));
    let pending = sink.prepare(&crate::sink::Stamp::new("main", 7))?;
    assert_eq!(sink.buffered(), 0);
    assert_eq!(pending.len(), 2);
    assert_eq!(
        pending[0].path, "conversations/date=2026-11-01/part-main-0000000007.parquet",
        "UTC date of 2026-11-02T00:00+08:00"
    );
    assert_eq!(pending[0].rows, 2);
    assert!(read_table(dir.path(), Table::Conversations)?.is_empty(), ".tmp files are invisible");
    for p in &pending {
        std::fs::rename(dir.path().join(&p.tmp), dir.path().join(&p.path))
            .map_err(|e| Error::io("rename", "", e))?;
    }
    let batches = read_table(dir.path(), Table::Conversations)?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 3);
    let b = &batches[0];
    assert_eq!(b.schema(), Table::Conversations.schema());
    let ids =
        b.column_by_name("conversation_id").and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned());
    assert_eq!(ids.map(|a| a.value(1).to_string()), Some("c".to_string()));
    let frt =
        b.column_by_name("first_response_s").and_then(|c| c.as_any().downcast_ref::<Float64Array>().cloned());
    assert_eq!(frt.map(|a| (a.value(0), a.is_null(1))), Some((2.5, false)));
    Ok(())
}

use ticketpulse_schemas::tables::Table;

#[test]
fn every_count_lands_in_the_column_of_its_name() -> Result<()> {
    use crate::metrics::{Aggregate, ClosedWindow, Dimension, WindowSpec};
    use arrow::array::UInt64Array;
    let mut a = Aggregate {
        conversations_started: 1,
        messages: 2,
        bot_contained: 3,
        escalated_tier2: 4,
        escalated_tier3: 5,
        reopened: 6,
        csat_ratings: 7,
        csat_satisfied: 8,
        night_starts: 9,
        backlog: 10,
        sla_met: [11, 12, 13],
        sla_breached: [14, 15, 16],
        ..Default::default()
    };
    for (sketch, n) in [
        (&mut a.first_response, 17),
        (&mut a.first_human_response, 18),
        (&mut a.reply, 19),
        (&mut a.resolution, 20),
    ] {
        for _ in 0..n {
            sketch.add(1_000, 1);
        }
    }
    let w = ClosedWindow {
        spec: WindowSpec::tumbling(60_000),
        start: 0,
        end: 60_000,
        group: (Dimension::Channel, Arc::from("web")),
        revision: 1,
        aggregate: a,
    };
    let batch = <ClosedWindow as TableRow>::to_batch(&[&w])?;
    let expected = [
        ("conversations_started", 1),
        ("messages", 2),
        ("bot_contained", 3),
        ("escalated_tier2", 4),
        ("escalated_tier3", 5),
        ("reopened", 6),
        ("csat_ratings", 7),
        ("csat_satisfied", 8),
        ("night_starts", 9),
        ("backlog", 10),
        ("sla_first_response_met", 11),
        ("sla_next_reply_met", 12),
        ("sla_resolution_met", 13),
        ("sla_first_response_breached", 14),
        ("sla_next_reply_breached", 15),
        ("sla_resolution_breached", 16),
        ("first_responses", 17),
        ("first_human_responses", 18),
        ("replies", 19),
        ("resolved", 20),
    ];
    for (name, want) in expected {
        let col = batch.column_by_name(name).and_then(|c| c.as_any().downcast_ref::<UInt64Array>().cloned());
        assert_eq!(col.map(|c| c.value(0)), Some(want), "{name}");
    }
    let roles = row("a", 0, None);
    let batch = <ConversationRow as TableRow>::to_batch(&[&ConversationRow {
        messages_by_role: [1, 2, 3, 4, 5],
        ..roles
    }])?;
    for (i, name) in
        ["customer_messages", "bot_messages", "agent_messages", "expert_messages", "system_messages"]
            .into_iter()
            .enumerate()
    {
        let col = batch
            .column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<arrow::array::UInt32Array>().cloned());
        assert_eq!(col.map(|c| c.value(0)), Some(i as u32 + 1), "{name}");
    }
    Ok(())
}
