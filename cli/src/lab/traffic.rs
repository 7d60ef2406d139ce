//! Lab traffic: an echo server on h2 and, on h1, long-lived TCP connections, UDP flows and a fine-grained
//! UDP probe, all through the virtual IPs. Runs on threads of the lab process that entered the hosts'
//! network namespaces (`setns`), so every measurement uses one clock.
//!
//! Every flow sends a 16-byte message (flow id, magic, sequence number) every `message_interval` and checks
//! that the echo comes back unchanged. A TCP connection is opened once and never reopened: a reset, an end of
//! stream or a wrong echo marks it failed, so "still exchanging data after the failover" really means the same
//! connection survived. The probe sends every `probe_interval` and keeps the arrival time of every echo, from
//! which the outage (largest gap between consecutive echoes) is computed.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns};
use serde::Serialize;

/// Bytes of one message.
const MESSAGE_BYTES: usize = 16;
/// Marks lab messages.
const MAGIC: u32 = 0x1054_A1AB;
/// How often blocked threads look at the stop flag.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// The server's ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    /// TCP echo.
    pub tcp: u16,
    /// UDP echo (the UDP flows).
    pub udp: u16,
    /// UDP echo of the probe (its own session).
    pub probe: u16,
}

impl Default for Ports {
    fn default() -> Self {
        Self {
            tcp: 5001,
            udp: 5002,
            probe: 5003,
        }
    }
}

/// What the client opens.
#[derive(Debug, Clone)]
pub struct TrafficSpec {
    /// The server's address (h2).
    pub server: Ipv4Addr,
    /// Server ports.
    pub ports: Ports,
    /// Number of TCP connections.
    pub tcp: usize,
    /// Number of UDP flows.
    pub udp: usize,
    /// Interval between two messages of one flow.
    pub message_interval: Duration,
    /// Interval between two probe packets.
    pub probe_interval: Duration,
    /// Longest wait for a TCP connection to be accepted.
    pub connect_timeout: Duration,
}

impl TrafficSpec {
    /// The lab defaults: 20 ms per message, 5 ms per probe.
    pub fn new(server: Ipv4Addr, tcp: usize, udp: usize) -> Self {
        Self {
            server,
            ports: Ports::default(),
            tcp,
            udp,
            message_interval: Duration::from_millis(20),
            probe_interval: Duration::from_millis(5),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// Moves the calling thread into the network namespace at `path` (e.g. `/run/netns/NAME`).
pub fn enter_netns(path: &Path) -> io::Result<()> {
    let file = File::open(path)?;
    setns(&file, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)
}

/// Spawns a named thread that first enters the namespace; the closure runs only if that worked.
fn spawn_in<F>(netns: &Path, name: String, body: F) -> io::Result<JoinHandle<()>>
where
    F: FnOnce() + Send + 'static,
{
    let path: PathBuf = netns.to_owned();
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = thread::Builder::new().name(name).spawn(move || {
        let entered = enter_netns(&path);
        let ok = entered.is_ok();
        let _ = tx.send(entered);
        if ok {
            body();
        }
    })?;
    match rx.recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(e)) => {
            let _ = handle.join();
            Err(io::Error::new(
                e.kind(),
                format!("cannot enter {}: {e}", netns.display()),
            ))
        }
        Err(_) => Err(io::Error::other(
            "traffic thread ended before entering its namespace",
        )),
    }
}

fn encode(flow: u32, seq: u64) -> [u8; MESSAGE_BYTES] {
    let mut m = [0u8; MESSAGE_BYTES];
    m[0..4].copy_from_slice(&flow.to_be_bytes());
    m[4..8].copy_from_slice(&MAGIC.to_be_bytes());
    m[8..16].copy_from_slice(&seq.to_be_bytes());
    m
}

fn decode(m: &[u8]) -> Option<(u32, u64)> {
    if m.len() != MESSAGE_BYTES {
        return None;
    }
    let flow = u32::from_be_bytes(m[0..4].try_into().ok()?);
    let magic = u32::from_be_bytes(m[4..8].try_into().ok()?);
    let seq = u64::from_be_bytes(m[8..16].try_into().ok()?);
    (magic == MAGIC).then_some((flow, seq))
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

// ---------------------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------------------

/// The echo server on h2; stops and joins its threads on drop.
#[derive(Debug)]
pub struct TrafficServer {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl TrafficServer {
    /// Starts TCP and UDP echo services bound to `bind` inside the namespace at `netns`.
    pub fn start(netns: &Path, bind: Ipv4Addr, ports: Ports) -> io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        let (tx, rx) = std::sync::mpsc::channel::<io::Result<()>>();

        let s = stop.clone();
        let t = tx.clone();
        threads.push(spawn_in(
            netns,
            "lab-tcp-echo".into(),
            move || match TcpListener::bind(SocketAddrV4::new(bind, ports.tcp)).and_then(|l| {
                l.set_nonblocking(true)?;
                Ok(l)
            }) {
                Ok(listener) => {
                    let _ = t.send(Ok(()));
                    tcp_accept_loop(&listener, &s);
                }
                Err(e) => {
                    let _ = t.send(Err(e));
                }
            },
        )?);
        for (port, name) in [(ports.udp, "lab-udp-echo"), (ports.probe, "lab-probe-echo")] {
            let s = stop.clone();
            let t = tx.clone();
            threads.push(spawn_in(netns, name.into(), move || {
                match UdpSocket::bind(SocketAddrV4::new(bind, port)).and_then(|u| {
                    u.set_read_timeout(Some(STOP_CHECK))?;
                    Ok(u)
                }) {
                    Ok(socket) => {
                        let _ = t.send(Ok(()));
                        udp_echo_loop(&socket, &s);
                    }
                    Err(e) => {
                        let _ = t.send(Err(e));
                    }
                }
            })?);
        }
        drop(tx);
        let server = Self { stop, threads };
        for _ in 0..3 {
            match rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(io::Error::other("echo server thread ended early")),
            }
        }
        Ok(server)
    }
}

impl Drop for TrafficServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn tcp_accept_loop(listener: &TcpListener, stop: &Arc<AtomicBool>) {
    let mut children = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let s = stop.clone();
                // A thread created here inherits this thread's network namespace.
                if let Ok(h) = thread::Builder::new()
                    .name("lab-tcp-conn".into())
                    .spawn(move || tcp_echo(stream, &s))
                {
                    children.push(h);
                }
            }
            Err(e) if is_timeout(&e) => thread::sleep(Duration::from_millis(10)),
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
    for c in children {
        let _ = c.join();
    }
}

