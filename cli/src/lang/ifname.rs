//! Interface names: IOS names are canonicalized (`e0/0`, `Et0/0` → `Ethernet0/0`), Linux names kept as typed.

/// IOS interface types, longest first within a shared prefix does not matter: matching is by unique prefix
/// with a preference order (the first type whose name starts with the typed letters wins, as IOS does).
const IOS_TYPES: &[&str] = &[
    "Ethernet",
    "FastEthernet",
    "GigabitEthernet",
    "TenGigabitEthernet",
    "Serial",
    "Loopback",
    "Vlan",
    "Port-channel",
    "Tunnel",
    "Dialer",
    "BVI",
];

/// Canonical name of an interface as typed. A name with a `/` or starting with an upper-case letter is read as
/// an IOS name and expanded (`gi0/1` → `GigabitEthernet0/1`, `Et0` → `Ethernet0`); anything else (`eth0`,
/// `enp1s0`, `lan-in`) is a Linux name and kept.
pub fn canonical_interface(name: &str) -> String {
    let split = name.find(|c: char| c.is_ascii_digit()).unwrap_or(name.len());
    let (letters, rest) = name.split_at(split);
    let ios_like = name.contains('/') || name.starts_with(|c: char| c.is_ascii_uppercase());
    if letters.is_empty()
        || rest.is_empty()
        || !ios_like
        || !letters.chars().all(|c| c.is_ascii_alphabetic() || c == '-')
    {
        return name.to_string();
    }
    let lower = letters.to_ascii_lowercase();
    match IOS_TYPES
        .iter()
        .find(|t| t.to_ascii_lowercase().starts_with(&lower))
    {
        Some(full) => format!("{full}{rest}"),
        None => name.to_string(),
    }
}

/// The short form IOS prints in `show standby brief` (`Ethernet0/0` → `Et0/0`, `GigabitEthernet0/1` → `Gi0/1`).
pub fn short_interface(name: &str) -> String {
    let split = name.find(|c: char| c.is_ascii_digit()).unwrap_or(name.len());
    let (letters, rest) = name.split_at(split);
    if IOS_TYPES.contains(&letters) && !rest.is_empty() {
        let short: String = letters.chars().take(2).collect();
        format!("{short}{rest}")
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ios_abbreviations_expand() {
        assert_eq!(canonical_interface("e0/0"), "Ethernet0/0");
        assert_eq!(canonical_interface("Et0/0"), "Ethernet0/0");
        assert_eq!(canonical_interface("eth0/1"), "Ethernet0/1");
        assert_eq!(canonical_interface("gi0/1"), "GigabitEthernet0/1");
        assert_eq!(canonical_interface("Gig0/1"), "GigabitEthernet0/1");
        assert_eq!(canonical_interface("fa0/0"), "FastEthernet0/0");
        assert_eq!(canonical_interface("Ethernet1/0"), "Ethernet1/0");
        assert_eq!(canonical_interface("Lo0"), "Loopback0");
        assert_eq!(canonical_interface("te1/0/1"), "TenGigabitEthernet1/0/1");
    }

    #[test]
    fn linux_names_are_kept() {
        for name in ["eth0", "enp1s0", "lo", "lan-in", "veth-r1a", "br0", "wlan0"] {
            assert_eq!(canonical_interface(name), name);
        }
    }

    #[test]
    fn short_forms() {
        assert_eq!(short_interface("Ethernet0/0"), "Et0/0");
        assert_eq!(short_interface("GigabitEthernet0/1"), "Gi0/1");
        assert_eq!(short_interface("eth0"), "eth0");
    }
}
