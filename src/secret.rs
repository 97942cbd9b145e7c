//! The token value itself: a secret that never prints in full, and the masking of secrets in
//! URLs. A leaf module: `hub` attaches the token and `auth` finds it, and neither imports the
//! other for it . `auth::token` is this module's other name.

use std::fmt;

/// A Hub access token. `Debug` and `Display` show only the masked form (`hf_…abcd`); the raw
/// value is reachable only through [`Token::secret`], which the HTTP layer and `hfget auth token`
/// use and nothing else should.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Cleans a token the way `huggingface_hub` does (`_clean_token`: drop CR/LF, strip spaces);
    /// an empty result means "no token".
    pub fn parse(raw: &str) -> Option<Token> {
        let cleaned: String = raw.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        let cleaned = cleaned.trim();
        (!cleaned.is_empty()).then(|| Token(cleaned.to_string()))
    }

    pub fn secret(&self) -> &str {
        &self.0
    }

    /// `hf_…abcd`: enough to tell two tokens apart, never enough to use one.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Masks any secret-looking string: keeps a short known prefix and the last four characters.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 8 {
        return "…".to_string() + &"*".repeat(chars.len().min(4));
    }
    let prefix: String = if secret.starts_with("hf_") {
        "hf_".to_string()
    } else if secret.starts_with("api_org_") {
        "api_org_".to_string()
    } else {
        String::new()
    };
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{prefix}…{tail}")
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({})", self.masked())
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
/// Replaces every occurrence of the token in `text` with its masked form, for error messages and
/// traces that may echo a URL or header.
pub fn redact(text: &str, token: Option<&Token>) -> String {
    match token {
        Some(token) if !token.secret().is_empty() => text.replace(token.secret(), &token.masked()),
        _ => text.to_string(),
    }
}

/// A URL with its password masked (`http://user:****@proxy:3128`): proxy settings may carry
/// credentials, and `env` and `doctor` print them. A value that does not parse as a URL but has
/// an `@` after its scheme keeps nothing before the last `@`: a password with a raw `#` or
/// space is what makes a URL fail to parse, so it must not be printed either.
pub fn redact_url_password(value: &str) -> String {
    match url::Url::parse(value) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("****"));
            url.to_string()
        }
        Ok(url) if url.fragment().is_none() => value.to_string(),
        _ => match value.rsplit_once('@') {
            Some((before, after)) => {
                let scheme = before
                    .split_once("://")
                    .map(|(scheme, _)| format!("{scheme}://"))
                    .unwrap_or_default();
                format!("{scheme}****@{after}")
            }
            None => value.to_string(),
        },
    }
}

#[cfg(test)]
mod tests;
