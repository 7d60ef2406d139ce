//! Kernel backend tests: struct layouts against the system headers, notification decoding, and an
//! association over the kernel's SCTP where the kernel has it.

use std::fmt::Write as _;
use std::mem::{offset_of, size_of};
use std::process::Command;

use super::sys::*;
use super::{Notification, parse_notification};

/// `(name, value the Rust side uses)`; the C program prints the same names with the header's values.
fn rust_layout() -> Vec<(&'static str, usize)> {
    vec![
        ("sizeof_rtoinfo", size_of::<SctpRtoinfo>()),
        ("off_srto_min", offset_of!(SctpRtoinfo, srto_min)),
        ("sizeof_assocparams", size_of::<SctpAssocparams>()),
        (
            "off_sasoc_asocmaxrxt",
            offset_of!(SctpAssocparams, sasoc_asocmaxrxt),
        ),
        (
            "off_sasoc_cookie_life",
            offset_of!(SctpAssocparams, sasoc_cookie_life),
        ),
        ("sizeof_initmsg", size_of::<SctpInitmsg>()),
        ("sizeof_paddrparams", size_of::<SctpPaddrparams>()),
        ("off_spp_address", offset_of!(SctpPaddrparams, spp_address)),
        ("off_spp_hbinterval", offset_of!(SctpPaddrparams, spp_hbinterval)),
        ("off_spp_pathmaxrxt", offset_of!(SctpPaddrparams, spp_pathmaxrxt)),
        ("off_spp_flags", offset_of!(SctpPaddrparams, spp_flags)),
        (
            "off_spp_ipv6_flowlabel",
            offset_of!(SctpPaddrparams, spp_ipv6_flowlabel),
        ),
        ("off_spp_dscp", offset_of!(SctpPaddrparams, spp_dscp)),
        ("sizeof_event", size_of::<SctpEvent>()),
        ("off_se_on", offset_of!(SctpEvent, se_on)),
        ("sizeof_sndinfo", size_of::<SctpSndinfo>()),
        ("off_snd_ppid", offset_of!(SctpSndinfo, snd_ppid)),
        ("sizeof_rcvinfo", size_of::<SctpRcvinfo>()),
        ("off_rcv_ppid", offset_of!(SctpRcvinfo, rcv_ppid)),
        ("off_rcv_assoc_id", offset_of!(SctpRcvinfo, rcv_assoc_id)),
        ("off_sac_state", SAC_STATE_OFFSET),
        ("off_spc_aaddr", SPC_AADDR_OFFSET),
        ("off_spc_state", SPC_STATE_OFFSET),
        ("SCTP_RTOINFO", SCTP_RTOINFO as usize),
        ("SCTP_ASSOCINFO", SCTP_ASSOCINFO as usize),
        ("SCTP_INITMSG", SCTP_INITMSG as usize),
        ("SCTP_NODELAY", SCTP_NODELAY as usize),
        ("SCTP_PEER_ADDR_PARAMS", SCTP_PEER_ADDR_PARAMS as usize),
        ("SCTP_RECVRCVINFO", SCTP_RECVRCVINFO as usize),
        ("SCTP_SOCKOPT_BINDX_ADD", SCTP_SOCKOPT_BINDX_ADD as usize),
        ("SCTP_SOCKOPT_CONNECTX", SCTP_SOCKOPT_CONNECTX as usize),
        ("SCTP_EVENT", SCTP_EVENT as usize),
        ("SCTP_SNDINFO", SCTP_SNDINFO as usize),
        ("SCTP_RCVINFO", SCTP_RCVINFO as usize),
        ("SCTP_ASSOC_CHANGE", SCTP_ASSOC_CHANGE as usize),
        ("SCTP_PEER_ADDR_CHANGE", SCTP_PEER_ADDR_CHANGE as usize),
        ("SCTP_SHUTDOWN_EVENT", SCTP_SHUTDOWN_EVENT as usize),
        ("SCTP_COMM_LOST", SCTP_COMM_LOST as usize),
        ("SCTP_RESTART", SCTP_RESTART as usize),
        ("SCTP_SHUTDOWN_COMP", SCTP_SHUTDOWN_COMP as usize),
        ("SCTP_ADDR_UNREACHABLE", SCTP_ADDR_UNREACHABLE as usize),
        (
            "SCTP_ADDR_POTENTIALLY_FAILED",
            SCTP_ADDR_POTENTIALLY_FAILED as usize,
        ),
        ("SPP_HB_ENABLE", SPP_HB_ENABLE as usize),
        ("MSG_NOTIFICATION", MSG_NOTIFICATION as usize),
    ]
}

