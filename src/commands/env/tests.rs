use super::redact_proxy;

#[test]
fn proxy_passwords_are_masked() {
    assert_eq!(
        redact_proxy("http://u:secret@proxy:3128"),
        "http://u:****@proxy:3128/"
    );
    assert_eq!(redact_proxy("http://proxy:3128"), "http://proxy:3128");
    assert_eq!(redact_proxy("localhost,127.0.0.1"), "localhost,127.0.0.1");
}
