//! `cache ls`'s selection language, as `hf cache ls` 2.4 reads it (`cli/cache.py`): filters
//! such as `size>1GB`, `type=model`, `accessed>7d`, `modified<=2w`, `refs=main`; sort keys
//! `name`, `size`, `accessed`, `modified` with `:asc` or `:desc`; and a limit. Pure: the command
//! scans, this selects, the command renders.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use super::scan::{CachedRepo, CachedRevision, Inventory};

/// A filter or a sort key that cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    #[error("Invalid filter `{expression}`: {why}.")]
    Filter { expression: String, why: String },
    #[error("Invalid sort `{expression}`: {why}.")]
    Sort { expression: String, why: String },
}

/// A row: a repo, or one of its revisions with `--revisions`.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    pub repo: &'a CachedRepo,
    pub revision: Option<&'a CachedRevision>,
}

impl Row<'_> {
    pub fn size(&self) -> u64 {
        self.revision
            .map_or(self.repo.size_on_disk, |r| r.size_on_disk)
    }

    pub fn modified(&self) -> f64 {
        self.revision
            .map_or(self.repo.last_modified, |r| r.last_modified)
    }

    pub fn refs(&self) -> Vec<String> {
        match self.revision {
            Some(r) => r.refs.clone(),
            None => repo_refs(self.repo),
        }
    }
}

/// Every ref of a repo's revisions, sorted, once each.
pub fn repo_refs(repo: &CachedRepo) -> Vec<String> {
    let refs: BTreeSet<&String> = repo.revisions.iter().flat_map(|r| &r.refs).collect();
    refs.into_iter().cloned().collect()
}

/// What `cache ls` was asked to show.
pub struct Selection<'a> {
    pub revisions: bool,
    pub filters: &'a [String],
    pub sort: Option<&'a str>,
    pub limit: Option<usize>,
}

impl Selection<'_> {
    /// Whether the rows shown may be fewer than the cache holds.
    pub fn narrows(&self) -> bool {
        !self.filters.is_empty() || self.limit.is_some()
    }
}

/// The rows of `inventory` that `selection` keeps, in its order; `now` is seconds since the
/// epoch, for the time filters.
pub fn select<'a>(
    inventory: &'a Inventory,
    selection: &Selection,
    now: f64,
) -> Result<Vec<Row<'a>>, FilterError> {
    let filters = selection
        .filters
        .iter()
        .map(|f| compile_filter(f))
        .collect::<Result<Vec<_>, _>>()?;
    let sort = selection.sort.map(compile_sort).transpose()?;
    let mut rows: Vec<Row> = inventory
        .repos
        .iter()
        .flat_map(|repo| -> Vec<Row> {
            if selection.revisions {
                repo.revisions
                    .iter()
                    .map(|r| Row {
                        repo,
                        revision: Some(r),
                    })
                    .collect()
            } else {
                vec![Row {
                    repo,
                    revision: None,
                }]
            }
        })
        .filter(|row| filters.iter().all(|f| f(row, now)))
        .collect();
    if let Some(sort) = &sort {
        rows.sort_by(|a, b| sort(a, b));
    }
    if let Some(limit) = selection.limit {
        rows.truncate(limit);
    }
    Ok(rows)
}

type Filter = Box<dyn Fn(&Row, f64) -> bool>;

