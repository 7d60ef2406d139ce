//! Logging of the daemon in IOS form.
//!
//! Drivers log through `tracing` with two conventions, and [`IosLayer`] (a `tracing-subscriber` layer) turns
//! them into what an IOS operator expects to read:
//!
//! * events with target `"syslog"` whose message starts with `%FAC-SEV-MNEMONIC:` are syslog messages. They are
//!   printed as `*Nov 21 10:00:00.123: %HSRP-5-STATECHANGE: ...` (UTC, milliseconds) on the console (stderr)
//!   and kept in a bounded ring buffer that `show logging` prints;
//! * events with target `"debug.<category>"` (dotted IOS debug words, e.g. `debug.standby.packets.terse`) are
//!   debug output. They are produced only while their category, or a parent of it, is switched on at run time
//!   through [`DebugFlags`] (`debug standby packets` switches on `standby.packets`, which covers
//!   `standby.packets.terse`). Debug lines go to the same two places.
//!
//! Other targets (libraries, the daemon's own plumbing) are shown from level INFO up, as `%IOSHA-*` lines.

use std::collections::{BTreeSet, VecDeque};
use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Target of syslog events.
pub const SYSLOG_TARGET: &str = "syslog";
/// Prefix of debug targets: `debug.` followed by the category.
pub const DEBUG_TARGET_PREFIX: &str = "debug.";
/// Default size of the logging buffer in bytes.
pub const DEFAULT_BUFFER_BYTES: usize = 64 * 1024;

/// The debug categories switched on at run time. Cheap to clone (shared).
#[derive(Clone, Debug, Default)]
pub struct DebugFlags {
    inner: Arc<DebugFlagsInner>,
}

#[derive(Debug, Default)]
struct DebugFlagsInner {
    any: AtomicBool,
    categories: RwLock<BTreeSet<String>>,
}

impl DebugFlags {
    /// No category switched on.
    pub fn new() -> Self {
        Self::default()
    }

    /// Switches `category` (dotted, e.g. `standby.packets`) on; its sub-categories follow it.
    /// Returns false when it was already on.
    pub fn enable(&self, category: &str) -> bool {
        let mut set = self
            .inner
            .categories
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let added = set.insert(category.to_owned());
        self.inner.any.store(!set.is_empty(), Ordering::Release);
        added
    }

    /// Switches `category` and every sub-category of it off. Returns the categories that were on.
    pub fn disable(&self, category: &str) -> Vec<String> {
        let mut set = self
            .inner
            .categories
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let removed: Vec<String> = set.iter().filter(|c| covers(category, c)).cloned().collect();
        for c in &removed {
            set.remove(c);
        }
        self.inner.any.store(!set.is_empty(), Ordering::Release);
        removed
    }

    /// Switches every category off (`no debug all`, `undebug all`). Returns the categories that were on.
    pub fn disable_all(&self) -> Vec<String> {
        let mut set = self
            .inner
            .categories
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let removed: Vec<String> = std::mem::take(&mut *set).into_iter().collect();
        self.inner.any.store(false, Ordering::Release);
        removed
    }

    /// True when `category` or one of its parents is on.
    pub fn is_enabled(&self, category: &str) -> bool {
        if !self.inner.any.load(Ordering::Acquire) {
            return false;
        }
        let set = self
            .inner
            .categories
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        set.iter().any(|on| covers(on, category))
    }

    /// The categories switched on, sorted.
    pub fn enabled(&self) -> Vec<String> {
        let set = self
            .inner
            .categories
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        set.iter().cloned().collect()
    }
}

/// True when switching `parent` on covers `category` (equal, or `category` starts with `parent.`).
fn covers(parent: &str, category: &str) -> bool {
    category == parent
        || (category.len() > parent.len()
            && category.starts_with(parent)
            && category.as_bytes()[parent.len()] == b'.')
}

/// The bounded ring buffer behind `show logging`. Cheap to clone (shared).
#[derive(Clone, Debug)]
pub struct LogBuffer {
    inner: Arc<Mutex<BufferInner>>,
}

#[derive(Debug)]
struct BufferInner {
    lines: VecDeque<String>,
    bytes: usize,
    capacity: usize,
    logged: u64,
    overwritten: u64,
}