fn tcp_echo(mut stream: TcpStream, stop: &AtomicBool) {
    if stream.set_nonblocking(false).is_err() || stream.set_read_timeout(Some(STOP_CHECK)).is_err() {
        return;
    }
    let _ = stream.set_nodelay(true);
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
            Err(e) if is_timeout(&e) => {}
            Err(_) => return,
        }
    }
}

fn udp_echo_loop(socket: &UdpSocket, stop: &AtomicBool) {
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::SeqCst) {
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            let _ = socket.send_to(&buf[..n], from);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------------------

/// Transport of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// A TCP connection.
    Tcp,
    /// A UDP flow.
    Udp,
}

/// Live counters of one flow (shared with its thread).
#[derive(Debug)]
struct FlowState {
    id: u32,
    proto: Proto,
    local_port: AtomicU64,
    established: AtomicBool,
    sent: AtomicU64,
    echoed: AtomicU64,
    /// Microseconds since the client's epoch of the last good echo, 0 = none.
    last_echo_us: AtomicU64,
    errors: AtomicU64,
    failure: Mutex<Option<String>>,
}

impl FlowState {
    fn new(id: u32, proto: Proto) -> Self {
        Self {
            id,
            proto,
            local_port: AtomicU64::new(0),
            established: AtomicBool::new(false),
            sent: AtomicU64::new(0),
            echoed: AtomicU64::new(0),
            last_echo_us: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            failure: Mutex::new(None),
        }
    }

    fn fail(&self, why: String) {
        let mut f = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        if f.is_none() {
            *f = Some(why);
        }
    }
}

/// A snapshot of one flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowSnapshot {
    /// Flow number (TCP connections first, then UDP flows).
    pub id: u32,
    /// `tcp` or `udp`.
    pub proto: Proto,
    /// Source port on h1.
    pub local_port: u16,
    /// The TCP connection was accepted / the UDP flow got its first echo.
    pub established: bool,
    /// Messages sent.
    pub sent: u64,
    /// Correct echoes received.
    pub echoed: u64,
    /// Milliseconds since the client started at the last correct echo (None: never).
    #[serde(skip)]
    pub last_echo: Option<Duration>,
    /// Errors that did not end the flow (UDP: ICMP errors).
    pub soft_errors: u64,
    /// Why the flow ended (TCP reset, end of stream, wrong echo), None while it lives.
    pub failure: Option<String>,
}

