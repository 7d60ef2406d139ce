//! Small traffic tools for the lab tests: an echo server in one namespace and TCP/UDP clients in another,
//! run on threads of the test process that entered the namespaces (`setns` affects only the calling
//! thread; a socket stays in the namespace it was created in, whatever thread uses it later).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns};

/// Runs `f` on a new thread that entered network namespace `ns` and returns its result.
pub fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> std::io::Result<T> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || -> std::io::Result<T> {
        let file = std::fs::File::open(&path)?;
        setns(&file, CloneFlags::CLONE_NEWNET).map_err(std::io::Error::other)?;
        Ok(f())
    })
    .join()
    .map_err(|_| std::io::Error::other("namespace thread panicked"))?
}

/// A TCP and UDP echo server running in a namespace until dropped.
pub struct EchoServer {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl EchoServer {
    /// Listens on `tcp_port` and `udp_port` on every address of namespace `ns`.
    pub fn start(ns: &str, tcp_port: u16, udp_port: u16) -> std::io::Result<Self> {
        let (listener, udp) = in_netns(ns, move || -> std::io::Result<(TcpListener, UdpSocket)> {
            Ok((
                TcpListener::bind(("0.0.0.0", tcp_port))?,
                UdpSocket::bind(("0.0.0.0", udp_port))?,
            ))
        })??;
        listener.set_nonblocking(true)?;
        udp.set_read_timeout(Some(Duration::from_millis(100)))?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        let s = stop.clone();
        threads.push(std::thread::spawn(move || {
            let mut conns: Vec<JoinHandle<()>> = Vec::new();
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        let s2 = s.clone();
                        conns.push(std::thread::spawn(move || {
                            let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
                            let mut buf = [0u8; 4096];
                            while !s2.load(Ordering::Relaxed) {
                                match stream.read(&mut buf) {
                                    Ok(0) => return,
                                    Ok(n) => {
                                        if stream.write_all(&buf[..n]).is_err() {
                                            return;
                                        }
                                    }
                                    Err(e)
                                        if matches!(
                                            e.kind(),
                                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                                        ) => {}
                                    Err(_) => return,
                                }
                            }
                        }));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            for c in conns {
                let _ = c.join();
            }
        }));
        let s = stop.clone();
        threads.push(std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !s.load(Ordering::Relaxed) {
                if let Ok((n, from)) = udp.recv_from(&mut buf) {
                    let _ = udp.send_to(&buf[..n], from);
                }
            }
        }));
        Ok(Self { stop, threads })
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A TCP connection opened from a namespace.
pub struct TcpFlow {
    stream: TcpStream,
    seq: u64,
}

impl TcpFlow {
    /// Connects from namespace `ns` to `dst`.
    pub fn connect(ns: &str, dst: SocketAddr) -> std::io::Result<Self> {
        let stream = in_netns(ns, move || {
            TcpStream::connect_timeout(&dst, Duration::from_secs(5))
        })??;
        stream.set_nodelay(true)?;
        Ok(Self { stream, seq: 0 })
    }

    /// The local port (tells flows apart in session lists).
    pub fn local_port(&self) -> u16 {
        self.stream.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Sends one numbered message and waits up to `timeout` for its echo (the same connection: a reset or
    /// end of stream is an error).
    pub fn exchange(&mut self, timeout: Duration) -> std::io::Result<()> {
        self.seq += 1;
        let msg = format!("tcp-{:016}\n", self.seq);
        self.stream.set_write_timeout(Some(timeout))?;
        self.stream.write_all(msg.as_bytes())?;
        let mut got = vec![0u8; msg.len()];
        self.stream.set_read_timeout(Some(timeout))?;
        self.stream.read_exact(&mut got)?;
        if got != msg.as_bytes() {
            return Err(std::io::Error::other("echo differs"));
        }
        Ok(())
    }
}

/// A UDP flow (one socket, one peer) opened from a namespace.
pub struct UdpFlow {
    socket: UdpSocket,
    seq: u64,
}

impl UdpFlow {
    /// Opens a socket in namespace `ns` connected to `dst`.
    pub fn open(ns: &str, dst: SocketAddr) -> std::io::Result<Self> {
        let socket = in_netns(ns, move || -> std::io::Result<UdpSocket> {
            let s = UdpSocket::bind("0.0.0.0:0")?;
            s.connect(dst)?;
            Ok(s)
        })??;
        Ok(Self { socket, seq: 0 })
    }

    /// The local port.
    pub fn local_port(&self) -> u16 {
        self.socket.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Sends numbered datagrams every 100 ms until one comes back echoed, or `timeout` passes.
    pub fn exchange(&mut self, timeout: Duration) -> std::io::Result<()> {
        let deadline = Instant::now() + timeout;
        self.socket.set_read_timeout(Some(Duration::from_millis(100)))?;
        let mut buf = [0u8; 64];
        while Instant::now() < deadline {
            self.seq += 1;
            let msg = format!("udp-{:016}", self.seq);
            // Errors such as ECONNREFUSED while a path is down are retried until the deadline.
            let _ = self.socket.send(msg.as_bytes());
            let until = Instant::now() + Duration::from_millis(100);
            while Instant::now() < until {
                match self.socket.recv(&mut buf) {
                    Ok(n) if &buf[..n] == msg.as_bytes() => return Ok(()),
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }
        Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "no echo"))
    }
}
