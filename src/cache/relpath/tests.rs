use super::*;

#[test]
fn hostile_names_are_refused() {
    for bad in [
        "",
        "/etc/passwd",
        "../x",
        "a/../../x",
        "a/./b",
        "a//b",
        "a\\..\\b",
        "C:/x",
        "a\0b",
        "a/\nb",
        "..",
        "x/..",
    ] {
        assert!(RepoPath::new(bad).is_err(), "{bad:?} should be refused");
    }
    for good in [
        "config.json",
        "a/b/c.bin",
        ".gitattributes",
        "a/.hidden",
        "..x/y..z",
    ] {
        assert!(RepoPath::new(good).is_ok(), "{good:?} should pass");
    }
}

#[test]
fn joins_stay_inside() {
    let path = RepoPath::new("a/b/c.bin").unwrap();
    assert_eq!(
        path.under(Path::new("/base")),
        PathBuf::from("/base/a/b/c.bin")
    );
    assert_eq!(path.depth(), 2);
}

#[test]
fn case_collisions_are_found() {
    let a = RepoPath::new("Model.bin").unwrap();
    let b = RepoPath::new("model.bin").unwrap();
    let c = RepoPath::new("other").unwrap();
    assert!(find_collision([&a, &c]).is_none());
    assert!(find_collision([&a, &c, &b]).is_some());
}