/// `size>1GB`, `type=model`, `accessed>7d`, `modified<=2w`, `refs=main` (`hf cache ls -f`).
fn compile_filter(expression: &str) -> Result<Filter, FilterError> {
    let bad = |why: String| FilterError::Filter {
        expression: expression.to_string(),
        why,
    };
    let text = expression.trim();
    let key_end = text
        .find(|c: char| !(c.is_ascii_alphabetic() || c == '_'))
        .ok_or_else(|| bad("expected KEY OP VALUE, e.g. size>1GB".into()))?;
    let (key, rest) = text.split_at(key_end);
    let rest = rest.trim_start();
    let op = ["==", "!=", ">=", "<=", ">", "<", "="]
        .into_iter()
        .find(|op| rest.starts_with(op))
        .ok_or_else(|| bad("the operator must be one of = != > < >= <=".into()))?;
    let value = rest[op.len()..].trim().to_string();
    let op = if op == "==" { "=" } else { op };
    if value.is_empty() {
        return Err(bad("the value is missing".into()));
    }
    let compare = move |left: f64, right: f64| match op {
        "=" => left == right,
        "!=" => left != right,
        ">" => left > right,
        "<" => left < right,
        ">=" => left >= right,
        _ => left <= right,
    };
    match key.to_ascii_lowercase().as_str() {
        "size" => {
            let threshold = parse_size(&value).map_err(bad)? as f64;
            Ok(Box::new(move |row, _| {
                compare(row.size() as f64, threshold)
            }))
        }
        key @ ("accessed" | "modified") => {
            let seconds = parse_duration(&value).map_err(bad)? as f64;
            let accessed = key == "accessed";
            Ok(Box::new(move |row, now| {
                let time = if accessed {
                    row.repo.last_accessed
                } else {
                    row.modified()
                };
                compare(now - time, seconds)
            }))
        }
        "type" if op == "=" => {
            let wanted = value.to_ascii_lowercase();
            Ok(Box::new(move |row, _| row.repo.repo_type == wanted))
        }
        "refs" if op == "=" => {
            let wanted = value.to_ascii_lowercase();
            Ok(Box::new(move |row, _| {
                row.refs().iter().any(|r| r.to_ascii_lowercase() == wanted)
            }))
        }
        "type" | "refs" => Err(bad(format!("only `=` works with `{key}`"))),
        other => Err(bad(format!(
            "unknown key `{other}` (use size, type, accessed, modified or refs)"
        ))),
    }
}

/// `12`, `10k`/`10KB` (1000), `10KiB` (1024), … as `hf` reads sizes, plus binary units.
fn parse_size(text: &str) -> Result<u64, String> {
    let (number, unit) = split_number(text)?;
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "p" | "pb" => 1_000_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown size unit `{other}` (use k, M, G, T or KiB, MiB, GiB, TiB)"
            ));
        }
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| "the size is too large".to_string())
}

/// `30s`, `15m`, `2h`, `7d`, `2w`, `3mo`, `1y` (as `hf`).
fn parse_duration(text: &str) -> Result<u64, String> {
    let (number, unit) = split_number(text)?;
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "mo" => 30 * 86_400,
        "y" => 365 * 86_400,
        other => {
            return Err(format!(
                "unknown time unit `{other}` (use s, m, h, d, w, mo or y)"
            ));
        }
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| "the duration is too large".to_string())
}

fn split_number(text: &str) -> Result<(u64, &str), String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let number = text[..digits]
        .parse::<u64>()
        .map_err(|_| format!("`{text}` does not start with a number"))?;
    Ok((number, text[digits..].trim()))
}

type SortKey = Box<dyn Fn(&Row, &Row) -> Ordering>;

/// `size`, `name:asc`, `accessed:desc`: every key but `name` sorts descending by default.
fn compile_sort(expression: &str) -> Result<SortKey, FilterError> {
    let bad = |why: String| FilterError::Sort {
        expression: expression.to_string(),
        why,
    };
    let text = expression.trim().to_ascii_lowercase();
    let (key, order) = match text.split_once(':') {
        Some((key, order)) => (key.to_string(), Some(order.to_string())),
        None => (text.clone(), None),
    };
    let descending = match order.as_deref() {
        Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(bad(format!("the order must be asc or desc, not `{other}`")));
        }
        None => key != "name",
    };
    let compare: SortKey = match key.as_str() {
        "name" => Box::new(|a, b| a.repo.id.to_lowercase().cmp(&b.repo.id.to_lowercase())),
        "size" => Box::new(|a, b| a.size().cmp(&b.size())),
        "accessed" => Box::new(|a, b| a.repo.last_accessed.total_cmp(&b.repo.last_accessed)),
        "modified" => Box::new(|a, b| a.modified().total_cmp(&b.modified())),
        other => {
            return Err(bad(format!(
                "unknown key `{other}` (use name, size, accessed or modified)"
            )));
        }
    };
    Ok(if descending {
        Box::new(move |a, b| compare(b, a))
    } else {
        compare
    })
}

#[cfg(test)]
mod tests;
