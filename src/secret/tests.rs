use super::*;

#[test]
fn parse_cleans_like_python() {
    assert_eq!(Token::parse("  hf_abc\r\n").unwrap().secret(), "hf_abc");
    assert!(Token::parse(" \n").is_none());
}

#[test]
fn masking_never_shows_the_secret() {
    let token = Token::parse("hf_abcdefghijklmnopqrstuvwxyz1234").unwrap();
    assert_eq!(token.masked(), "hf_…1234");
    assert_eq!(format!("{token:?}"), "Token(hf_…1234)");
    assert_eq!(format!("{token}"), "hf_…1234");
    assert!(!mask("short").contains("short"));
    assert_eq!(
        redact(
            "Bearer hf_abcdefghijklmnopqrstuvwxyz1234 sent",
            Some(&token)
        ),
        "Bearer hf_…1234 sent"
    );
}

#[test]
fn url_passwords_are_masked() {
    assert_eq!(
        redact_url_password("http://u:secret@proxy:3128"),
        "http://u:****@proxy:3128/"
    );
    assert_eq!(
        redact_url_password("http://proxy:3128"),
        "http://proxy:3128"
    );
    assert_eq!(
        redact_url_password("localhost,127.0.0.1"),
        "localhost,127.0.0.1"
    );
}

#[test]
fn passwords_of_urls_that_do_not_parse_are_masked_too() {
    // A raw `#` makes the password a host, port and fragment; a raw space fails the parse.
    for value in [
        "http://user:12#S3CR@proxy:3128",
        "http://user:S3 CR@proxy:3128",
        "http://user:S3#CR@proxy:3128",
    ] {
        let shown = redact_url_password(value);
        assert!(
            !shown.contains("S3") && !shown.contains("CR"),
            "{value} shown as {shown}"
        );
        assert!(shown.contains("****@proxy:3128"), "{shown}");
    }
}