const C_EXPRS: &[(&str, &str)] = &[
    ("sizeof_rtoinfo", "sizeof(struct sctp_rtoinfo)"),
    ("off_srto_min", "offsetof(struct sctp_rtoinfo, srto_min)"),
    ("sizeof_assocparams", "sizeof(struct sctp_assocparams)"),
    (
        "off_sasoc_asocmaxrxt",
        "offsetof(struct sctp_assocparams, sasoc_asocmaxrxt)",
    ),
    (
        "off_sasoc_cookie_life",
        "offsetof(struct sctp_assocparams, sasoc_cookie_life)",
    ),
    ("sizeof_initmsg", "sizeof(struct sctp_initmsg)"),
    ("sizeof_paddrparams", "sizeof(struct sctp_paddrparams)"),
    (
        "off_spp_address",
        "offsetof(struct sctp_paddrparams, spp_address)",
    ),
    (
        "off_spp_hbinterval",
        "offsetof(struct sctp_paddrparams, spp_hbinterval)",
    ),
    (
        "off_spp_pathmaxrxt",
        "offsetof(struct sctp_paddrparams, spp_pathmaxrxt)",
    ),
    ("off_spp_flags", "offsetof(struct sctp_paddrparams, spp_flags)"),
    (
        "off_spp_ipv6_flowlabel",
        "offsetof(struct sctp_paddrparams, spp_ipv6_flowlabel)",
    ),
    ("off_spp_dscp", "offsetof(struct sctp_paddrparams, spp_dscp)"),
    ("sizeof_event", "sizeof(struct sctp_event)"),
    ("off_se_on", "offsetof(struct sctp_event, se_on)"),
    ("sizeof_sndinfo", "sizeof(struct sctp_sndinfo)"),
    ("off_snd_ppid", "offsetof(struct sctp_sndinfo, snd_ppid)"),
    ("sizeof_rcvinfo", "sizeof(struct sctp_rcvinfo)"),
    ("off_rcv_ppid", "offsetof(struct sctp_rcvinfo, rcv_ppid)"),
    ("off_rcv_assoc_id", "offsetof(struct sctp_rcvinfo, rcv_assoc_id)"),
    ("off_sac_state", "offsetof(struct sctp_assoc_change, sac_state)"),
    ("off_spc_aaddr", "offsetof(struct sctp_paddr_change, spc_aaddr)"),
    ("off_spc_state", "offsetof(struct sctp_paddr_change, spc_state)"),
    ("SCTP_RTOINFO", "SCTP_RTOINFO"),
    ("SCTP_ASSOCINFO", "SCTP_ASSOCINFO"),
    ("SCTP_INITMSG", "SCTP_INITMSG"),
    ("SCTP_NODELAY", "SCTP_NODELAY"),
    ("SCTP_PEER_ADDR_PARAMS", "SCTP_PEER_ADDR_PARAMS"),
    ("SCTP_RECVRCVINFO", "SCTP_RECVRCVINFO"),
    ("SCTP_SOCKOPT_BINDX_ADD", "SCTP_SOCKOPT_BINDX_ADD"),
    ("SCTP_SOCKOPT_CONNECTX", "SCTP_SOCKOPT_CONNECTX"),
    ("SCTP_EVENT", "SCTP_EVENT"),
    ("SCTP_SNDINFO", "SCTP_SNDINFO"),
    ("SCTP_RCVINFO", "SCTP_RCVINFO"),
    ("SCTP_ASSOC_CHANGE", "SCTP_ASSOC_CHANGE"),
    ("SCTP_PEER_ADDR_CHANGE", "SCTP_PEER_ADDR_CHANGE"),
    ("SCTP_SHUTDOWN_EVENT", "SCTP_SHUTDOWN_EVENT"),
    ("SCTP_COMM_LOST", "SCTP_COMM_LOST"),
    ("SCTP_RESTART", "SCTP_RESTART"),
    ("SCTP_SHUTDOWN_COMP", "SCTP_SHUTDOWN_COMP"),
    ("SCTP_ADDR_UNREACHABLE", "SCTP_ADDR_UNREACHABLE"),
    ("SCTP_ADDR_POTENTIALLY_FAILED", "SCTP_ADDR_POTENTIALLY_FAILED"),
    ("SPP_HB_ENABLE", "SPP_HB_ENABLE"),
    ("MSG_NOTIFICATION", "MSG_NOTIFICATION"),
];