/// A copy of the logging buffer and its counters.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct LogSnapshot {
    /// Buffer size in bytes.
    pub buffer_bytes: usize,
    /// Messages logged since start (syslog and debug).
    pub messages_logged: u64,
    /// Messages pushed out of the buffer by newer ones.
    pub messages_overwritten: u64,
    /// The buffered lines, oldest first.
    pub lines: Vec<String>,
}

impl LogBuffer {
    /// An empty buffer holding at most `capacity` bytes of text (one line at least).
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(BufferInner {
                lines: VecDeque::new(),
                bytes: 0,
                capacity,
                logged: 0,
                overwritten: 0,
            })),
        }
    }

    /// Appends one line (without its newline), dropping the oldest lines beyond the capacity.
    pub fn push(&self, line: String) {
        let mut b = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        b.logged += 1;
        b.bytes += line.len() + 1;
        b.lines.push_back(line);
        while b.bytes > b.capacity && b.lines.len() > 1 {
            if let Some(old) = b.lines.pop_front() {
                b.bytes -= old.len() + 1;
                b.overwritten += 1;
            }
        }
    }

    /// Copies the buffer.
    pub fn snapshot(&self) -> LogSnapshot {
        let b = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        LogSnapshot {
            buffer_bytes: b.capacity,
            messages_logged: b.logged,
            messages_overwritten: b.overwritten,
            lines: b.lines.iter().cloned().collect(),
        }
    }
}

impl Default for LogBuffer {
    fn default() -> Self {
        Self::new(DEFAULT_BUFFER_BYTES)
    }
}

/// The `show logging` document (`--json`).
#[derive(Clone, Debug, Serialize)]
pub struct ShowLogging {
    /// Whether console (stderr) logging is on.
    pub console: bool,
    /// Debug categories switched on.
    pub debug: Vec<String>,
    /// The buffer and its counters.
    #[serde(flatten)]
    pub buffer: LogSnapshot,
}

impl ShowLogging {
    /// Collects the document.
    pub fn collect(buffer: &LogBuffer, flags: &DebugFlags, console: bool) -> Self {
        Self {
            console,
            debug: flags.enabled(),
            buffer: buffer.snapshot(),
        }
    }

