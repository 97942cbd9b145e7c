use super::*;

#[test]
fn round_trip_in_python_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trees/abc.json");
    let entries = vec![
        TreeEntry {
            kind: "file".into(),
            path: "config.json".into(),
            oid: "1".repeat(40),
            size: 5,
            lfs: None,
            xet_hash: None,
        },
        TreeEntry {
            kind: "file".into(),
            path: "model.bin".into(),
            oid: "2".repeat(40),
            size: 9,
            lfs: Some(LfsInfo {
                oid: "3".repeat(64),
                size: 9,
            }),
            xet_hash: Some("4".repeat(64)),
        },
    ];
    write(&path, &entries).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("{\n \"format_version\": 1,"), "{text}");
    assert!(text.contains("\"lfs_sha256\""));
    assert_eq!(read(&path).unwrap(), entries);
}
