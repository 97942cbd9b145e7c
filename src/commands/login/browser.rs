//! Opening the login page in a browser, when this machine has one. Never required:
//! the page and the code are printed first, and a machine without a display (SSH, CI, a
//! container, an agent) simply skips this.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::env::{self, Environment};

/// Starts a browser on `url` and returns the program used, or `None` when there is no display
/// or no browser command. `$BROWSER` (as xdg-open and Python's `webbrowser` read it) wins over
/// `xdg-open`.
pub fn open(environment: &dyn Environment, url: &str) -> Option<String> {
    let has_display =
        environment.var(env::DISPLAY).is_some() || environment.var(env::WAYLAND_DISPLAY).is_some();
    if !has_display {
        return None;
    }
    let path = environment.var(env::PATH).unwrap_or_default();
    let candidates = environment
        .var(env::BROWSER)
        .map(|list| {
            list.split(':')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .chain(std::iter::once("xdg-open".to_string()));
    for candidate in candidates {
        let Some(program) = find_program(&candidate, &path) else {
            continue;
        };
        let spawned = Command::new(&program)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if let Ok(mut child) = spawned {
            // Reap it whenever it ends, without making the login wait for it.
            std::thread::spawn(move || child.wait());
            return Some(candidate);
        }
    }
    None
}

fn find_program(name: &str, path: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let candidate = PathBuf::from(name);
        return is_executable(&candidate).then_some(candidate);
    }
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
