use super::*;

#[test]
fn window_start_floors_including_negative_times() {
    assert_eq!(window_start(119_999, 60_000), 60_000);
    assert_eq!(window_start(120_000, 60_000), 120_000);
    assert_eq!(window_start(-1, 60_000), -60_000);
}

#[test]
fn watermark_is_min_over_partitions_and_monotonic() {
    let now = Instant::now();
    let mut t = WatermarkTracker::new(Duration::from_secs(30));
    assert_eq!(t.observe(0, 1_000, now), MIN_WATERMARK);
    assert_eq!(t.watermark(), 1_000);
    t.observe(1, 500, now);
    assert_eq!(t.watermark(), 1_000, "never goes back");
    t.observe(1, 2_000, now);
    t.observe(0, 3_000, now);
    assert_eq!(t.watermark(), 2_000);
    assert_eq!(t.max_event_time(), Some(3_000));
}

#[test]
fn an_assigned_silent_partition_holds_until_idle() {
    let now = Instant::now();
    let mut t = WatermarkTracker::new(Duration::from_secs(30));
    t.assign(&[0, 1], now);
    t.observe(0, 10_000, now);
    assert_eq!(t.watermark(), MIN_WATERMARK, "partition 1 has said nothing yet");
    assert_eq!(t.tick(now + Duration::from_secs(29)), MIN_WATERMARK, "still holding before the timeout");
    assert_eq!(t.tick(now + Duration::from_secs(31)), 10_000, "both idle: the largest time seen");
    // partition 0 active again, partition 1 idle: 0 alone drives the watermark
    let later = now + Duration::from_secs(31);
    t.observe(0, 20_000, later);
    assert_eq!(t.watermark(), 20_000);
}

#[test]
fn idle_partitions_do_not_hold_the_watermark() {
    let now = Instant::now();
    let mut t = WatermarkTracker::new(Duration::from_secs(5));
    t.observe(0, 1_000, now);
    t.observe(1, 9_000, now);
    assert_eq!(t.watermark(), 1_000);
    let later = now + Duration::from_secs(6);
    t.observe(1, 9_500, later);
    assert_eq!(t.watermark(), 9_500, "partition 0 went idle");
    t.rest_at(5_000);
    assert_eq!(t.watermark(), 9_500, "resting never moves the watermark back");
    t.assign(&[], later);
    assert_eq!(t.max_event_time(), Some(9_500), "the largest time seen survives revocation");
}

#[test]
fn all_partitions_idle_gives_the_max() {
    let now = Instant::now();
    let mut t = WatermarkTracker::new(Duration::from_secs(1));
    t.observe(0, 1_000, now);
    t.observe(1, 5_000, now);
    assert_eq!(t.tick(now + Duration::from_secs(2)), 5_000);
}

#[test]
fn a_reassigned_partition_is_active_again_however_long_the_assignment_took() {
    // A restart restores partition clocks, then waits for the group (maybe longer than the idle
    // timeout); the reassigned partitions must hold the watermark again, or the first partition
    // to deliver would make the others' records late.
    let start = Instant::now();
    let mut t = WatermarkTracker::new(Duration::from_secs(30));
    t.observe(0, 1_000, start);
    t.observe(1, 1_000, start);
    let assigned_at = start + Duration::from_secs(45);
    t.assign(&[0, 1], assigned_at);
    t.observe(0, 900_000, assigned_at);
    assert_eq!(t.watermark(), 1_000, "partition 1 holds the watermark after reassignment");
}
