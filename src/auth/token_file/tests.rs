use super::*;

#[test]
fn writes_atomically_with_private_modes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new").join("token");
    let token = Token::parse("hf_written_token_0001").unwrap();
    write_token(&path, &token).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "hf_written_token_0001"
    );
    assert_eq!(read_token(&path).unwrap(), Some(token));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
    }
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temp file left behind");
    assert!(remove(&path).unwrap());
    assert!(!remove(&path).unwrap());
}