    /// The IOS-like text of `show logging`.
    pub fn render(&self) -> String {
        let b = &self.buffer;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Syslog logging: enabled ({} messages overwritten in the buffer)",
            b.messages_overwritten
        );
        if self.console {
            let _ = writeln!(
                out,
                "    Console logging: level debugging, {} messages logged (standard error)",
                b.messages_logged
            );
        } else {
            out.push_str("    Console logging: disabled\n");
        }
        let _ = writeln!(
            out,
            "    Buffer logging:  level debugging, {} messages logged",
            b.messages_logged
        );
        if self.debug.is_empty() {
            out.push_str("    Debug categories on: none\n");
        } else {
            let _ = writeln!(out, "    Debug categories on: {}", self.debug.join(", "));
        }
        let _ = writeln!(out, "\nLog Buffer ({} bytes):", b.buffer_bytes);
        for line in &b.lines {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

/// The IOS timestamp of a log line: `*Nov 21 10:00:00.123` (UTC; the `*` says the clock is not
/// NTP-authoritative, as IOS prints it).
pub fn ios_timestamp(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let millis = since.subsec_millis();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (_, month, day) = civil_from_days(days);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month_name = MONTHS
        .get(month.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("???");
    format!(
        "*{month_name} {day} {:02}:{:02}:{:02}.{millis:03}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Where rendered lines go besides the buffer.
type ConsoleSink = Arc<dyn Fn(&str) + Send + Sync>;

/// The tracing layer that renders syslog and debug events in IOS form.
#[derive(Clone)]
pub struct IosLayer {
    flags: DebugFlags,
    buffer: LogBuffer,
    console: Option<ConsoleSink>,
}

impl fmt::Debug for IosLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IosLayer")
            .field("flags", &self.flags)
            .field("console", &self.console.is_some())
            .finish_non_exhaustive()
    }
}

impl IosLayer {
    /// A layer writing to `buffer`, to stderr when `console` is true, gated by `flags` for debug events.
    pub fn new(flags: DebugFlags, buffer: LogBuffer, console: bool) -> Self {
        let console: Option<ConsoleSink> = if console {
            Some(Arc::new(|line: &str| {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "{line}");
            }))
        } else {
            None
        };
        Self {
            flags,
            buffer,
            console,
        }
    }

    /// A layer whose console output goes to `sink` (tests, embedding).
    pub fn with_console_sink(
        flags: DebugFlags,
        buffer: LogBuffer,
        sink: Arc<dyn Fn(&str) + Send + Sync>,
    ) -> Self {
        Self {
            flags,
            buffer,
            console: Some(sink),
        }
    }

    fn wants(&self, meta: &Metadata<'_>) -> bool {
        let target = meta.target();
        if target == SYSLOG_TARGET {
            return true;
        }
        if let Some(category) = target.strip_prefix(DEBUG_TARGET_PREFIX) {
            return self.flags.is_enabled(category);
        }
        *meta.level() <= Level::INFO
    }

    fn emit(&self, line: String) {
        if let Some(console) = &self.console {
            console(&line);
        }
        self.buffer.push(line);
    }
}

impl<S: Subscriber> Layer<S> for IosLayer {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if meta.target().starts_with(DEBUG_TARGET_PREFIX) {
            // Debug categories are switched at run time: ask again for every event.
            Interest::sometimes()
        } else if self.wants(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        self.wants(meta)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if !self.wants(meta) {
            return;
        }
        let mut text = MessageText::default();
        event.record(&mut text);
        let stamp = ios_timestamp(SystemTime::now());
        let target = meta.target();
        let line = if target == SYSLOG_TARGET || target.starts_with(DEBUG_TARGET_PREFIX) {
            format!("{stamp}: {}", text.0)
        } else {
            let (sev, mnemonic) = match *meta.level() {
                Level::ERROR => (3, "ERROR"),
                Level::WARN => (4, "WARNING"),
                _ => (6, "INFO"),
            };
            format!("{stamp}: %IOSHA-{sev}-{mnemonic}: {target}: {}", text.0)
        };
        self.emit(line);
    }
}

/// Collects an event's message, then its other fields as ` name=value`.
#[derive(Default)]
struct MessageText(String);

impl Visit for MessageText {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.insert_str(0, value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0.insert_str(0, &format!("{value:?}"));
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

/// Installs the IOS layer as the global subscriber. Errors if one is already installed.
pub fn install(flags: DebugFlags, buffer: LogBuffer, console: bool) -> Result<(), String> {
    use tracing_subscriber::layer::SubscriberExt as _;
    let subscriber = tracing_subscriber::registry().with(IosLayer::new(flags, buffer, console));
    tracing::subscriber::set_global_default(subscriber).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tracing_subscriber::layer::SubscriberExt as _;

    fn capture() -> (DebugFlags, LogBuffer, Arc<Mutex<Vec<String>>>, impl Subscriber) {
        let flags = DebugFlags::new();
        let buffer = LogBuffer::new(4096);
        let console = Arc::new(Mutex::new(Vec::new()));
        let sink_lines = console.clone();
        let sink = Arc::new(move |l: &str| sink_lines.lock().unwrap().push(l.to_owned()));
        let layer = IosLayer::with_console_sink(flags.clone(), buffer.clone(), sink);
        (flags, buffer, console, tracing_subscriber::registry().with(layer))
    }

    #[test]
    fn timestamp_is_ios_form_in_utc_with_millis() {
        // 2026-11-21 10:00:00.123 UTC
        let t = UNIX_EPOCH + Duration::from_millis(1_795_255_200_123);
        assert_eq!(ios_timestamp(t), "*Nov 21 10:00:00.123");
        assert_eq!(ios_timestamp(UNIX_EPOCH), "*Jan 1 00:00:00.000");
        // A leap day.
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_661); // 2000-02-29 01:01:01
        assert_eq!(ios_timestamp(leap), "*Feb 29 01:01:01.000");
    }

    #[test]
    fn syslog_events_reach_console_and_buffer() {
        let (_flags, buffer, console, sub) = capture();
        tracing::subscriber::with_default(sub, || {
            tracing::info!(target: "syslog", "%HSRP-5-STATECHANGE: Ethernet0/0 Grp 1 state Standby -> Active");
        });
        let snap = buffer.snapshot();
        assert_eq!(snap.lines.len(), 1);
        let line = &snap.lines[0];
        assert!(line.starts_with('*'), "{line}");
        assert!(
            line.ends_with(": %HSRP-5-STATECHANGE: Ethernet0/0 Grp 1 state Standby -> Active"),
            "{line}"
        );
        assert_eq!(console.lock().unwrap().as_slice(), snap.lines.as_slice());
    }

    #[test]
    fn debug_events_follow_the_flags_and_parents_cover_children() {
        let (flags, buffer, _console, sub) = capture();
        tracing::subscriber::with_default(sub, || {
            tracing::debug!(target: "debug.standby.packets", "hello out 1");
            flags.enable("standby.packets");
            tracing::debug!(target: "debug.standby.packets", "hello out 2");
            tracing::debug!(target: "debug.standby.packets.terse", "terse 3");
            tracing::debug!(target: "debug.standby.events", "event 4");
            tracing::debug!(target: "debug.standby.packetsx", "not a child 5");
            flags.enable("ip.inspect.ha");
            tracing::debug!(target: "debug.ip.inspect.ha.update", "update 6");
            tracing::debug!(target: "debug.ip.inspect", "parent not covered 7");
            assert_eq!(flags.disable_all().len(), 2);
            tracing::debug!(target: "debug.standby.packets", "hello out 8");
        });
        let lines = buffer.snapshot().lines;
        let texts: Vec<&str> = lines.iter().map(|l| l.split_once(": ").unwrap().1).collect();
        assert_eq!(texts, ["hello out 2", "terse 3", "update 6"]);
    }

    #[test]
    fn disable_removes_children_too() {
        let flags = DebugFlags::new();
        flags.enable("standby.packets.terse");
        flags.enable("standby.events");
        flags.enable("ipc");
        let mut removed = flags.disable("standby");
        removed.sort();
        assert_eq!(removed, ["standby.events", "standby.packets.terse"]);
        assert!(flags.is_enabled("ipc"));
        assert!(!flags.is_enabled("standby.events"));
        assert!(!flags.is_enabled("ip"));
        assert_eq!(flags.enabled(), ["ipc"]);
    }

    #[test]
    fn other_targets_are_shown_from_info_up_with_iosha_facility() {
        let (_flags, buffer, _console, sub) = capture();
        tracing::subscriber::with_default(sub, || {
            tracing::warn!(target: "cli::daemon", "socket vanished");
            tracing::debug!(target: "cli::daemon", "noise");
            tracing::info!(target: "cli::daemon", code = 7, "started");
        });
        let lines = buffer.snapshot().lines;
        assert_eq!(lines.len(), 2);
        assert!(
            lines[0].ends_with("%IOSHA-4-WARNING: cli::daemon: socket vanished"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].ends_with("%IOSHA-6-INFO: cli::daemon: started code=7"),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn buffer_is_bounded_and_counts_overwrites() {
        let buffer = LogBuffer::new(25);
        for i in 0..10 {
            buffer.push(format!("line {i}")); // 7 bytes + newline
        }
        let snap = buffer.snapshot();
        assert_eq!(snap.lines, ["line 7", "line 8", "line 9"]);
        assert_eq!(snap.messages_logged, 10);
        assert_eq!(snap.messages_overwritten, 7);
        // A line longer than the buffer is still kept (alone).
        buffer.push("x".repeat(100));
        assert_eq!(buffer.snapshot().lines.len(), 1);
    }

    #[test]
    fn show_logging_has_the_ios_header() {
        let buffer = LogBuffer::new(1000);
        buffer.push("*Nov 21 10:00:00.123: %SYS-5-CONFIG_I: Configured from console by vty0".into());
        let flags = DebugFlags::new();
        flags.enable("standby.events");
        let text = ShowLogging::collect(&buffer, &flags, true).render();
        assert!(text.starts_with("Syslog logging: enabled"), "{text}");
        assert!(
            text.contains("Log Buffer (1000 bytes):\n*Nov 21 10:00:00.123: %SYS-5-CONFIG_I"),
            "{text}"
        );
        assert!(text.contains("Debug categories on: standby.events"), "{text}");
        let json = serde_json::to_value(ShowLogging::collect(&buffer, &flags, false)).unwrap();
        assert_eq!(json["buffer_bytes"], 1000);
        assert_eq!(json["lines"].as_array().unwrap().len(), 1);
        assert_eq!(json["debug"][0], "standby.events");
    }
}
