use super::*;

fn parse(input: &str) -> RepoArgument {
    parse_repo_argument(input, None).unwrap()
}

#[test]
fn plain_and_prefixed_ids() {
    assert_eq!(
        parse("acme/tiny").repo,
        RepoId::new(RepoType::Model, "acme/tiny").unwrap()
    );
    assert_eq!(parse("datasets/acme/d").repo.repo_type, RepoType::Dataset);
    assert_eq!(parse("spaces/acme/s").repo.id, "acme/s");
    assert_eq!(parse("gpt2").repo.id, "gpt2");
    assert_eq!(
        parse_repo_argument("acme/d", Some(RepoType::Dataset))
            .unwrap()
            .repo
            .repo_type,
        RepoType::Dataset
    );
}

#[test]
fn conflicting_types_are_refused() {
    assert!(matches!(
        parse_repo_argument("datasets/acme/d", Some(RepoType::Space)),
        Err(RepoIdError::ConflictingType { .. })
    ));
}

#[test]
fn hf_uris() {
    let arg = parse("hf://datasets/acme/d@v1.0/data/train.parquet");
    assert_eq!(arg.repo.repo_type, RepoType::Dataset);
    assert_eq!(arg.repo.id, "acme/d");
    assert_eq!(arg.revision.as_deref(), Some("v1.0"));
    assert_eq!(arg.path.as_deref(), Some("data/train.parquet"));

    let arg = parse("hf://acme/tiny@refs/pr/3/config.json");
    assert_eq!(arg.revision.as_deref(), Some("refs/pr/3"));
    assert_eq!(arg.path.as_deref(), Some("config.json"));

    let arg = parse("hf://acme/tiny@refs/pr/3");
    assert_eq!(arg.revision.as_deref(), Some("refs/pr/3"));
    assert_eq!(arg.path, None);

    let arg = parse("hf://acme/tiny/sub/dir/");
    assert_eq!(arg.revision, None);
    assert_eq!(arg.path.as_deref(), Some("sub/dir/"));
}

#[test]
fn malformed_ids_are_refused() {
    for bad in [
        "", "a/b/c", "a//b", "a/b c", "-a/b", "a/b.", "a--b/c", "a/..", "../x", "a/b?x",
    ] {
        assert!(
            parse_repo_argument(bad, None).is_err(),
            "{bad:?} should be refused"
        );
    }
}

#[test]
fn revisions() {
    for good in [
        "main",
        "v1.0",
        "refs/pr/1",
        "feature/x",
        "0123456789abcdef0123456789abcdef01234567",
    ] {
        assert!(validate_revision(good).is_ok(), "{good}");
    }
    for bad in [
        "", " main", "a..b", "a b", "x.lock", "/x", "x/", "a:b", "a\nb",
    ] {
        assert!(validate_revision(bad).is_err(), "{bad:?}");
    }
    assert!(is_commit_hash("0123456789abcdef0123456789abcdef01234567"));
    assert!(!is_commit_hash("0123456789ABCDEF0123456789abcdef01234567"));
}

#[test]
fn cache_folder_names() {
    let repo = RepoId::new(RepoType::Dataset, "Org/Name").unwrap();
    assert_eq!(repo.cache_folder_name(), "datasets--Org--Name");
    assert_eq!(repo.web_path(), "datasets/Org/Name");
    assert_eq!(repo.to_string(), "datasets/Org/Name");
}

/// URLs pasted from the browser name the same thing as the id would.
#[test]
fn pasted_hub_urls() {
    type Case<'a> = (&'a str, RepoType, &'a str, Option<&'a str>, Option<&'a str>);
    let cases: &[Case] = &[
        (
            "https://huggingface.co/acme/tiny",
            RepoType::Model,
            "acme/tiny",
            None,
            None,
        ),
        (
            "https://huggingface.co/acme/tiny/",
            RepoType::Model,
            "acme/tiny",
            None,
            None,
        ),
        (
            "https://huggingface.co/acme/tiny/blob/main/config.json",
            RepoType::Model,
            "acme/tiny",
            Some("main"),
            Some("config.json"),
        ),
        (
            "https://huggingface.co/acme/tiny/resolve/main/nested/a.txt?download=true",
            RepoType::Model,
            "acme/tiny",
            Some("main"),
            Some("nested/a.txt"),
        ),
        (
            "https://huggingface.co/acme/tiny/tree/dev",
            RepoType::Model,
            "acme/tiny",
            Some("dev"),
            None,
        ),
        (
            "https://huggingface.co/datasets/acme/data/tree/main/data",
            RepoType::Dataset,
            "acme/data",
            Some("main"),
            Some("data/"),
        ),
        (
            "https://huggingface.co/spaces/acme/demo",
            RepoType::Space,
            "acme/demo",
            None,
            None,
        ),
        (
            "https://hf-mirror.com/acme/tiny/blob/refs%2Fpr%2F1/README.md",
            RepoType::Model,
            "acme/tiny",
            Some("refs/pr/1"),
            Some("README.md"),
        ),
        (
            "https://huggingface.co/gpt2/blob/main/config.json",
            RepoType::Model,
            "gpt2",
            Some("main"),
            Some("config.json"),
        ),
    ];
    for (url, repo_type, id, revision, path) in cases {
        let arg = parse(url);
        assert_eq!(arg.repo.repo_type, *repo_type, "{url}");
        assert_eq!(arg.repo.id, *id, "{url}");
        assert_eq!(arg.revision.as_deref(), *revision, "{url}");
        assert_eq!(arg.path.as_deref(), *path, "{url}");
    }
    for bad in [
        "https://huggingface.co/",
        "https://huggingface.co/acme/tiny/discussions/3",
        "https://huggingface.co/a b/c",
    ] {
        assert!(parse_repo_argument(bad, None).is_err(), "{bad}");
    }
}
