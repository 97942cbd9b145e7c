use super::*;

#[test]
fn filters_follow_fnmatch() {
    let filter =
        FileFilter::new(&["*.json".into(), "onnx/".into()], &["tokenizer*".into()]).unwrap();
    assert!(filter.matches("config.json"));
    assert!(filter.matches("sub/dir/x.json"), "* crosses / like fnmatch");
    assert!(filter.matches("onnx/model.onnx"));
    assert!(!filter.matches("tokenizer.json"));
    assert!(!filter.matches("model.safetensors"));
    assert!(FileFilter::new(&[], &[]).unwrap().matches("anything"));
    assert!(FileFilter::new(&["[".into()], &[]).is_err());
}

#[test]
fn hostile_listings_are_refused_whole() {
    let entry = |path: &str| TreeEntry {
        kind: "file".into(),
        path: path.into(),
        oid: "a".repeat(40),
        size: 1,
        lfs: None,
        xet_hash: None,
    };
    assert!(remote_files(&[entry("ok.txt"), entry("../evil")]).is_err());
    assert!(matches!(
        remote_files(&[entry("A.txt"), entry("a.txt")]),
        Err(DownloadError::PathCollision(..))
    ));
    assert_eq!(remote_files(&[entry("ok.txt")]).unwrap().len(), 1);
}
