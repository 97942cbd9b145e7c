use super::*;
use crate::env::tests::MapEnvironment;

fn variables(pairs: &[(&str, &str)]) -> NetworkVariables {
    NetworkVariables::from_env(&MapEnvironment::new(pairs))
}

fn url(text: &str) -> Url {
    Url::parse(text).unwrap()
}

#[test]
fn lower_case_proxy_variables_win_as_in_curl_and_urllib() {
    let network = variables(&[
        ("https_proxy", "http://127.0.0.1:3128"),
        ("HTTPS_PROXY", "http://127.0.0.1:9"),
    ]);
    let routes = ProxyRoutes::from_variables(&network).unwrap();
    let route = routes.route(&url("https://huggingface.co/api")).unwrap();
    assert_eq!(route.variable, "https_proxy");
    assert_eq!(route.address, "127.0.0.1:3128");
    assert_eq!(network.shadowed, vec![("HTTPS_PROXY", Some("https_proxy"))]);
}

#[test]
fn an_empty_lower_case_variable_turns_the_upper_case_one_off() {
    let network = variables(&[("https_proxy", ""), ("HTTPS_PROXY", "http://127.0.0.1:9")]);
    let routes = ProxyRoutes::from_variables(&network).unwrap();
    assert!(routes.route(&url("https://huggingface.co/")).is_none());
    assert!(!routes.system_default);
}

#[test]
fn each_scheme_has_its_variable_then_all_proxy() {
    let network = variables(&[
        ("HTTP_PROXY", "proxy.corp:8080"),
        ("ALL_PROXY", "http://all.corp:3128"),
    ]);
    let routes = ProxyRoutes::from_variables(&network).unwrap();
    let http = routes.route(&url("http://mirror.corp/api")).unwrap();
    assert_eq!(
        (http.variable, http.address.as_str()),
        ("HTTP_PROXY", "proxy.corp:8080")
    );
    let https = routes.route(&url("https://huggingface.co/")).unwrap();
    assert_eq!(https.variable, "ALL_PROXY");
}

#[test]
fn no_proxy_follows_curl_rules() {
    let network = variables(&[
        ("https_proxy", "http://127.0.0.1:3128"),
        ("http_proxy", "http://127.0.0.1:3128"),
        ("no_proxy", "internal.corp, 10.0.0.0/8,localhost"),
    ]);
    let routes = ProxyRoutes::from_variables(&network).unwrap();
    assert!(routes.route(&url("https://hub.internal.corp/")).is_none());
    assert!(routes.route(&url("http://10.1.2.3:8080/")).is_none());
    assert!(routes.route(&url("http://localhost:8080/")).is_none());
    assert!(routes.route(&url("https://huggingface.co/")).is_some());
    let everything = variables(&[("https_proxy", "http://127.0.0.1:3128"), ("NO_PROXY", "*")]);
    let routes = ProxyRoutes::from_variables(&everything).unwrap();
    assert!(routes.route(&url("https://huggingface.co/")).is_none());
}

#[test]
fn no_variable_leaves_the_system_settings() {
    let routes = ProxyRoutes::from_variables(&variables(&[])).unwrap();
    assert!(routes.system_default);
    assert!(routes.route(&url("https://huggingface.co/")).is_none());
}

#[test]
fn passwords_that_break_a_url_are_refused_by_name_never_by_value() {
    for (raw, why) in [
        ("http://user:S3#CR@127.0.0.1:3128", "a raw #"),
        (
            "http://user:12#S3CR@127.0.0.1:3128",
            "a raw # after digits (parses as a port)",
        ),
        ("http://user:S3 CR@127.0.0.1:3128", "a space"),
        ("http://user:S3?CR@127.0.0.1:3128", "a raw ?"),
        (
            "http://user:12/S3CR@127.0.0.1:3128",
            "a raw / after digits (parses as a path)",
        ),
        ("http://", "no host"),
    ] {
        let network = variables(&[("https_proxy", raw)]);
        let error = ProxyRoutes::from_variables(&network)
            .err()
            .unwrap_or_else(|| panic!("{why} was accepted"));
        let message = error.to_string();
        assert_eq!(
            error,
            TransportError::UnparseableProxy {
                variable: "https_proxy"
            },
            "{why}"
        );
        assert!(message.starts_with("https_proxy is not a valid URL: percent-encode"));
        assert!(
            !message.contains("S3") && !message.contains("CR@"),
            "{message}"
        );
    }
}

