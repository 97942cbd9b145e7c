use super::*;

#[test]
fn origins_compare_scheme_host_and_port() {
    let a = Url::parse("http://127.0.0.1:8000/a").unwrap();
    assert!(same_origin(
        &a,
        &Url::parse("http://127.0.0.1:8000/b?x").unwrap()
    ));
    assert!(!same_origin(
        &a,
        &Url::parse("http://127.0.0.1:8001/a").unwrap()
    ));
    assert!(!same_origin(
        &a,
        &Url::parse("https://127.0.0.1:8000/a").unwrap()
    ));
    assert!(same_origin(
        &Url::parse("https://huggingface.co/").unwrap(),
        &Url::parse("https://huggingface.co:443/x").unwrap()
    ));
}

#[test]
fn signed_queries_never_reach_messages() {
    let url = Url::parse("https://cdn.example/repos/a/b?Signature=secret&Expires=1").unwrap();
    assert_eq!(strip_query(&url), "https://cdn.example/repos/a/b");
}

#[test]
fn error_bodies() {
    assert_eq!(
        message_from_body(r#"{"error":"Repository not found"}"#).as_deref(),
        Some("Repository not found")
    );
    assert_eq!(
        message_from_body(r#"{"error":["a","b"]}"#).as_deref(),
        Some("a; b")
    );
    assert_eq!(message_from_body("<html>rate limited</html>"), None);
    assert_eq!(
        message_from_body("Entry not found").as_deref(),
        Some("Entry not found")
    );
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// The classification once read the whole lowercased error chain, request URL included,
/// so a refused connection to a repository named like this one was reported as a proxy problem.
#[tokio::test]
async fn a_refused_connection_is_not_a_proxy_or_tls_problem_whatever_the_url_says() {
    let url = format!(
        "http://127.0.0.1:{}/acme/tls-proxy-certificate/resolve/main/handshake.bin",
        closed_port()
    );
    let error = client().get(&url).send().await.unwrap_err();
    assert_eq!(classify_transport(&error), NetworkErrorKind::Connect);
}

#[tokio::test]
async fn a_failed_tls_handshake_is_tls() {
    // A plain-text server where TLS is expected: rustls rejects its first bytes.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Ok((mut stream, _)) = listener.accept() {
            let mut buffer = [0u8; 512];
            let _ = stream.read(&mut buffer);
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let error = client()
        .get(format!("https://127.0.0.1:{port}/plain"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        classify_transport(&error),
        NetworkErrorKind::Tls(TlsProblem::Other)
    );
}
