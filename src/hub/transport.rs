//! How requests leave this machine: through which proxy, trusting which certificates.
//!
//! hfget reads the proxy and certificate variables itself (`env::NetworkVariables`) instead of
//! letting the HTTP client read them, for three reasons (docs/network.md):
//! - precedence: the lower-case variable wins, as in curl and Python's urllib, where reqwest
//!   would take the upper-case one;
//! - a proxy URL that does not parse (a raw `#` or space in a password) is refused with the
//!   variable's name, never its value, where the client would skip it and go direct;
//! - an error can name the proxy a request went through, and the certificates it trusted.
//!
//! Routing is decided in one place, [`ProxyRoutes::route`]: the client's proxy hook calls it,
//! and so do error messages, so what a message says is what the request did.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use hyper_util::client::proxy::matcher::Matcher;
use reqwest::Url;

use crate::env::{NetworkVariables, Variable};

/// A proxy or certificate variable hfget cannot use. Nothing was sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// Names the variable, never its value: the value may hold a password.
    #[error(
        "{variable} is not a valid URL: percent-encode special characters in the password (`#` as %23, a space as %20, `@` as %40, `/` as %2F, `?` as %3F, `%` as %25)"
    )]
    UnparseableProxy { variable: &'static str },
    #[error(
        "{variable} uses a `{scheme}:` proxy, which hfget does not support: use an http:// or https:// proxy"
    )]
    UnsupportedProxyScheme {
        variable: &'static str,
        scheme: String,
    },
    #[error(
        "the certificates in {variable} ({}) cannot be read: {reason}. Fix the path, or unset {variable} to trust the system's certificates",
        path.display()
    )]
    UnreadableCertificates {
        variable: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error(
        "{variable} ({}) holds no PEM certificate (`-----BEGIN CERTIFICATE-----`): point it to your CA bundle, or unset it to trust the system's certificates",
        path.display()
    )]
    NoCertificates {
        variable: &'static str,
        path: PathBuf,
    },
    #[error(
        "certificate {number} in {variable} ({}) is damaged ({reason}): export the CA again, or unset {variable} to trust the system's certificates",
        path.display()
    )]
    DamagedCertificate {
        variable: &'static str,
        path: PathBuf,
        /// Its place in the file, from 1.
        number: usize,
        reason: String,
    },
}

/// A proxy in effect, as messages name it. The URL with its credentials stays private.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ProxyRoute {
    /// The variable that named the proxy (`https_proxy`, `ALL_PROXY`).
    pub variable: &'static str,
    /// `host:port`, as a user knows the proxy.
    pub address: String,
    /// Whether the variable carries a user name or password.
    pub has_credentials: bool,
    /// The URL with the password masked, for `hfget env`.
    pub masked: String,
    #[serde(skip)]
    url: String,
}

/// The proxies of this process, from the variables.
#[derive(Clone, Default)]
pub struct ProxyRoutes {
    https: Option<ProxyRoute>,
    http: Option<ProxyRoute>,
    all: Option<ProxyRoute>,
    /// hyper-util's matcher (the one reqwest uses for its own proxy settings), for `NO_PROXY`:
    /// curl's rules (domains with their subdomains, IPs, CIDR ranges, `*`).
    matcher: Option<Arc<Matcher>>,
    /// No variable at all: leave the operating system's proxy settings to the HTTP client.
    pub system_default: bool,
    /// Proxies that answered 407 in this process. Every later request through them fails at
    /// once instead of sending the same wrong password again: directory-backed proxies lock an
    /// account after a few failures.
    refused: Arc<Mutex<Vec<String>>>,
}

impl ProxyRoutes {
    pub fn from_variables(variables: &NetworkVariables) -> Result<ProxyRoutes, TransportError> {
        let parse = |variable: &Option<Variable>| variable.as_ref().map(check_proxy).transpose();
        let (https, http, all) = (
            parse(&variables.https_proxy)?,
            parse(&variables.http_proxy)?,
            parse(&variables.all_proxy)?,
        );
        let url_of = |route: &Option<ProxyRoute>| {
            route
                .as_ref()
                .or(all.as_ref())
                .map(|r| r.url.clone())
                .unwrap_or_default()
        };
        let matcher = Matcher::builder()
            .https(url_of(&https))
            .http(url_of(&http))
            .no(variables
                .no_proxy
                .as_ref()
                .map(|v| v.value.clone())
                .unwrap_or_default())
            .build();
        Ok(ProxyRoutes {
            matcher: Some(Arc::new(matcher)),
            https,
            http,
            all,
            system_default: !variables.proxy_variables_present,
            refused: Arc::default(),
        })
    }

