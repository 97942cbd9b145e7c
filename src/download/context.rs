//! The one context every stage reads: what was asked, with what, where, and where to speak.

use super::events::Events;
use super::layout::Layout;
use super::request::{DownloadRequest, Options, Session};
use crate::hub::HubClient;

pub(crate) struct Context {
    pub(crate) client: HubClient,
    pub(crate) options: Options,
    pub(crate) request: DownloadRequest,
    pub(crate) layout: Layout,
    pub(crate) events: Events,
}

impl Context {
    pub(crate) fn new(session: &Session, request: DownloadRequest, events: Events) -> Context {
        Context {
            client: session.client.clone(),
            options: session.options.clone(),
            layout: Layout::new(
                &request.target,
                &request.repo,
                session.options.disable_symlinks,
            ),
            request,
            events,
        }
    }
}