/// The client side on h1; stops and joins its threads on drop.
#[derive(Debug)]
pub struct TrafficClient {
    epoch: Instant,
    stop: Arc<AtomicBool>,
    flows: Vec<Arc<FlowState>>,
    probe: Arc<ProbeState>,
    threads: Vec<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct ProbeState {
    sent: AtomicU64,
    /// Arrival times (µs since the epoch) of each echo, in arrival order.
    arrivals: Mutex<Vec<u64>>,
}

/// Probe figures over a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ProbeFigures {
    /// Probe packets sent so far.
    pub sent: u64,
    /// Echoes received so far.
    pub received: u64,
    /// Largest gap between two consecutive echoes in the window, in milliseconds (the outage).
    pub largest_gap_ms: Option<u64>,
}

impl TrafficClient {
    /// Starts the flows and the probe inside the namespace at `netns` (normally h1).
    pub fn start(netns: &Path, spec: &TrafficSpec) -> io::Result<Self> {
        let epoch = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let mut flows = Vec::new();
        let mut threads = Vec::new();
        let mut next_id = 1u32;
        for _ in 0..spec.tcp {
            let flow = Arc::new(FlowState::new(next_id, Proto::Tcp));
            next_id += 1;
            let (f, s, sp) = (flow.clone(), stop.clone(), spec.clone());
            threads.push(spawn_in(netns, format!("lab-tcp-{}", flow.id), move || {
                tcp_flow(&f, &s, &sp, epoch)
            })?);
            flows.push(flow);
        }
        for _ in 0..spec.udp {
            let flow = Arc::new(FlowState::new(next_id, Proto::Udp));
            next_id += 1;
            let (f, s, sp) = (flow.clone(), stop.clone(), spec.clone());
            threads.push(spawn_in(netns, format!("lab-udp-{}", flow.id), move || {
                udp_flow(&f, &s, &sp, epoch)
            })?);
            flows.push(flow);
        }
        let probe = Arc::new(ProbeState::default());
        let (p, s, sp) = (probe.clone(), stop.clone(), spec.clone());
        threads.push(spawn_in(netns, "lab-probe".into(), move || {
            probe_loop(&p, &s, &sp, epoch)
        })?);
        Ok(Self {
            epoch,
            stop,
            flows,
            probe,
            threads,
        })
    }

    /// The client's time origin.
    pub fn epoch(&self) -> Instant {
        self.epoch
    }

    /// Snapshots of every flow.
    pub fn flows(&self) -> Vec<FlowSnapshot> {
        self.flows
            .iter()
            .map(|f| {
                let last = f.last_echo_us.load(Ordering::SeqCst);
                FlowSnapshot {
                    id: f.id,
                    proto: f.proto,
                    local_port: u16::try_from(f.local_port.load(Ordering::SeqCst)).unwrap_or(0),
                    established: f.established.load(Ordering::SeqCst),
                    sent: f.sent.load(Ordering::SeqCst),
                    echoed: f.echoed.load(Ordering::SeqCst),
                    last_echo: (last > 0).then(|| Duration::from_micros(last)),
                    soft_errors: f.errors.load(Ordering::SeqCst),
                    failure: f.failure.lock().unwrap_or_else(PoisonError::into_inner).clone(),
                }
            })
            .collect()
    }

    /// Flows that got an echo at or after `since` and have not failed.
    pub fn alive_since(&self, since: Instant) -> Vec<FlowSnapshot> {
        let since = since.saturating_duration_since(self.epoch);
        self.flows()
            .into_iter()
            .filter(|f| f.failure.is_none() && f.last_echo.is_some_and(|t| t >= since))
            .collect()
    }

