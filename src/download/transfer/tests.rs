use super::*;

#[test]
fn content_range() {
    assert_eq!(
        parse_content_range_value("bytes 10-19/20"),
        Some((10, Some(20)))
    );
    assert_eq!(parse_content_range_value("bytes 0-0/*"), Some((0, None)));
    assert_eq!(parse_content_range_value("bytes */20"), None);
    assert_eq!(parse_content_range_value("bytes 9-3/20"), None);
    assert_eq!(parse_content_range_value("items 0-1/2"), None);
}