    /// The proxy a scheme's requests go through, before `NO_PROXY`.
    pub fn for_scheme(&self, scheme: &str) -> Option<&ProxyRoute> {
        match scheme {
            "https" => self.https.as_ref().or(self.all.as_ref()),
            "http" => self.http.as_ref().or(self.all.as_ref()),
            _ => None,
        }
    }

    /// The proxy a request to `url` goes through, if any: none for a `NO_PROXY` host, else the
    /// scheme's own variable, else `ALL_PROXY`.
    pub fn route(&self, url: &Url) -> Option<&ProxyRoute> {
        let candidate = self.for_scheme(url.scheme())?;
        let uri = format!("{}://{}/", url.scheme(), url.host_str()?)
            .parse::<http::Uri>()
            .ok()?;
        self.matcher.as_ref()?.intercept(&uri).map(|_| candidate)
    }

    /// The reqwest proxy hook: the URL (with credentials) of [`Self::route`]'s answer.
    pub(crate) fn hook(&self) -> reqwest::Proxy {
        let routes = self.clone();
        reqwest::Proxy::custom(move |url| routes.route(url).map(|route| route.url.clone()))
    }

    /// Remembers that `proxy` rejected its credentials.
    pub(crate) fn mark_refused(&self, proxy: &ProxyRoute) {
        if let Ok(mut refused) = self.refused.lock()
            && !refused.contains(&proxy.address)
        {
            refused.push(proxy.address.clone());
        }
    }

    pub(crate) fn was_refused(&self, proxy: &ProxyRoute) -> bool {
        self.refused
            .lock()
            .is_ok_and(|refused| refused.contains(&proxy.address))
    }
}

/// Checks one proxy variable and keeps it in the form the HTTP client parses the same way:
/// `url::Url` percent-encodes what a URL's user part cannot hold raw, where hyper-util would cut
/// the authority at the first `@`.
pub fn check_proxy(variable: &Variable) -> Result<ProxyRoute, TransportError> {
    let unparseable = TransportError::UnparseableProxy {
        variable: variable.name,
    };
    let raw = variable.value.as_str();
    // `#`, `?` and white space end or break a URL's authority: such a password makes the URL
    // mean something else (a host named after the user, a fragment) rather than fail.
    if raw
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '#' || c == '?')
    {
        return Err(unparseable);
    }
    // curl and Python accept `host:port` without a scheme and mean http.
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("http://{raw}")
    };
    let url = Url::parse(&with_scheme).map_err(|_| unparseable.clone())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TransportError::UnsupportedProxyScheme {
            variable: variable.name,
            scheme: url.scheme().to_string(),
        });
    }
    let Some(host) = url.host_str() else {
        return Err(unparseable);
    };
    if !matches!(url.path(), "" | "/") || url.fragment().is_some() || url.query().is_some() {
        return Err(unparseable);
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let mut masked = url.clone();
    if url.password().is_some() {
        let _ = masked.set_password(Some("****"));
    }
    Ok(ProxyRoute {
        variable: variable.name,
        address: format!("{host}:{port}"),
        has_credentials: !url.username().is_empty() || url.password().is_some(),
        masked: masked.as_str().trim_end_matches('/').to_string(),
        url: url.as_str().to_string(),
    })
}

/// Where the certificates hfget trusts come from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum TrustSource {
    /// The operating system's store.
    System,
    /// A variable's file or folder, which replaces the system's store.
    Variable {
        variable: &'static str,
        path: PathBuf,
        certificates: usize,
    },
}

impl std::fmt::Display for TrustSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrustSource::System => write!(f, "the system's certificate store"),
            TrustSource::Variable {
                variable,
                path,
                certificates,
            } => write!(
                f,
                "{variable} ({}, {certificates} certificate{})",
                path.display(),
                if *certificates == 1 { "" } else { "s" }
            ),
        }
    }
}

