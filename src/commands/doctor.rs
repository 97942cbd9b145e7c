//! `hfget doctor [REPO_ID [FILE]]`: diagnose a refused download, or check the setup.

use clap::Args;

use crate::auth::keyring::KeyringHandle;
use crate::auth::{self, ResolvedToken};
use crate::doctor::{self, Diagnosis, Subject, render, setup};
use crate::env::{self, Environment, Settings};
use crate::error::Error;
use crate::hub::RepoType;
use crate::hub::repo::{merge_revision, parse_repo_argument};
use crate::hub::{HubClient, HubErrorKind};
use crate::output::{self, print_stdout};

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The repository to diagnose (`owner/name`, `datasets/owner/name`, `hf://…`). Omit it to
    /// check the setup instead.
    #[arg(value_name = "REPO_ID")]
    pub repo_id: Option<String>,
    /// A file to probe (default: the smallest file of the repository).
    #[arg(value_name = "FILE")]
    pub file: Option<String>,
    /// The repository type, when the id does not say it.
    #[arg(long = "repo-type", visible_alias = "type", value_enum)]
    pub repo_type: Option<RepoType>,
    /// A branch, tag, commit hash or `refs/pr/N` [default: main].
    #[arg(long)]
    pub revision: Option<String>,
    /// Diagnose this token instead of the one hfget would pick.
    #[arg(long, value_name = "TOKEN", value_parser = super::non_empty_token)]
    pub token: Option<String>,
    /// Print one JSON object: cause, layer, summary, fix, evidence.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(
    args: DoctorArgs,
    settings: &Settings,
    environment: &dyn Environment,
) -> Result<u8, Error> {
    let keyring = KeyringHandle::system(settings);
    let sources =
        auth::inspect_sources(settings, environment, args.token.as_deref(), &keyring).await?;
    let Some(repo_id) = &args.repo_id else {
        return run_setup_checks(
            settings,
            environment,
            &keyring,
            &sources.candidates,
            args.json,
        )
        .await;
    };
    let parsed = parse_repo_argument(repo_id, args.repo_type)?;
    let revision = merge_revision(parsed.revision, args.revision.as_deref())?;
    let subject = Subject {
        repo: parsed.repo,
        revision,
        file: args.file.clone().or(parsed.path),
        user_command: None,
    };
    let diagnosis = if settings.offline {
        // Not a usage error: the family is "offline" (exit 10), named after the variable that
        // is actually set.
        doctor::offline(settings, &subject, env::offline_variables(environment))
    } else {
        // The client renews a browser login the Hub stopped accepting before its announced
        // expiry, as in `download` and `whoami`, so the doctor diagnoses the token a download
        // would really send.
        let active = doctor::active_token(settings, &sources.candidates);
        let client = auth::hub_client(settings, environment, active.as_ref())?;
        doctor::diagnose_with_sources(settings, &client, &sources.candidates, &subject).await
    };
    print_diagnosis(&diagnosis, args.json)?;
    Ok(diagnosis.exit_code())
}

/// Prints a diagnosis: the report, or one JSON object.
pub fn print_diagnosis(diagnosis: &Diagnosis, json: bool) -> Result<(), Error> {
    if json {
        return Ok(output::print_json_pretty(diagnosis)?);
    }
    Ok(print_stdout(render::human(diagnosis).trim_end())?)
}

async fn run_setup_checks(
    settings: &Settings,
    environment: &dyn Environment,
    keyring: &KeyringHandle,
    candidates: &[ResolvedToken],
    json: bool,
) -> Result<u8, Error> {
    let keyring_state = match keyring.get().await {
        Ok(opened) => match opened.probe().await {
            Ok(()) => (
                true,
                format!("{} is available", keyring.backend().describe()),
            ),
            Err(error) => (
                false,
                format!("{} is not usable: {error}", keyring.backend().describe()),
            ),
        },
        Err(reason) => (false, format!("not available: {reason}")),
    };
    // A proxy or certificate variable hfget cannot use is a failed check, not an error: the
    // other checks still run.
    let client = match HubClient::new(settings, None) {
        Err(error) if matches!(error.kind, HubErrorKind::Transport(_)) => Err(error),
        built => Ok(built?),
    };
    let checks = setup::check_setup(
        settings,
        environment,
        client.as_ref(),
        candidates,
        keyring_state,
    )
    .await;
    if json {
        output::print_json_pretty(&serde_json::json!({
            "ok": checks.iter().all(|c| c.ok),
            "checks": checks,
        }))?;
    } else {
        print_stdout(setup::render(&checks).trim_end())?;
    }
    Ok(setup::exit_code(&checks))
}
