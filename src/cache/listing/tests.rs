use super::*;

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