/// The certificates to trust, loaded once per process.
#[derive(Clone, Debug)]
pub struct Trust {
    pub source: TrustSource,
    pub(crate) certificates: Vec<reqwest::Certificate>,
}

/// Loads the certificates the variables name, once: every `HubClient` of the process shares
/// them. A few kilobytes read once, before the first request, like the system store the HTTP
/// client reads when it is built.
pub fn trust(variables: &NetworkVariables) -> Result<Trust, TransportError> {
    static LOADED: OnceLock<(Option<Variable>, Result<Trust, TransportError>)> = OnceLock::new();
    let (loaded_for, trust) = LOADED.get_or_init(|| (variables.ca.clone(), load(variables)));
    if loaded_for == &variables.ca {
        trust.clone()
    } else {
        // Another environment than the first (unit tests): load it afresh.
        load(variables)
    }
}

fn load(variables: &NetworkVariables) -> Result<Trust, TransportError> {
    let Some(variable) = &variables.ca else {
        return Ok(Trust {
            source: TrustSource::System,
            certificates: Vec::new(),
        });
    };
    let path = PathBuf::from(&variable.value);
    let unreadable = |reason: std::io::Error| TransportError::UnreadableCertificates {
        variable: variable.name,
        path: path.clone(),
        reason: reason.to_string(),
    };
    let metadata = std::fs::metadata(&path).map_err(unreadable)?;
    let mut certificates = Vec::new();
    if metadata.is_dir() {
        // OpenSSL's `c_rehash` folders hold each certificate twice (the file and its hash
        // link); duplicates are harmless to the verifier. Files that are not certificates
        // (a README, keys) are skipped, as OpenSSL skips them.
        let entries = std::fs::read_dir(&path).map_err(unreadable)?;
        for entry in entries.flatten() {
            let file = entry.path();
            if file.is_file()
                && let Ok(bytes) = std::fs::read(&file)
                && let Ok(found) = pem_certificates(&bytes, variable.name, &file)
            {
                certificates.extend(found);
            }
        }
    } else {
        let bytes = std::fs::read(&path).map_err(unreadable)?;
        certificates = pem_certificates(&bytes, variable.name, &path)?;
    }
    if certificates.is_empty() {
        return Err(TransportError::NoCertificates {
            variable: variable.name,
            path,
        });
    }
    Ok(Trust {
        source: TrustSource::Variable {
            variable: variable.name,
            path,
            certificates: certificates.len(),
        },
        certificates,
    })
}

/// The certificates of a PEM file (none for a file without a certificate block), each checked
/// as a trust anchor now: a damaged one would otherwise fail the HTTP client's setup with
/// nothing but "builder error".
fn pem_certificates(
    bytes: &[u8],
    variable: &'static str,
    path: &std::path::Path,
) -> Result<Vec<reqwest::Certificate>, TransportError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let damaged = |number: usize, reason: String| TransportError::DamagedCertificate {
        variable,
        path: path.to_path_buf(),
        number,
        reason,
    };
    let mut certificates = Vec::new();
    for (index, der) in CertificateDer::pem_slice_iter(bytes).enumerate() {
        let der = der.map_err(|e| damaged(index + 1, format!("{e:?}")))?;
        rustls::RootCertStore::empty()
            .add(der.clone())
            .map_err(|e| damaged(index + 1, e.to_string()))?;
        certificates.push(
            reqwest::Certificate::from_der(&der).map_err(|e| damaged(index + 1, e.to_string()))?,
        );
    }
    Ok(certificates)
}

/// The certificate variables, for fixes that tell a user where a private CA goes.
pub fn certificate_variables() -> String {
    use crate::env::{CURL_CA_BUNDLE, REQUESTS_CA_BUNDLE, SSL_CERT_DIR, SSL_CERT_FILE};
    format!("{REQUESTS_CA_BUNDLE}, {CURL_CA_BUNDLE}, {SSL_CERT_FILE} or {SSL_CERT_DIR}")
}

#[cfg(test)]
mod tests;
