use super::parse_chunk_size;

#[test]
fn chunk_sizes() {
    assert_eq!(parse_chunk_size("16M"), Ok(16 << 20));
    assert_eq!(parse_chunk_size("512k"), Ok(512 << 10));
    assert_eq!(parse_chunk_size("1GiB"), Ok(1 << 30));
    assert_eq!(parse_chunk_size("65536"), Ok(65536));
    assert!(parse_chunk_size("1K").is_err());
    assert!(parse_chunk_size("2G").is_err());
    assert!(parse_chunk_size("lots").is_err());
}
