use super::*;

/// What Python 2.4's `_save_stored_tokens({"laptop": …, "ci": …})` writes, byte for byte.
const PYTHON_WRITTEN: &str = "[ci]\nhf_token = hf_ci\n\n[laptop]\nhf_token = hf_laptop\n\n";

#[test]
fn writes_what_configparser_writes() {
    let mut stored = StoredTokens::default();
    stored.set("laptop", &Token::parse("hf_laptop").unwrap());
    stored.set("ci", &Token::parse("hf_ci").unwrap());
    assert_eq!(stored.render(), PYTHON_WRITTEN);
    assert_eq!(StoredTokens::parse(PYTHON_WRITTEN).unwrap(), stored);
}

#[test]
fn reads_what_configparser_reads_and_keeps_other_keys() {
    let text = "# a comment\n[oauth-alice]\nHF_TOKEN: hf_oauth\nrefresh_token = r1\nexpires_at = 1752192000\n  continued\n\n; more\n[laptop]\nhf_token=hf_laptop\n";
    let mut stored = StoredTokens::parse(text).unwrap();
    assert_eq!(
        stored.names().collect::<Vec<_>>(),
        ["laptop", "oauth-alice"]
    );
    assert_eq!(stored.token("oauth-alice").unwrap().secret(), "hf_oauth");
    assert_eq!(
        stored.name_of(&Token::parse("hf_laptop").unwrap()),
        Some("laptop")
    );
    stored.set("laptop", &Token::parse("hf_new").unwrap());
    let rendered = stored.render();
    assert_eq!(
        rendered,
        "[laptop]\nhf_token = hf_new\n\n[oauth-alice]\nhf_token = hf_oauth\nrefresh_token = r1\nexpires_at = 1752192000\n\tcontinued\n\n"
    );
    assert_eq!(StoredTokens::parse(&rendered).unwrap(), stored);
    assert!(stored.remove("laptop"));
    assert!(!stored.remove("laptop"));
}

#[test]
fn rejects_what_configparser_rejects() {
    assert_eq!(StoredTokens::parse("hf_token = x\n").unwrap_err().0, 1);
    assert!(StoredTokens::parse("[a]\n[a]\n").is_err());
    assert!(StoredTokens::parse("[a]\njunk\n").is_err());
    let with_default = StoredTokens::parse("[DEFAULT]\nx = 1\n[b]\nhf_token = t\n").unwrap();
    assert_eq!(with_default.names().collect::<Vec<_>>(), ["b"]);
    assert!(with_default.render().starts_with("[DEFAULT]\n"));
}

#[test]
fn save_writes_private_file_and_removes_when_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stored_tokens");
    let mut stored = StoredTokens::default();
    stored.set("a", &Token::parse("hf_a").unwrap());
    stored.save(&path).unwrap();
    assert_eq!(StoredTokens::load(&path).unwrap(), stored);
    stored.remove("a");
    stored.save(&path).unwrap();
    assert!(!path.exists());
}