    /// Probe figures, the largest gap counted over echoes arriving after `since` (the last echo before
    /// `since` starts the window) up to now (a probe that is still silent counts up to now).
    pub fn probe(&self, since: Instant) -> ProbeFigures {
        let since_us = micros(since.saturating_duration_since(self.epoch));
        let now_us = micros(self.epoch.elapsed());
        let arrivals = self.probe.arrivals.lock().unwrap_or_else(PoisonError::into_inner);
        let start = arrivals.partition_point(|&t| t < since_us);
        let mut previous = if start > 0 { arrivals[start - 1] } else { since_us };
        let mut largest = 0u64;
        for &t in &arrivals[start..] {
            largest = largest.max(t.saturating_sub(previous));
            previous = t;
        }
        largest = largest.max(now_us.saturating_sub(previous));
        ProbeFigures {
            sent: self.probe.sent.load(Ordering::SeqCst),
            received: arrivals.len() as u64,
            largest_gap_ms: Some(largest / 1000),
        }
    }

    /// Asks every thread to stop and waits for them.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for TrafficClient {
    fn drop(&mut self) {
        self.stop();
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

fn tcp_flow(flow: &FlowState, stop: &AtomicBool, spec: &TrafficSpec, epoch: Instant) {
    let addr = SocketAddr::V4(SocketAddrV4::new(spec.server, spec.ports.tcp));
    let mut stream = match TcpStream::connect_timeout(&addr, spec.connect_timeout) {
        Ok(s) => s,
        Err(e) => return flow.fail(format!("connect: {e}")),
    };
    if let Err(e) = stream
        .set_read_timeout(Some(STOP_CHECK))
        .and_then(|()| stream.set_nodelay(true))
    {
        return flow.fail(format!("socket options: {e}"));
    }
    if let Ok(local) = stream.local_addr() {
        flow.local_port.store(u64::from(local.port()), Ordering::SeqCst);
    }
    flow.established.store(true, Ordering::SeqCst);
    let mut seq = 0u64;
    let mut next = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        seq += 1;
        let message = encode(flow.id, seq);
        if let Err(e) = stream.write_all(&message) {
            return flow.fail(format!("send: {e}"));
        }
        flow.sent.fetch_add(1, Ordering::SeqCst);
        let mut echo = [0u8; MESSAGE_BYTES];
        let mut filled = 0;
        while filled < MESSAGE_BYTES {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            match stream.read(&mut echo[filled..]) {
                Ok(0) => return flow.fail("the server closed the connection".into()),
                Ok(n) => filled += n,
                Err(e) if is_timeout(&e) => {}
                Err(e) => return flow.fail(format!("receive: {e}")),
            }
        }
        if echo != message {
            return flow.fail(format!("wrong echo for message {seq}: {:?}", decode(&echo)));
        }
        flow.echoed.fetch_add(1, Ordering::SeqCst);
        flow.last_echo_us.store(micros(epoch.elapsed()), Ordering::SeqCst);
        next += spec.message_interval;
        let now = Instant::now();
        if next > now {
            thread::sleep(next - now);
        } else {
            next = now;
        }
    }
}

/// A connected UDP socket toward `port` of the server, with a short read timeout for the receiver.
fn udp_socket(spec: &TrafficSpec, port: u16) -> io::Result<UdpSocket> {
    let socket = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
    socket.connect(SocketAddrV4::new(spec.server, port))?;
    socket.set_read_timeout(Some(STOP_CHECK))?;
    Ok(socket)
}

/// Sends `message(seq)` every `interval` on an absolute schedule (nanosleep: socket timeouts are too coarse
/// for a 5 ms probe) until `stop`; `sent` counts the successful sends, `failed` the refused ones.
fn send_every(
    socket: &UdpSocket,
    interval: Duration,
    stop: &AtomicBool,
    mut message: impl FnMut(u64) -> [u8; MESSAGE_BYTES],
    mut sent: impl FnMut(u64),
    mut failed: impl FnMut(),
) {
    let mut seq = 0u64;
    let mut next = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        seq += 1;
        if socket.send(&message(seq)).is_ok() {
            sent(seq);
        } else {
            failed();
        }
        next += interval;
        let now = Instant::now();
        if next > now {
            thread::sleep(next - now);
        } else {
            next = now;
        }
    }
}

