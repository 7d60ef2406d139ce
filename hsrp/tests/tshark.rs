//! Packets produced by the codec, framed in Ethernet/IPv4/UDP, written to a pcap and dissected by
//! Wireshark's `tshark`: every field Wireshark shows must match what we encoded.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use hsrp::frame::{gratuitous_arp, udp_multicast_frame};
use hsrp::packet::{
    DEFAULT_AUTH, GroupStateTlv, Md5Tlv, Opcode, Packet, State, V1Advertise, V1Packet, V2Packet, V2Tlv,
    auth_field, sign,
};
use pcap_file::pcap::{PcapPacket, PcapWriter};

/// Ethernet + IPv4 (TTL 1) + UDP 1985→1985 around an HSRP payload (the driver's own frame builder).
fn frame(src_mac: [u8; 6], src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    udp_multicast_frame(src_mac, src, dst, 1985, payload)
}

fn tshark_fields(file: &Path, fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r")
        .arg(file)
        .args(["-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"])
        .args(["-T", "fields", "-E", "separator=|", "-E", "occurrence=a"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('|').map(str::to_owned).collect())
        .collect()
}

fn hexs(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn tshark_dissects_what_we_encode() {
    if Command::new("tshark").arg("--version").output().is_err() {
        eprintln!("SKIPPED: tshark is not installed; install the Debian package `tshark` to run this test");
        return;
    }
    let mac = [0x02, 0, 0, 0, 0, 0x01];
    let me = Ipv4Addr::new(10, 0, 0, 1);
    let vip = Ipv4Addr::new(10, 0, 0, 3);

    let v1 = |opcode, state: State, prio, group, auth: [u8; 8], md5| {
        Packet::V1(V1Packet {
            opcode,
            state: state.v1(),
            hellotime: 3,
            holdtime: 10,
            priority: prio,
            group,
            reserved: 0,
            auth_data: auth,
            virtual_ip: vip,
            md5,
        })
    };
    let mut v1_md5 = v1(
        Opcode::HELLO,
        State::Standby,
        90,
        2,
        [0; 8],
        Some(Md5Tlv::unsigned(me, 0)),
    );
    sign(&mut v1_md5, b"key");
    let v1_packets = [
        v1(Opcode::HELLO, State::Active, 100, 1, DEFAULT_AUTH, None),
        v1(Opcode::COUP, State::Speak, 200, 7, auth_field("secret"), None),
        v1(Opcode::RESIGN, State::Active, 60, 255, DEFAULT_AUTH, None),
        v1_md5.clone(),
    ];
    let gs = |opcode, state: State, group, prio, hello, hold| GroupStateTlv {
        version: 2,
        opcode,
        state: state.v2(),
        ip_version: 4,
        group,
        identifier: mac,
        priority: prio,
        hellotime_ms: hello,
        holdtime_ms: hold,
        virtual_ip: GroupStateTlv::ipv4_field(vip),
    };
    let mut v2_md5 = Packet::V2(V2Packet {
        tlvs: vec![
            V2Tlv::GroupState(gs(Opcode::COUP, State::Standby, 4095, 150, 50, 150)),
            V2Tlv::Md5Auth(Md5Tlv::unsigned(me, 3)),
        ],
    });
    sign(&mut v2_md5, b"key");
    let v2_packets = [
        Packet::V2(V2Packet {
            tlvs: vec![
                V2Tlv::GroupState(gs(Opcode::HELLO, State::Active, 1, 100, 3000, 10000)),
                V2Tlv::TextAuth(DEFAULT_AUTH),
            ],
        }),
        v2_md5.clone(),
    ];
    let adv = Packet::Advertise(V1Advertise {
        adv_type: 1,
        length: 10,
        state: 3,
        reserved1: 0,
        active_groups: 2,
        passive_groups: 1,
        reserved2: 0,
        trailer: Vec::new(),
    });

    let dir = std::env::temp_dir().join(format!("hsrp-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("hsrp.pcap");
    {
        let mut w = PcapWriter::new(std::fs::File::create(&file).unwrap()).unwrap();
        let mut put = |data: Vec<u8>| {
            let pkt = PcapPacket::new(Duration::from_secs(1), data.len() as u32, &data);
            w.write_packet(&pkt).unwrap();
        };
        for p in &v1_packets {
            put(frame(mac, me, Ipv4Addr::new(224, 0, 0, 2), &p.encode()));
        }
        for p in &v2_packets {
            put(frame(mac, me, Ipv4Addr::new(224, 0, 0, 102), &p.encode()));
        }
        put(frame(mac, me, Ipv4Addr::new(224, 0, 0, 2), &adv.encode()));
        put(gratuitous_arp([0, 0, 0x0c, 0x07, 0xac, 1], vip).to_vec());
    }

    // Version 1 packets (and the v1 MD5 trailer, which Wireshark names with hsrp2.* fields).
    let rows = tshark_fields(
        &file,
        &[
            "hsrp.version",
            "hsrp.opcode",
            "hsrp.state",
            "hsrp.hellotime",
            "hsrp.holdtime",
            "hsrp.priority",
            "hsrp.group",
            "hsrp.auth_data",
            "hsrp.virt_ip",
            "hsrp2.md5_algorithm",
            "hsrp.md5_ip_address",
            "hsrp2.md5_key_id",
            "hsrp2.md5_auth_data",
            "ip.ttl",
            "ip.checksum.status",
            "udp.checksum.status",
        ],
    );
    assert_eq!(rows.len(), 8, "{rows:?}");
    for (row, p) in rows.iter().zip(&v1_packets) {
        let Packet::V1(v) = p else { unreachable!() };
        let auth = String::from_utf8_lossy(&v.auth_data)
            .trim_end_matches('\0')
            .to_owned();
        assert_eq!(row[0], "0");
        assert_eq!(row[1], v.opcode.0.to_string());
        assert_eq!(row[2], v.state.0.to_string());
        assert_eq!(row[3], v.hellotime.to_string());
        assert_eq!(row[4], v.holdtime.to_string());
        assert_eq!(row[5], v.priority.to_string());
        assert_eq!(row[6], v.group.to_string());
        assert_eq!(row[7], auth, "{row:?}");
        assert_eq!(row[8], vip.to_string());
        assert_eq!(row[13], "1");
        assert_eq!(
            (row[14].as_str(), row[15].as_str()),
            ("1", "1"),
            "IP and UDP checksums verified good"
        );
        match &v.md5 {
            Some(m) => {
                assert_eq!(row[9], "1");
                assert_eq!(row[10], m.ip_address.to_string());
                assert_eq!(row[11], m.key_id.to_string());
                assert_eq!(row[12].replace(':', ""), hexs(&m.digest));
            }
            None => assert_eq!(row[9], ""),
        }
    }
    // Advertise.
    let adv_row = &tshark_fields(
        &file,
        &[
            "hsrp.opcode",
            "hsrp.adv.tlvtype",
            "hsrp.adv.state",
            "hsrp.adv.activegrp",
            "hsrp.adv.passivegrp",
        ],
    )[6];
    assert_eq!(adv_row, &["3", "1", "3", "2", "1"]);

    // Version 2 packets.
    let rows = tshark_fields(
        &file,
        &[
            "hsrp2.version",
            "hsrp2.opcode",
            "hsrp2.state",
            "hsrp2.ipversion",
            "hsrp2.group",
            "hsrp2.identifier",
            "hsrp2.priority",
            "hsrp2.hellotime",
            "hsrp2.holdtime",
            "hsrp2.virt_ip",
            "hsrp2.auth_data",
            "hsrp2.md5_algorithm",
            "hsrp.md5_ip_address",
            "hsrp2.md5_key_id",
            "hsrp2.md5_auth_data",
        ],
    );
    for (row, p) in rows[4..6].iter().zip(&v2_packets) {
        let Packet::V2(v) = p else { unreachable!() };
        let g = v.group_state().unwrap();
        assert_eq!(row[0], "2", "{row:?}");
        assert_eq!(row[1], g.opcode.0.to_string());
        assert_eq!(row[2], g.state.0.to_string());
        assert_eq!(row[3], "4");
        assert_eq!(row[4], g.group.to_string());
        assert_eq!(row[5], "02:00:00:00:00:01");
        assert_eq!(row[6], g.priority.to_string());
        assert_eq!(row[7], g.hellotime_ms.to_string());
        assert_eq!(row[8], g.holdtime_ms.to_string());
        assert_eq!(row[9], vip.to_string());
        match (v.text_auth(), v.md5()) {
            (Some(a), _) => {
                assert_eq!(row[10], String::from_utf8_lossy(a).trim_end_matches('\0'));
                assert_eq!(row[11], "");
            }
            (None, Some(m)) => {
                assert_eq!(row[11], "1");
                assert_eq!(row[12], m.ip_address.to_string());
                assert_eq!(row[13], m.key_id.to_string());
                assert_eq!(row[14].replace(':', ""), hexs(&m.digest));
            }
            _ => unreachable!(),
        }
    }

    // Gratuitous ARP.
    let arp = &tshark_fields(
        &file,
        &[
            "eth.src",
            "arp.opcode",
            "arp.src.hw_mac",
            "arp.src.proto_ipv4",
            "arp.dst.proto_ipv4",
            "arp.isgratuitous",
        ],
    )[7];
    assert_eq!(arp[0], "00:00:0c:07:ac:01");
    assert_eq!(arp[1], "2");
    assert_eq!(arp[2], "00:00:0c:07:ac:01");
    assert_eq!(arp[3], vip.to_string());
    assert_eq!(arp[4], vip.to_string());
    assert_eq!(arp[5], "1");
    if std::env::var_os("KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
