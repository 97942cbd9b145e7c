use super::*;

#[test]
fn sizes_and_durations_read_like_hf() {
    assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
    assert_eq!(parse_size("10k"), Ok(10_000));
    assert_eq!(parse_size("2MiB"), Ok(2 << 20));
    assert_eq!(parse_size("512"), Ok(512));
    assert!(parse_size("GB").is_err());
    assert_eq!(parse_duration("7d"), Ok(7 * 86_400));
    assert_eq!(parse_duration("3mo"), Ok(90 * 86_400));
    assert!(parse_duration("3q").is_err());
}

#[test]
fn bad_filters_and_sorts_are_usage_errors() {
    for bad in [
        "size",
        "size~3",
        "type>model",
        "refs!=main",
        "colour=red",
        "size>",
    ] {
        assert!(compile_filter(bad).is_err(), "{bad}");
    }
    for good in [
        "size>1GB",
        "size == 0",
        "type=model",
        "accessed>=7d",
        "refs=main",
    ] {
        assert!(compile_filter(good).is_ok(), "{good}");
    }
    assert!(compile_sort("size:down").is_err());
    assert!(compile_sort("colour").is_err());
}

#[test]
fn times_since_as_hf_says_them() {
    let now = 1_000_000.0;
    assert_eq!(time_since(now - 5.0, now), "a few seconds ago");
    assert_eq!(time_since(now - 90.0, now), "2 minutes ago");
    assert_eq!(time_since(now - 3_600.0, now), "1 hour ago");
    assert_eq!(time_since(now - 10.0 * 86_400.0, now), "1 week ago");
    assert_eq!(time_since(now - 400.0 * 86_400.0, now), "1 year ago");
}

#[test]
fn rfc3339_in_utc() {
    assert_eq!(rfc3339(0.0), "1970-01-01T00:00:00Z");
    // `date -u -d @1795658539 +%FT%TZ`
    assert_eq!(rfc3339(1_795_658_539.289), "2026-11-26T02:02:19Z");
    assert_eq!(rfc3339(951_782_400.0), "2000-02-29T00:00:00Z");
}
