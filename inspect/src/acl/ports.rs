//! The port names extended ACLs accept in place of numbers, as IOS spells them.
//!
//! One table for both protocols: each name says whether it is valid in TCP entries, in UDP entries or in
//! both. Within one protocol every number has at most one name, which is the name IOS prints for that
//! number (`eq 80` in a TCP entry shows as `eq www`). Sources checked: the IOS `?` lists quoted in public
//! configuration tools (names per protocol) and the IANA registry (numbers).

/// Which entries accept a port name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortProto {
    /// TCP entries only.
    Tcp,
    /// UDP entries only.
    Udp,
    /// TCP and UDP entries.
    Both,
}

impl PortProto {
    /// Whether a name of this kind is valid for IP protocol `proto` (6 = TCP, 17 = UDP).
    pub const fn allows(self, proto: u8) -> bool {
        matches!(
            (self, proto),
            (Self::Both, 6 | 17) | (Self::Tcp, 6) | (Self::Udp, 17)
        )
    }
}

/// One named port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortName {
    /// The keyword (`www`).
    pub name: &'static str,
    /// The port number.
    pub port: u16,
    /// The entries that accept it.
    pub proto: PortProto,
    /// A short description for `?` help.
    pub help: &'static str,
}

const fn n(name: &'static str, port: u16, proto: PortProto, help: &'static str) -> PortName {
    PortName {
        name,
        port,
        proto,
        help,
    }
}

use PortProto::{Both, Tcp, Udp};

/// Every port name, alphabetically.
pub const PORT_NAMES: &[PortName] = &[
    n("bgp", 179, Tcp, "Border Gateway Protocol (179)"),
    n("biff", 512, Udp, "Mail arrival notification, comsat (512)"),
    n("bootpc", 68, Udp, "BOOTP/DHCP client (68)"),
    n("bootps", 67, Udp, "BOOTP/DHCP server (67)"),
    n("chargen", 19, Tcp, "Character generator (19)"),
    n("cmd", 514, Tcp, "Remote commands, rsh (514)"),
    n("daytime", 13, Tcp, "Daytime (13)"),
    n("discard", 9, Both, "Discard (9)"),
    n("dnsix", 195, Udp, "DNSIX security audit (195)"),
    n("domain", 53, Both, "Domain Name Service (53)"),
    n("drip", 3949, Tcp, "Dynamic Routing Information Protocol (3949)"),
    n("echo", 7, Both, "Echo (7)"),
    n("exec", 512, Tcp, "Remote process execution, rexec (512)"),
    n("finger", 79, Tcp, "Finger (79)"),
    n("ftp", 21, Tcp, "File Transfer Protocol control (21)"),
    n("ftp-data", 20, Tcp, "File Transfer Protocol data (20)"),
    n("gopher", 70, Tcp, "Gopher (70)"),
    n("hostname", 101, Tcp, "NIC host name server (101)"),
    n("ident", 113, Tcp, "Ident protocol (113)"),
    n("irc", 194, Tcp, "Internet Relay Chat (194)"),
    n("isakmp", 500, Udp, "IKE / ISAKMP key exchange (500)"),
    n("klogin", 543, Tcp, "Kerberos login (543)"),
    n("kshell", 544, Tcp, "Kerberos shell (544)"),
    n("login", 513, Tcp, "Remote login, rlogin (513)"),
    n("lpd", 515, Tcp, "Printer service (515)"),
    n("mobile-ip", 434, Udp, "Mobile IP registration (434)"),
    n("nameserver", 42, Udp, "IEN116 name service (42)"),
    n("netbios-dgm", 138, Udp, "NetBIOS datagram service (138)"),
    n("netbios-ns", 137, Udp, "NetBIOS name service (137)"),
    n("netbios-ss", 139, Udp, "NetBIOS session service (139)"),
    n("nntp", 119, Tcp, "Network News Transfer Protocol (119)"),
    n(
        "non500-isakmp",
        4500,
        Udp,
        "IKE / ISAKMP over NAT traversal (4500)",
    ),
    n("ntp", 123, Udp, "Network Time Protocol (123)"),
    n("pim-auto-rp", 496, Both, "PIM Auto-RP (496)"),
    n("pop2", 109, Tcp, "Post Office Protocol v2 (109)"),
    n("pop3", 110, Tcp, "Post Office Protocol v3 (110)"),
    n("rip", 520, Udp, "Routing Information Protocol (520)"),
    n("smtp", 25, Tcp, "Simple Mail Transfer Protocol (25)"),
    n("snmp", 161, Udp, "Simple Network Management Protocol (161)"),
    n("snmptrap", 162, Udp, "SNMP traps (162)"),
    n("sunrpc", 111, Both, "Sun Remote Procedure Call, portmapper (111)"),
    n("syslog", 514, Udp, "System logging (514)"),
    n("tacacs", 49, Both, "TACACS authentication (49)"),
    n("talk", 517, Both, "Talk (517)"),
    n("telnet", 23, Tcp, "Telnet (23)"),
    n("tftp", 69, Udp, "Trivial File Transfer Protocol (69)"),
    n("time", 37, Both, "Time (37)"),
    n("uucp", 540, Tcp, "Unix-to-Unix copy (540)"),
    n("who", 513, Udp, "Who service, rwho (513)"),
    n("whois", 43, Tcp, "Who is, nicname (43)"),
    n("www", 80, Tcp, "World Wide Web, HTTP (80)"),
    n("xdmcp", 177, Udp, "X Display Manager Control Protocol (177)"),
];

