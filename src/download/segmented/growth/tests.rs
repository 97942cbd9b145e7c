use super::*;

#[test]
fn growth_doubles_while_it_pays_and_stops_when_it_does_not() {
    let mut growth = Growth::new(true, false);
    let window = |mb_per_s: f64| (mb_per_s * 1e6 * GROWTH_WINDOW.as_secs_f64()) as u64;
    let mut bytes = 0;
    assert_eq!(
        growth.sample(bytes, true, 8, 32),
        0,
        "the first sample is a baseline"
    );
    bytes += window(10.0);
    assert_eq!(
        growth.sample(bytes, false, 8, 32),
        0,
        "no verdict while connections wait for their first byte"
    );
    bytes += window(100.0);
    assert_eq!(growth.sample(bytes, true, 8, 32), 8, "8 → 16");
    bytes += window(120.0);
    assert_eq!(growth.sample(bytes, true, 16, 32), 0, "settling");
    bytes += window(150.0);
    assert_eq!(
        growth.sample(bytes, true, 16, 32),
        16,
        "1.5× faster: worth another doubling, 16 → 32"
    );
    bytes += window(160.0);
    assert_eq!(growth.sample(bytes, true, 32, 32), 0, "settling");
    bytes += window(170.0);
    assert_eq!(growth.sample(bytes, true, 32, 32), 0, "no gain: stop");
    bytes += window(900.0);
    assert_eq!(growth.sample(bytes, true, 32, 32), 0, "stopped for good");
    let mut pinned = Growth::new(false, false);
    assert_eq!(pinned.sample(0, true, 4, 32), 0);
    assert_eq!(pinned.sample(1 << 30, true, 4, 32), 0);
}

/// A CDN that caps every connection: doubling the connections doubles the bytes, so the next
/// step is ×4 (25 MB/s per connection).
#[test]
fn growth_that_pays_in_proportion_takes_a_bigger_step() {
    let mut growth = Growth::new(true, false);
    let window = |mb_per_s: f64| (mb_per_s * 1e6 * GROWTH_WINDOW.as_secs_f64()) as u64;
    let mut bytes = 0;
    growth.sample(bytes, true, 4, 64);
    bytes += window(100.0);
    assert_eq!(growth.sample(bytes, true, 4, 64), 4, "4 → 8");
    bytes += window(150.0);
    assert_eq!(growth.sample(bytes, true, 8, 64), 0, "settling");
    bytes += window(195.0);
    assert_eq!(
        growth.sample(bytes, true, 8, 64),
        24,
        "1.95× for 2×: 8 → 32"
    );
    bytes += window(500.0);
    assert_eq!(growth.sample(bytes, true, 32, 64), 0, "settling");
    bytes += window(780.0);
    assert_eq!(
        growth.sample(bytes, true, 32, 64),
        32,
        "4× for 4×: ×4 again, up to the limit"
    );
    bytes += window(800.0);
    growth.sample(bytes, true, 64, 64);
    bytes += window(1600.0);
    assert_eq!(growth.sample(bytes, true, 64, 64), 0, "at the limit");
}

#[test]
fn a_fast_links_probe_that_does_not_pay_ends_growth_and_one_that_pays_resumes_it() {
    let window = |mb_per_s: f64| (mb_per_s * 1e6 * GROWTH_WINDOW.as_secs_f64()) as u64;
    let mut idle = Growth::new(true, true);
    let mut bytes = 0;
    idle.sample(bytes, true, 1, 32);
    bytes += window(700.0);
    assert_eq!(
        idle.sample(bytes, true, 1, 32),
        1,
        "one probe, not a doubling"
    );
    bytes += window(700.0);
    assert_eq!(idle.sample(bytes, true, 2, 32), 0, "settling");
    bytes += window(750.0);
    assert_eq!(
        idle.sample(bytes, true, 2, 32),
        0,
        "1.07×: the probe did not pay"
    );
    assert!(idle.is_fast(), "the file stays on one connection");
    bytes += window(5000.0);
    assert_eq!(idle.sample(bytes, true, 2, 32), 0, "stopped for good");

    let mut paying = Growth::new(true, true);
    let mut bytes = 0;
    paying.sample(bytes, true, 1, 32);
    bytes += window(300.0);
    assert_eq!(paying.sample(bytes, true, 1, 32), 1);
    bytes += window(400.0);
    paying.sample(bytes, true, 2, 32);
    bytes += window(590.0);
    assert_eq!(
        paying.sample(bytes, true, 2, 32),
        6,
        "1.97× for 2×: the link was the limit; ×4, 2 → 8"
    );
    assert!(!paying.is_fast());
    assert!(!Growth::new(false, true).is_fast(), "pinned is never fast");
}

#[test]
fn a_fast_link_on_a_busy_machine_gets_no_probe() {
    let stat = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\n";
    let before = CpuTimes::parse(stat).unwrap();
    assert_eq!((before.idle, before.total), (850, 1000));
    let later = CpuTimes::parse("cpu  290 0 150 805 50 5 0 0 0 0\n").unwrap();
    let idle = later.idle_share_since(before);
    assert!((idle - 5.0 / 300.0).abs() < 1e-9, "{idle}");
    assert!(CpuTimes::parse("intr 1 2 3\n").is_none());

    let window = |mb_per_s: f64| (mb_per_s * 1e6 * GROWTH_WINDOW.as_secs_f64()) as u64;
    let mut busy = Growth::new(true, true);
    busy.sample(0, true, 1, 32);
    busy.machine_idle(idle);
    assert!(!busy.may_probe());
    assert_eq!(busy.sample(window(700.0), true, 1, 32), 0, "no probe");

    let mut spare = Growth::new(true, true);
    spare.sample(0, true, 1, 32);
    spare.machine_idle(0.4);
    assert_eq!(spare.sample(window(700.0), true, 1, 32), 1, "a probe");
    let mut normal = Growth::new(true, false);
    normal.machine_idle(0.0);
    assert!(!normal.may_probe(), "only a fast link probes");
}
