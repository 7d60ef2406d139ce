//! The iosha daemon: it owns the running configuration, serves the control socket and hosts the components.
//!
//! * [`core::DaemonCore`] is the daemon without I/O: per-connection sessions (modes), whole-candidate
//!   commits (`configure terminal` changes are validated whole and applied whole or rejected), the built-in
//!   exec commands (`show running-config|logging|version|debugging`, `write memory`, `debug ...`) and the
//!   dispatch of other exec keys to [`Component`]s (`% HSRP is not running` when the component is absent).
//! * [`run`] is the tokio side: the Unix control socket (JSON lines, see `control`), SIGHUP (reload the file,
//!   keep the running config on any error), SIGTERM/SIGINT (clean stop, socket removed).
//! * [`persist::write_atomically`] saves the file for `write memory` (temp file, fsync, rename).

pub mod component;
pub mod core;
pub mod persist;
#[cfg(test)]
mod tests;

use std::io;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use futures::StreamExt as _;
use tokio::io::AsyncWriteExt as _;
use tokio::net::{UnixListener, UnixStream};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};

pub use self::component::{Component, ExecContext, ExecOutput, InterfaceMap};
pub use self::core::{DaemonCore, DaemonSettings, SessionId, load_checked};
use crate::control::{MAX_REQUEST_BYTES, Request, Response};

/// Errors that stop the daemon.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The control socket could not be set up.
    #[error("control socket {path}: {message}")]
    Socket {
        /// Socket path.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(io::Error),
}

type SharedCore = Arc<Mutex<DaemonCore>>;

fn lock(core: &SharedCore) -> std::sync::MutexGuard<'_, DaemonCore> {
    core.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Serves `core` on the control socket until SIGTERM or SIGINT. Must run inside a multi-threaded tokio
/// runtime. The socket file is removed on the way out.
pub async fn run(core: DaemonCore, control: &Path) -> Result<(), DaemonError> {
    run_until(core, control, std::future::pending()).await
}

/// Like [`run`], also stopping when `shutdown` completes (for embedding the daemon in a larger program or
/// an in-process test).
pub async fn run_until(
    core: DaemonCore,
    control: &Path,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    tokio::pin!(shutdown);
    let mut hup = signal(SignalKind::hangup()).map_err(DaemonError::Signals)?;
    let mut term = signal(SignalKind::terminate()).map_err(DaemonError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(DaemonError::Signals)?;
    let (listener, guard) = bind_control(control)?;
    let core: SharedCore = Arc::new(Mutex::new(core));
    tracing::info!(
        target: "syslog",
        "%SYS-5-RESTART: iosha {} serving {}",
        env!("CARGO_PKG_VERSION"),
        control.display()
    );
    let reason = loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let core = core.clone();
                    tokio::spawn(serve_connection(stream, core));
                }
                Err(e) => tracing::warn!("control socket accept failed: {e}"),
            },
            _ = hup.recv() => {
                let core = core.clone();
                // Reloading reads a file and may move components: keep it off the accept loop.
                let _ = tokio::task::spawn_blocking(move || lock(&core).reload()).await;
            }
            _ = term.recv() => break "SIGTERM",
            _ = int.recv() => break "SIGINT",
            () = &mut shutdown => break "shutdown request",
        }
    };
    tracing::info!(target: "syslog", "%SYS-5-RELOAD: iosha stopping ({reason})");
    drop(listener);
    drop(guard);
    lock(&core).shutdown();
    Ok(())
}

/// Removes the socket file when dropped, if it is still the one this daemon created.
#[derive(Debug)]
struct SocketGuard {
    path: PathBuf,
    identity: Option<(u64, u64)>,
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        if let Ok(meta) = std::fs::symlink_metadata(&self.path)
            && self.identity == Some((meta.dev(), meta.ino()))
        {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn bind_control(path: &Path) -> Result<(UnixListener, SocketGuard), DaemonError> {
    let fail = |message: String| DaemonError::Socket {
        path: path.display().to_string(),
        message,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(fail("exists and is not a socket".to_owned()));
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(fail(
                "another iosha daemon is already serving this socket".to_owned(),
            ));
        }
        // A stale socket left by a daemon that did not stop cleanly.
        std::fs::remove_file(path).map_err(|e| fail(format!("cannot remove the stale socket: {e}")))?;
    }
    let listener = UnixListener::bind(path).map_err(|e| fail(e.to_string()))?;
    // The socket can change the configuration: owner only.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| fail(e.to_string()))?;
    let identity = std::fs::symlink_metadata(path).ok().map(|m| (m.dev(), m.ino()));
    Ok((
        listener,
        SocketGuard {
            path: path.to_path_buf(),
            identity,
        },
    ))
}

async fn serve_connection(stream: UnixStream, core: SharedCore) {
    let id = lock(&core).open_session();
    let (reader, mut writer) = stream.into_split();
    let mut lines = FramedRead::new(reader, LinesCodec::new_with_max_length(MAX_REQUEST_BYTES));
    while let Some(item) = lines.next().await {
        let (response, close) = match item {
            Ok(line) => match Request::parse(&line) {
                Ok(request) => {
                    let worker = core.clone();
                    let handled =
                        tokio::task::spawn_blocking(move || lock(&worker).handle(id, &request)).await;
                    match handled {
                        Ok(r) => {
                            let close = r.close;
                            (r, close)
                        }
                        Err(e) => (
                            Response::error(format!("% Internal error: {e}"), lock(&core).prompt(id)),
                            true,
                        ),
                    }
                }
                Err(message) => (Response::error(message, lock(&core).prompt(id)), false),
            },
            Err(LinesCodecError::MaxLineLengthExceeded) => (
                Response::error(
                    format!("% Malformed request: longer than {MAX_REQUEST_BYTES} bytes"),
                    lock(&core).prompt(id),
                ),
                // The line codec cannot resynchronise after an overlong line: answer, then close.
                true,
            ),
            Err(LinesCodecError::Io(e)) => (
                Response::error(format!("% Malformed request: {e}"), lock(&core).prompt(id)),
                true,
            ),
        };
        let mut bytes = serde_json::to_vec(&response).unwrap_or_else(|_| b"{\"ok\":false}".to_vec());
        bytes.push(b'\n');
        if writer.write_all(&bytes).await.is_err() || close {
            break;
        }
    }
    lock(&core).close_session(id);
}