/// The names valid in entries of IP protocol `proto` (6 or 17), alphabetically.
pub fn names_for(proto: u8) -> impl Iterator<Item = &'static PortName> {
    PORT_NAMES.iter().filter(move |p| p.proto.allows(proto))
}

/// The number of port name `name` in entries of protocol `proto` (case-insensitive).
pub fn port_number(proto: u8, name: &str) -> Option<u16> {
    names_for(proto)
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .map(|p| p.port)
}

/// The name IOS prints for `port` in entries of protocol `proto`, if it has one.
pub fn port_name(proto: u8, port: u16) -> Option<&'static str> {
    names_for(proto).find(|p| p.port == port).map(|p| p.name)
}

/// `port` as IOS prints it in an entry of protocol `proto`: its name, or the number.
pub fn display_port(proto: u8, port: u16) -> String {
    port_name(proto, port).map_or_else(|| port.to_string(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_name_per_number_and_protocol() {
        for proto in [6u8, 17] {
            let names: Vec<&PortName> = names_for(proto).collect();
            for (i, a) in names.iter().enumerate() {
                for b in &names[i + 1..] {
                    assert_ne!(a.port, b.port, "{} and {} share a number", a.name, b.name);
                    assert_ne!(a.name, b.name);
                }
            }
        }
        let sorted: Vec<&str> = PORT_NAMES.iter().map(|p| p.name).collect();
        let mut again = sorted.clone();
        again.sort_unstable();
        assert_eq!(sorted, again, "the table is kept alphabetical");
    }

    #[test]
    fn names_depend_on_the_protocol() {
        assert_eq!(port_number(6, "www"), Some(80));
        assert_eq!(port_number(17, "www"), None);
        assert_eq!(port_number(17, "SNMP"), Some(161));
        assert_eq!(port_number(6, "snmp"), None);
        assert_eq!(port_number(6, "domain"), Some(53));
        assert_eq!(port_number(17, "domain"), Some(53));
        assert_eq!(port_name(6, 514), Some("cmd"));
        assert_eq!(port_name(17, 514), Some("syslog"));
        assert_eq!(port_name(6, 512), Some("exec"));
        assert_eq!(port_name(17, 512), Some("biff"));
        assert_eq!(port_name(6, 8080), None);
        assert_eq!(display_port(6, 80), "www");
        assert_eq!(display_port(6, 8080), "8080");
        assert_eq!(display_port(1, 80), "80");
        assert_eq!(names_for(6).count(), 33);
        assert_eq!(names_for(17).count(), 27);
    }
}