#[test]
fn a_raw_at_sign_in_the_password_is_encoded_for_the_client() {
    // The last `@` ends the user part (WHATWG); hyper-util would cut at the first one, so the
    // URL is handed over re-encoded.
    let network = variables(&[("https_proxy", "http://user:p@ss@127.0.0.1:3128")]);
    let routes = ProxyRoutes::from_variables(&network).unwrap();
    let route = routes.route(&url("https://huggingface.co/")).unwrap();
    assert_eq!(route.address, "127.0.0.1:3128");
    assert_eq!(route.url, "http://user:p%40ss@127.0.0.1:3128/");
    assert_eq!(route.masked, "http://user:****@127.0.0.1:3128");
    assert!(route.has_credentials);
}

#[test]
fn socks_proxies_are_named_as_unsupported() {
    let network = variables(&[("ALL_PROXY", "socks5://127.0.0.1:1080")]);
    let error = ProxyRoutes::from_variables(&network).err().unwrap();
    assert!(error.to_string().contains("`socks5:` proxy"), "{error}");
}

#[test]
fn certificate_variables_are_read_in_order_and_replace_the_system_store() {
    let dir = tempfile::tempdir().unwrap();
    let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/tls/ca.crt")).unwrap();
    let bundle = dir.path().join("bundle.pem");
    std::fs::write(&bundle, &pem).unwrap();
    let bundle = bundle.to_str().unwrap();
    let network = variables(&[
        ("SSL_CERT_FILE", "/nonexistent.pem"),
        ("CURL_CA_BUNDLE", bundle),
    ]);
    assert_eq!(
        network.shadowed,
        vec![("SSL_CERT_FILE", Some("CURL_CA_BUNDLE"))]
    );
    let trust = load(&network).unwrap();
    assert_eq!(
        trust.source,
        TrustSource::Variable {
            variable: "CURL_CA_BUNDLE",
            path: PathBuf::from(bundle),
            certificates: 1
        }
    );
    // A folder (SSL_CERT_DIR, or requests' folder form of REQUESTS_CA_BUNDLE).
    let network = variables(&[("SSL_CERT_DIR", dir.path().to_str().unwrap())]);
    assert!(matches!(
        load(&network).unwrap().source,
        TrustSource::Variable {
            variable: "SSL_CERT_DIR",
            certificates: 1,
            ..
        }
    ));
}

#[test]
fn a_certificate_file_that_cannot_be_used_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, b"not a certificate\n").unwrap();
    let network = variables(&[("REQUESTS_CA_BUNDLE", garbage.to_str().unwrap())]);
    let error = load(&network).unwrap_err();
    assert!(matches!(
        error,
        TransportError::NoCertificates {
            variable: "REQUESTS_CA_BUNDLE",
            ..
        }
    ));
    assert!(error.to_string().contains("garbage.pem"), "{error}");

    let network = variables(&[("SSL_CERT_FILE", "/nonexistent.pem")]);
    let error = load(&network).unwrap_err();
    assert!(matches!(
        error,
        TransportError::UnreadableCertificates {
            variable: "SSL_CERT_FILE",
            ..
        }
    ));
    assert!(error.to_string().contains("/nonexistent.pem"), "{error}");
}

#[test]
fn a_damaged_certificate_is_named_with_its_place_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/tls/ca.crt")).unwrap();
    let damaged = dir.path().join("damaged.pem");
    let mut bytes = good.clone();
    bytes.extend_from_slice(
        b"-----BEGIN CERTIFICATE-----\nAAAABBBBCCCCDDDD\n-----END CERTIFICATE-----\n",
    );
    std::fs::write(&damaged, bytes).unwrap();
    let network = variables(&[("SSL_CERT_FILE", damaged.to_str().unwrap())]);
    let error = load(&network).unwrap_err();
    assert!(
        matches!(error, TransportError::DamagedCertificate { number: 2, .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("certificate 2 in SSL_CERT_FILE ("),
        "{error}"
    );
}
