//! The control protocol between `iosha exec` / `iosha shell` and the daemon.
//!
//! A Unix stream socket carrying JSON lines: one [`Request`] object per line from the client, one [`Response`]
//! object per line back, in order. Each connection is one operator session (one vty): it keeps its own mode
//! (exec, config, config-if, ...) across requests. A malformed request gets an `ok: false` response with a
//! `% ...` message; the connection stays usable (except after a line longer than [`MAX_REQUEST_BYTES`] or
//! bytes that are not UTF-8, after which the daemon answers and closes it).
//!
//! This module holds the wire types and a small blocking client; the server side is in `daemon`.

use std::io::{self, BufRead as _, BufReader, Write as _};
use std::os::unix::net::UnixStream;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Default path of the control socket.
pub const DEFAULT_SOCKET: &str = "/run/iosha/iosha.sock";
/// Longest request line the daemon accepts, in bytes.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// What a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// Run one command line in the session's mode.
    Exec,
    /// `?` help for a partial line (the text before the `?`).
    Help,
    /// TAB completion of a partial line.
    Complete,
    /// Only report the session's prompt.
    Prompt,
}

/// One request line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The operation.
    pub op: Op,
    /// The command line (may be empty; ignored by `prompt`).
    #[serde(default)]
    pub line: String,
    /// Ask for the JSON form of a `show` command.
    #[serde(default)]
    pub json: bool,
}

impl Request {
    /// A request of `op` for `line`.
    pub fn new(op: Op, line: impl Into<String>, json: bool) -> Self {
        Self {
            op,
            line: line.into(),
            json,
        }
    }

    /// Parses one request line, or explains in an IOS-style `% ...` message why it is malformed.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim_end_matches(['\r', '\n']);
        if text.trim().is_empty() {
            return Err("% Malformed request: empty line (expected one JSON object per line)".to_owned());
        }
        serde_json::from_str::<Self>(text).map_err(|e| format!("% Malformed request: {e}"))
    }
}

/// One response line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// False when the command failed (parse error, rejected change, component error, malformed request).
    pub ok: bool,
    /// Text to show the operator (IOS form). Errors with a caret are aligned for display right after
    /// `<prompt><line>`, as the shell echoes them.
    pub output: String,
    /// The session's prompt after the request, e.g. `ha-R1(config-if)#`.
    pub prompt: String,
    /// The JSON document of the command when `json` was asked and the command has one; else null.
    /// For `help`: a list of `{token, help}`; for `complete`: the completed line or null.
    #[serde(default)]
    pub json: Option<serde_json::Value>,
    /// True when the session ended (`exit` in exec mode); the daemon closes the connection after this line.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub close: bool,
}

impl Response {
    /// A failed response with `output`.
    pub fn error(output: impl Into<String>, prompt: impl Into<String>) -> Self {
        Self {
            ok: false,
            output: output.into(),
            prompt: prompt.into(),
            json: None,
            close: false,
        }
    }

    /// A successful response with `output`.
    pub fn text(output: impl Into<String>, prompt: impl Into<String>) -> Self {
        Self {
            ok: true,
            output: output.into(),
            prompt: prompt.into(),
            json: None,
            close: false,
        }
    }
}

/// Errors of the client side.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Could not reach the daemon.
    #[error("cannot connect to the iosha daemon at {path}: {source}")]
    Connect {
        /// Socket path.
        path: String,
        /// Cause.
        source: io::Error,
    },
    /// The connection failed mid-way.
    #[error("control connection failed: {0}")]
    Io(#[from] io::Error),
    /// The daemon closed the connection.
    #[error("the daemon closed the control connection")]
    Closed,
    /// The daemon sent something that is not a response.
    #[error("unreadable response from the daemon: {0}")]
    BadResponse(String),
}

/// A blocking control connection (one session).
#[derive(Debug)]
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Client {
    /// Connects to the daemon's socket.
    pub fn connect(path: &Path) -> Result<Self, ClientError> {
        let stream = UnixStream::connect(path).map_err(|source| ClientError::Connect {
            path: path.display().to_string(),
            source,
        })?;
        let writer = stream.try_clone()?;
        Ok(Self {
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// Sends one request and waits for its response.
    pub fn request(&mut self, req: &Request) -> Result<Response, ClientError> {
        let mut line = serde_json::to_string(req).map_err(|e| ClientError::BadResponse(e.to_string()))?;
        line.push('\n');
        self.writer.write_all(line.as_bytes())?;
        self.writer.flush()?;
        let mut answer = String::new();
        if self.reader.read_line(&mut answer)? == 0 {
            return Err(ClientError::Closed);
        }
        serde_json::from_str(&answer).map_err(|e| ClientError::BadResponse(e.to_string()))
    }

    /// Shorthand for a request of `op` on `line`.
    pub fn call(&mut self, op: Op, line: &str, json: bool) -> Result<Response, ClientError> {
        self.request(&Request::new(op, line, json))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_with_defaults() {
        let r = Request::parse(r#"{"op":"exec","line":"show version"}"#).unwrap();
        assert_eq!(r, Request::new(Op::Exec, "show version", false));
        let r = Request::parse("{\"op\":\"prompt\"}\r\n").unwrap();
        assert_eq!(r, Request::new(Op::Prompt, "", false));
        let r = Request::parse(r#"{"op":"help","line":"sh","json":true}"#).unwrap();
        assert!(r.json);
    }

    #[test]
    fn malformed_requests_are_explained() {
        for bad in [
            "",
            "   ",
            "not json",
            "{}",
            r#"{"op":"reboot"}"#,
            r#"{"op":"exec","line":5}"#,
            "[1,2]",
            r#"{"op":"exec","line":"x","extra":1}"#,
        ] {
            let err = Request::parse(bad).unwrap_err();
            assert!(err.starts_with("% Malformed request"), "{bad:?} -> {err}");
        }
    }

    #[test]
    fn responses_round_trip_and_close_is_omitted_when_false() {
        let r = Response::text("ok", "ha-R1#");
        let s = serde_json::to_string(&r).unwrap();
        assert_eq!(s, r#"{"ok":true,"output":"ok","prompt":"ha-R1#","json":null}"#);
        assert_eq!(serde_json::from_str::<Response>(&s).unwrap(), r);
    }
}