fn udp_flow(flow: &Arc<FlowState>, stop: &Arc<AtomicBool>, spec: &TrafficSpec, epoch: Instant) {
    let (socket, receiver) = match udp_socket(spec, spec.ports.udp).and_then(|s| {
        let r = s.try_clone()?;
        Ok((s, r))
    }) {
        Ok(pair) => pair,
        Err(e) => return flow.fail(format!("socket: {e}")),
    };
    if let Ok(local) = socket.local_addr() {
        flow.local_port.store(u64::from(local.port()), Ordering::SeqCst);
    }
    let (f, st) = (flow.clone(), stop.clone());
    // Created here, the receiver thread shares this thread's network namespace.
    let rx = thread::Builder::new()
        .name(format!("lab-udp-rx-{}", flow.id))
        .spawn(move || {
            let mut buf = [0u8; 64];
            while !st.load(Ordering::SeqCst) {
                match receiver.recv(&mut buf) {
                    Ok(n) => match decode(&buf[..n]) {
                        // The echo may overtake the sender's counter by one message.
                        Some((id, s)) if id == f.id && s <= f.sent.load(Ordering::SeqCst) + 1 => {
                            f.echoed.fetch_add(1, Ordering::SeqCst);
                            f.established.store(true, Ordering::SeqCst);
                            f.last_echo_us.store(micros(epoch.elapsed()), Ordering::SeqCst);
                        }
                        _ => return f.fail(format!("wrong echo: {:?}", &buf[..n])),
                    },
                    Err(e) if is_timeout(&e) => {}
                    Err(_) => {
                        f.errors.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        });
    let Ok(rx) = rx else {
        return flow.fail("cannot start the receiver".into());
    };
    send_every(
        &socket,
        spec.message_interval,
        stop,
        |seq| encode(flow.id, seq),
        |_| {
            flow.sent.fetch_add(1, Ordering::SeqCst);
        },
        || {
            flow.errors.fetch_add(1, Ordering::SeqCst);
        },
    );
    let _ = rx.join();
}

fn probe_loop(probe: &Arc<ProbeState>, stop: &Arc<AtomicBool>, spec: &TrafficSpec, epoch: Instant) {
    let Ok((socket, receiver)) = udp_socket(spec, spec.ports.probe).and_then(|s| {
        let r = s.try_clone()?;
        Ok((s, r))
    }) else {
        return;
    };
    let (p, st) = (probe.clone(), stop.clone());
    let rx = thread::Builder::new().name("lab-probe-rx".into()).spawn(move || {
        let mut buf = [0u8; 64];
        while !st.load(Ordering::SeqCst) {
            if let Ok(n) = receiver.recv(&mut buf)
                && decode(&buf[..n]).is_some()
            {
                let t = micros(epoch.elapsed());
                p.arrivals.lock().unwrap_or_else(PoisonError::into_inner).push(t);
            }
        }
    });
    let Ok(rx) = rx else { return };
    send_every(
        &socket,
        spec.probe_interval,
        stop,
        |seq| encode(0, seq),
        |_| {
            probe.sent.fetch_add(1, Ordering::SeqCst);
        },
        || {},
    );
    let _ = rx.join();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_reject_strangers() {
        let m = encode(7, 123_456_789);
        assert_eq!(decode(&m), Some((7, 123_456_789)));
        assert_eq!(decode(&m[..15]), None);
        let mut bad = m;
        bad[5] ^= 1;
        assert_eq!(decode(&bad), None);
    }

    /// Runs server and client in the test's own namespace over loopback: the flows exchange data and the
    /// probe gap stays small.
    #[test]
    fn loopback_traffic_flows() {
        let own = PathBuf::from("/proc/self/ns/net");
        let ports = Ports {
            tcp: 45_001,
            udp: 45_002,
            probe: 45_003,
        };
        let _server = TrafficServer::start(&own, Ipv4Addr::LOCALHOST, ports).unwrap();
        let mut spec = TrafficSpec::new(Ipv4Addr::LOCALHOST, 3, 2);
        spec.ports = ports;
        let client = TrafficClient::start(&own, &spec).unwrap();
        let start = Instant::now();
        let deadline = start + Duration::from_secs(10);
        loop {
            let alive = client.alive_since(start + Duration::from_millis(100));
            if alive.len() == 5 && alive.iter().all(|f| f.echoed >= 5) {
                break;
            }
            assert!(Instant::now() < deadline, "flows: {:?}", client.flows());
            thread::sleep(Duration::from_millis(20));
        }
        let probe = client.probe(start);
        assert!(probe.received > 0);
        assert!(
            client
                .flows()
                .iter()
                .all(|f| f.failure.is_none() && f.local_port != 0)
        );
    }
}
