use super::*;
use std::sync::Arc;

fn web() -> Vec<Group> {
    vec![(Dimension::Channel, Arc::from("web"))]
}

fn channel_rows(rows: Vec<ClosedWindow>) -> Vec<ClosedWindow> {
    rows.into_iter().filter(|r| r.group.0 == Dimension::Channel).collect()
}

fn item(at: i64, measure: Measure, value: i64) -> Item {
    Item { at, measure, value, tier: 1 }
}

#[test]
fn closes_after_end_plus_lateness_then_corrects_within_the_horizon_and_refuses_beyond() {
    let mut w = WindowOperator::new(vec![WindowSpec::tumbling(60_000)], 30_000, 100_000);
    w.apply(&web(), &item(0, Measure::Started, 1), 1);
    w.apply(&web(), &item(10, Measure::Message, 1), 1);
    assert!(w.close(89_999, 0).is_empty(), "end 60s + lateness 30s not reached");
    let closed = channel_rows(w.close(90_000, 0));
    assert_eq!(closed.len(), 1);
    assert_eq!((closed[0].aggregate.messages, closed[0].revision), (1, 1));
    assert_eq!((closed[0].start, closed[0].end), (0, 60_000));
    assert!(w.close(100_000, 0).is_empty(), "emitted once");
    let a = w.apply(&web(), &item(20, Measure::Message, 1), 1);
    assert_eq!(a, Applied { refused: 0, corrected: 1 });
    let fixed: Vec<_> = w.corrections().into_iter().filter(|r| r.0.group.0 == Dimension::Channel).collect();
    assert_eq!(fixed.len(), 1);
    assert_eq!((fixed[0].0.revision, fixed[0].0.aggregate.messages, fixed[0].1.messages), (2, 2, 1));
    assert!(w.corrections().is_empty(), "a correction is emitted once");
    w.close(190_000, 0);
    assert_eq!(w.apply(&web(), &item(30, Measure::Message, 1), 1), Applied { refused: 1, corrected: 0 });
    assert_eq!(w.retained_windows(), 0);
}

#[test]
fn retraction_moves_a_duration_between_open_windows() {
    let mut w = WindowOperator::new(vec![WindowSpec::tumbling(60_000)], 0, 0);
    w.apply(&web(), &item(120_000, Measure::FirstResponse, 5_000), 1);
    w.apply(&web(), &item(120_000, Measure::FirstResponse, 5_000), -1);
    w.apply(&web(), &item(60_000, Measure::FirstResponse, 2_000), 1);
    let closed = channel_rows(w.close(i64::MAX, 0));
    assert_eq!(closed.len(), 1, "the emptied window is not emitted: {closed:?}");
    assert_eq!(closed[0].start, 60_000);
    assert_eq!(closed[0].aggregate.first_response.mean_s(), Some(2.0));
}

#[test]
fn a_hopping_item_lands_in_every_window_containing_it() {
    let spec = WindowSpec { width_ms: 60_000, slide_ms: 20_000 };
    assert_eq!(spec.starts(65_000).collect::<Vec<_>>(), vec![20_000, 40_000, 60_000]);
    assert_eq!(spec.starts(-1).collect::<Vec<_>>(), vec![-60_000, -40_000, -20_000]);
    let mut w = WindowOperator::new(vec![spec], 0, 0);
    w.apply(&web(), &item(65_000, Measure::Message, 1), 1);
    let starts: Vec<i64> = channel_rows(w.close(i64::MAX, 0)).iter().map(|c| c.start).collect();
    assert_eq!(starts, vec![20_000, 40_000, 60_000]);
}

#[test]
fn groups_come_out_sorted_within_a_window() {
    let mut w = WindowOperator::new(vec![WindowSpec::tumbling(1_000)], 0, 0);
    for c in ["weibo", "app", "email"] {
        w.apply(&[(Dimension::Channel, Arc::from(c))], &item(0, Measure::Message, 1), 1);
    }
    let names: Vec<(String, i64)> =
        w.close(i64::MAX, 0).into_iter().map(|c| (c.group.1.to_string(), c.aggregate.messages)).collect();
    let want = [("app", 1), ("email", 1), ("weibo", 1), ("1", 3)].map(|(g, n)| (g.to_string(), n));
    assert_eq!(names, want, "channels sorted, then the tier of the items");
}

#[test]
fn a_far_future_watermark_creates_at_most_one_horizon_of_quiet_windows() {
    let mut w = WindowOperator::new(vec![WindowSpec::tumbling(60_000)], 0, 3_600_000);
    w.apply(&web(), &item(0, Measure::Message, 1), 1);
    let year_9999 = 253_402_300_799_000;
    let closed = w.close(year_9999, year_9999);
    assert_eq!(closed.len(), 2, "the window with the message (channel and tier rows): {}", closed.len());
    assert!(w.retained_windows() + w.open_windows() <= 61, "quiet windows are not all created");
}

#[test]
fn windows_written_by_a_drain_are_corrected_by_the_next_run_not_written_again() {
    let mut w = WindowOperator::new(vec![WindowSpec::tumbling(60_000)], 0, 3_600_000);
    w.apply(&web(), &item(10_000, Measure::Message, 1), 1);
    let drained = channel_rows(w.close(i64::MAX, 10_000));
    assert_eq!((drained.len(), drained[0].revision), (1, 1));
    w.rest_at(60_000); // what the runtime does after a drain
    assert_eq!(w.apply(&web(), &item(20_000, Measure::Message, 1), 1).corrected, 1);
    let fixed: Vec<_> = w.corrections().into_iter().filter(|c| c.0.group.0 == Dimension::Channel).collect();
    assert_eq!((fixed[0].0.revision, fixed[0].0.aggregate.messages), (2, 2));
}
