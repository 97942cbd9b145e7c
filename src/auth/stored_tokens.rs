//! The `stored_tokens` file of `huggingface_hub` (docs/protocol.md §5.2): every token the user
//! logged in with, by name, in Python's `configparser` INI format:
//!
//! ```ini
//! [laptop]
//! hf_token = hf_…
//!
//! ```
//!
//! hfget reads and writes it only for `--store file` logins, so that `hf auth list`, `hf auth
//! switch` and `hf auth whoami` see the same logins. The reader accepts what `configparser`
//! accepts in practice (`=` or `:`, `#`/`;` comment lines, indented continuation lines, keys in
//! any case); the writer produces exactly what `configparser.write` produces, sections sorted by
//! name as `_save_stored_tokens` does. Keys other than `hf_token` (an OAuth login's
//! `refresh_token`, `expires_at`) survive a rewrite of another section.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::Path;

use super::{AuthError, Token, token_file};

/// The key that holds the token in each section.
pub const TOKEN_KEY: &str = "hf_token";
/// `configparser`'s default section: it holds defaults, never a login.
const DEFAULT_SECTION: &str = "DEFAULT";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredTokens {
    sections: BTreeMap<String, Vec<(String, String)>>,
}

impl StoredTokens {
    /// Parses the file's text; the error is a 1-based line number and what is wrong there.
    pub fn parse(text: &str) -> Result<StoredTokens, (usize, &'static str)> {
        let mut sections: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        let mut current: Option<String> = None;
        // The indentation of the last option line, for continuation lines.
        let mut option_indent: Option<usize> = None;
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let trimmed = raw.trim();
            let indent = raw.len() - raw.trim_start().len();
            if trimmed.is_empty() {
                option_indent = None;
                continue;
            }
            if trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            if let (Some(option_indent), Some(section)) = (option_indent, current.as_ref())
                && indent > option_indent
            {
                if let Some((_, value)) = sections
                    .get_mut(section)
                    .and_then(|options| options.last_mut())
                {
                    value.push('\n');
                    value.push_str(trimmed);
                }
                continue;
            }
            if let Some(rest) = trimmed.strip_prefix('[')
                && let Some(end) = rest.rfind(']')
            {
                let name = &rest[..end];
                if name.is_empty() {
                    return Err((line_no, "a section header has no name"));
                }
                if sections.contains_key(name) {
                    return Err((line_no, "a section appears twice"));
                }
                sections.insert(name.to_string(), Vec::new());
                current = Some(name.to_string());
                option_indent = None;
                continue;
            }
            let Some(section) = current.as_ref() else {
                return Err((line_no, "a line comes before any [section] header"));
            };
            let Some(split) = trimmed.find(['=', ':']) else {
                return Err((line_no, "a line is neither `[section]` nor `key = value`"));
            };
            let key = trimmed[..split].trim().to_lowercase();
            let value = trimmed[split + 1..].trim().to_string();
            let options = sections.entry(section.clone()).or_default();
            options.retain(|(k, _)| *k != key);
            options.push((key, value));
            option_indent = Some(indent);
        }
        Ok(StoredTokens { sections })
    }

    /// The file's text, as `configparser.write` lays it out.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let default = self.sections.get_key_value(DEFAULT_SECTION);
        let others = self
            .sections
            .iter()
            .filter(|(name, _)| *name != DEFAULT_SECTION);
        for (name, options) in default.into_iter().chain(others) {
            out.push_str(&format!("[{name}]\n"));
            for (key, value) in options {
                out.push_str(&format!("{key} = {}\n", value.replace('\n', "\n\t")));
            }
            out.push('\n');
        }
        out
    }

    /// Reads the file; a missing file holds no logins.
    pub fn load(path: &Path) -> Result<StoredTokens, AuthError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                return Ok(StoredTokens::default());
            }
            Err(source) => {
                return Err(AuthError::ReadTokenFile {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        StoredTokens::parse(&text).map_err(|(line, reason)| AuthError::StoredTokensSyntax {
            path: path.to_path_buf(),
            line,
            reason,
        })
    }

    /// Writes the file (0600, atomically), or removes it when no section is left.
    pub fn save(&self, path: &Path) -> Result<(), AuthError> {
        if self.sections.is_empty() {
            token_file::remove(path).map(|_| ())
        } else {
            token_file::write_private(path, self.render().as_bytes())
        }
    }

    /// The login names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.sections
            .keys()
            .map(String::as_str)
            .filter(|name| *name != DEFAULT_SECTION)
    }

    pub fn contains(&self, name: &str) -> bool {
        name != DEFAULT_SECTION && self.sections.contains_key(name)
    }

    pub fn token(&self, name: &str) -> Option<Token> {
        if name == DEFAULT_SECTION {
            return None;
        }
        self.sections
            .get(name)?
            .iter()
            .find(|(key, _)| key == TOKEN_KEY)
            .and_then(|(_, value)| Token::parse(value))
    }

    /// The name of the section holding `token`, if any.
    pub fn name_of(&self, token: &Token) -> Option<&str> {
        self.names()
            .find(|name| self.token(name).as_ref() == Some(token))
    }

    /// Adds or replaces a login. The section's other keys belonged to the previous token (OAuth
    /// refresh data), so they go with it.
    #[cfg(test)]
    pub fn set(&mut self, name: &str, token: &Token) {
        self.set_with(name, token, &[]);
    }

    /// [`StoredTokens::set`] with more keys after `hf_token` (a browser login's
    /// `refresh_token` and `expires_at`, in the order `_save_token` writes them).
    pub fn set_with(&mut self, name: &str, token: &Token, extra: &[(&str, String)]) {
        let mut options = vec![(TOKEN_KEY.to_string(), token.secret().to_string())];
        options.extend(
            extra
                .iter()
                .map(|(key, value)| (key.to_string(), value.clone())),
        );
        self.sections.insert(name.to_string(), options);
    }

    /// Another key of a section (`refresh_token`, `expires_at`), if present and not empty.
    pub fn field(&self, name: &str, key: &str) -> Option<&str> {
        if name == DEFAULT_SECTION {
            return None;
        }
        self.sections
            .get(name)?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }

    pub fn remove(&mut self, name: &str) -> bool {
        name != DEFAULT_SECTION && self.sections.remove(name).is_some()
    }
}

#[cfg(test)]
mod tests;
