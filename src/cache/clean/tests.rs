use super::*;

#[test]
fn targets_in_every_spelling() {
    let repo = |id: &str| Ok(Target::Repo(id.to_string()));
    assert_eq!(parse_target("acme/tiny"), repo("model/acme/tiny"));
    assert_eq!(parse_target("model/acme/tiny"), repo("model/acme/tiny"));
    assert_eq!(
        parse_target("datasets/acme/data"),
        repo("dataset/acme/data")
    );
    assert_eq!(parse_target("dataset/acme/data"), repo("dataset/acme/data"));
    assert_eq!(parse_target("hf://spaces/acme/app"), repo("space/acme/app"));
    assert_eq!(
        parse_target("hf://acme/tiny/nested/a.txt"),
        Ok(Target::File {
            repo: "model/acme/tiny".into(),
            path: "nested/a.txt".into()
        })
    );
    let commit = "0123456789ABCDEF0123456789abcdef01234567";
    assert_eq!(
        parse_target(commit),
        Ok(Target::Revision(commit.to_ascii_lowercase()))
    );
    assert!(
        parse_target("hf://acme/tiny@main/a.txt")
            .unwrap_err()
            .contains("revision")
    );
    assert!(
        parse_target("acme/tiny/extra")
            .unwrap_err()
            .contains("hf://acme/tiny/<path>")
    );
    assert!(parse_target("tiny").is_err());
}