#[test]
fn layouts_match_the_system_headers() {
    let header = std::path::Path::new("/usr/include/linux/sctp.h");
    if !header.exists() {
        eprintln!("SKIP: {} not installed", header.display());
        return;
    }
    if Command::new("gcc").arg("--version").output().is_err() {
        eprintln!("SKIP: gcc not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("ipc-sctp-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut c = String::from(
        "#include <stdio.h>\n#include <stddef.h>\n#include <sys/socket.h>\n#include <netinet/in.h>\n#include <linux/sctp.h>\n#ifndef MSG_NOTIFICATION\n#define MSG_NOTIFICATION 0x8000\n#endif\nint main(void) {\n",
    );
    for (name, expr) in C_EXPRS {
        writeln!(c, "  printf(\"{name} %lu\\n\", (unsigned long)({expr}));").unwrap();
    }
    c.push_str("  return 0;\n}\n");
    let src = dir.join("layout.c");
    let bin = dir.join("layout");
    std::fs::write(&src, c).unwrap();
    let out = Command::new("gcc")
        .arg(&src)
        .arg("-o")
        .arg(&bin)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gcc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&bin).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8(run.stdout).unwrap();
    let c_values: std::collections::BTreeMap<&str, usize> = text
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k, v.parse().unwrap()))
        .collect();
    let mut checked = 0;
    for (name, rust) in rust_layout() {
        assert_eq!(
            Some(&rust),
            c_values.get(name),
            "{name}: Rust {rust}, C {:?}",
            c_values.get(name)
        );
        checked += 1;
    }
    assert_eq!(checked, C_EXPRS.len());
    // The documented sizes (reference/deps.md).
    assert_eq!(c_values["sizeof_paddrparams"], 156);
    assert_eq!(c_values["sizeof_rtoinfo"], 16);
    assert_eq!(c_values["sizeof_assocparams"], 20);
}

#[test]
fn notifications_decode() {
    let mut assoc = vec![0u8; 20];
    assoc[0..2].copy_from_slice(&SCTP_ASSOC_CHANGE.to_ne_bytes());
    assoc[8..10].copy_from_slice(&SCTP_COMM_LOST.to_ne_bytes());
    assert_eq!(
        parse_notification(&assoc),
        Some(Notification::AssocChange {
            state: SCTP_COMM_LOST
        })
    );
    let mut paddr = vec![0u8; 148];
    paddr[0..2].copy_from_slice(&SCTP_PEER_ADDR_CHANGE.to_ne_bytes());
    paddr[8..10].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
    paddr[12..16].copy_from_slice(&[10, 0, 1, 2]);
    paddr[136..140].copy_from_slice(&SCTP_ADDR_UNREACHABLE.to_ne_bytes());
    assert_eq!(
        parse_notification(&paddr),
        Some(Notification::PeerAddrChange {
            addr: Some("10.0.1.2".parse().unwrap()),
            state: SCTP_ADDR_UNREACHABLE
        })
    );
    assert_eq!(parse_notification(&paddr[..100]), None);
    assert_eq!(parse_notification(&[1]), None);
    let packed = pack_addrs(&["10.0.0.1".parse().unwrap(), "10.0.1.1".parse().unwrap()], 5000);
    assert_eq!(packed.len(), 32);
    assert_eq!(&packed[2..4], &5000u16.to_be_bytes());
    assert_eq!(&packed[20..24], &[10, 0, 1, 1]);
}

#[test]
fn kernel_association_where_available() {
    if let Err(e) = crate::driver::kernel_sctp_available() {
        eprintln!("SKIP: kernel SCTP unavailable here (socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP): {e})");
        return;
    }
    // The kernel has SCTP: two associations over loopback addresses, both via the kernel backend.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let cfg = |l: &str, r: &str| {
            crate::AssociationConfig::new(5123, 5123, vec![l.parse().unwrap()], vec![r.parse().unwrap()])
                .unwrap()
                .with_transport(crate::TransportChoice::Kernel)
        };
        let (ha, mut ra) = crate::driver::spawn(cfg("127.0.0.1", "127.0.0.2")).unwrap();
        let (hb, mut rb) = crate::driver::spawn(cfg("127.0.0.2", "127.0.0.1")).unwrap();
        let wait = std::time::Duration::from_secs(10);
        assert!(matches!(
            tokio::time::timeout(wait, ra.recv()).await,
            Ok(Some(crate::IpcEvent::Up { .. }))
        ));
        assert!(matches!(
            tokio::time::timeout(wait, rb.recv()).await,
            Ok(Some(crate::IpcEvent::Up { .. }))
        ));
        ha.send(crate::ClientId::RF, crate::MessageKind::RF_CONTROL, b"k".to_vec())
            .unwrap();
        assert!(matches!(
            tokio::time::timeout(wait, rb.recv()).await,
            Ok(Some(crate::IpcEvent::Message { .. }))
        ));
        assert_eq!(ha.status_now().await.unwrap().transport, "kernel");
        ha.shutdown();
        hb.shutdown();
    });
}
