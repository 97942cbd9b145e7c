use super::*;

#[test]
fn content_range() {
    assert_eq!(
        parse_content_range("bytes 10-19/20"),
        Some((10, 19, Some(20)))
    );
    assert_eq!(parse_content_range("bytes 0-0/*"), Some((0, 0, None)));
    assert_eq!(parse_content_range("bytes */20"), None);
    assert_eq!(parse_content_range("bytes 9-3/20"), None);
    assert_eq!(parse_content_range("items 0-1/2"), None);
}
