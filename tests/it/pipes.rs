//! Closed pipes: `hfget … | head -1` closes stdout early, `2>&1 | true` closes both streams.
//! Every command must still end with its documented exit code, never with a panic (101).
//! The pipes here have their reading end closed before hfget starts, so every write to them
//! fails: the worst case, decided before the run rather than by a race.

use std::process::Stdio;

use crate::common::fixtures::*;
use crate::common::*;

/// Which of hfget's output streams lead into a pipe nobody reads.
#[derive(Clone, Copy, Debug)]
enum Closed {
    Stdout,
    Stderr,
    Both,
}

/// A pipe whose reading end is already closed.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Stdio::from(writer)
}

/// Runs `args` with `stdin` and the `closed` streams leading into a closed pipe; returns the
/// exit code and whatever stderr said when it was still open.
fn run_closed(
    ctx: &TestContext,
    args: &[&str],
    stdin: Stdio,
    closed: Closed,
) -> (Option<i32>, String) {
    let mut command = ctx.command(args);
    command.stdin(stdin);
    match closed {
        Closed::Stdout => command.stdout(closed_pipe()).stderr(Stdio::piped()),
        Closed::Stderr => command.stdout(Stdio::null()).stderr(closed_pipe()),
        Closed::Both => command.stdout(closed_pipe()).stderr(closed_pipe()),
    };
    let output = command.output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

#[test]
fn every_command_ends_with_its_documented_code_when_its_output_is_closed() {
    let ctx = TestContext::new(standard_scenario());
    // (arguments, the documented exit code)
    let cases: &[(&[&str], i32)] = &[
        (&["completions", "bash"], 0),
        (&["completions", "zsh"], 0),
        (&["--help"], 0),
        (&["download", "--help"], 0),
        (&["--version"], 0),
        (&["env"], 0),
        (&["env", "--json"], 0),
        (&["download", "acme/tiny", "config.json"], 0),
        (&["download", "acme/tiny", "config.json", "--json"], 0),
        (&["download", "acme/tiny", "--dry-run"], 0),
        (&["download", "bad/repo"], 3),
        (&["download", "bad/repo", "--json"], 3),
        (&["download", "not a repo id"], 2),
        (&["download", "--no-such-flag"], 2),
        (&["doctor"], 0),
        (&["doctor", "bad/repo"], 3),
        (&["whoami"], 4),
        (&["auth", "list"], 0),
        (&["auth", "token"], 4),
        (&["logout"], 0),
        (&["cache", "ls"], 0),
        (&["cache", "ls", "--json"], 0),
        (&["cache", "verify", "acme/tiny"], 0),
    ];
    for closed in [Closed::Stdout, Closed::Stderr, Closed::Both] {
        for (args, code) in cases {
            let (got, stderr) = run_closed(&ctx, args, Stdio::null(), closed);
            assert_eq!(
                got,
                Some(*code),
                "hfget {} with {closed:?} closed:\n{stderr}",
                args.join(" ")
            );
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
    }
}

#[test]
fn a_login_with_a_bad_token_on_stdin_ends_with_its_code_when_its_output_is_closed() {
    let ctx = TestContext::new(standard_scenario());
    for closed in [Closed::Stdout, Closed::Stderr, Closed::Both] {
        let (reader, mut writer) = std::io::pipe().unwrap();
        std::io::Write::write_all(&mut writer, b"hf_not_a_real_token_000000000000\n").unwrap();
        drop(writer);
        let (code, stderr) = run_closed(
            &ctx,
            &["login", "--store", "file"],
            Stdio::from(reader),
            closed,
        );
        assert_eq!(code, Some(4), "{closed:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
