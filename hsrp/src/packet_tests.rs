use super::*;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn v1_hello() -> Packet {
    Packet::V1(V1Packet {
        opcode: Opcode::HELLO,
        state: State::Active.v1(),
        hellotime: 3,
        holdtime: 10,
        priority: 100,
        group: 1,
        reserved: 0,
        auth_data: DEFAULT_AUTH,
        virtual_ip: Ipv4Addr::new(10, 0, 0, 3),
        md5: None,
    })
}

#[test]
fn v1_hello_golden() {
    let bytes = hex("00 00 10 03 0a 64 01 00 63 69 73 63 6f 00 00 00 0a 00 00 03");
    assert_eq!(v1_hello().encode(), bytes);
    assert_eq!(Packet::decode(&bytes).unwrap(), v1_hello());
}

#[test]
fn v1_coup_resign_golden() {
    let coup = hex("00 01 08 01 03 ff 07 00 73 65 63 72 65 74 00 00 c0 a8 01 fe");
    let p = Packet::decode(&coup).unwrap();
    let Packet::V1(v) = &p else { panic!("not v1") };
    assert_eq!(v.opcode, Opcode::COUP);
    assert_eq!(v.state.state(), Some(State::Standby));
    assert_eq!((v.hellotime, v.holdtime, v.priority, v.group), (1, 3, 255, 7));
    assert_eq!(v.auth_data, auth_field("secret"));
    assert_eq!(v.virtual_ip, Ipv4Addr::new(192, 168, 1, 254));
    assert_eq!(p.encode(), coup);
    let resign = hex("00 02 10 03 0a 3c 02 00 63 69 73 63 6f 00 00 00 0a 00 00 03");
    let Packet::V1(r) = Packet::decode(&resign).unwrap() else {
        panic!("not v1")
    };
    assert_eq!(r.opcode, Opcode::RESIGN);
    assert_eq!(r.state.state(), Some(State::Active));
}

#[test]
fn v1_md5_golden_and_sign() {
    let mut p = v1_hello();
    if let Packet::V1(v) = &mut p {
        v.auth_data = [0; 8];
        v.md5 = Some(Md5Tlv::unsigned(Ipv4Addr::new(10, 0, 0, 1), 0));
    }
    sign(&mut p, b"s3cr3t");
    let bytes = p.encode();
    assert_eq!(bytes.len(), 50);
    let prefix = hex("00 00 10 03 0a 64 01 00 00 00 00 00 00 00 00 00 0a 00 00 03 \
         04 1c 01 00 00 00 0a 00 00 01 00 00 00 00");
    assert_eq!(&bytes[..34], &prefix[..]);
    // The digest is MD5(key || packet with zero digest || key); recompute it independently.
    let mut zeroed = bytes.clone();
    zeroed[34..50].fill(0);
    let mut h = Md5::new();
    h.update(b"s3cr3t");
    h.update(&zeroed);
    h.update(b"s3cr3t");
    let want: [u8; 16] = h.finalize().into();
    assert_eq!(&bytes[34..50], &want[..]);
    let back = Packet::decode(&bytes).unwrap();
    assert_eq!(back, p);
    assert!(verify(&back, b"s3cr3t"));
    assert!(!verify(&back, b"wrong"));
    // Any flipped bit outside the digest breaks it too.
    let mut tampered = bytes;
    tampered[5] ^= 1;
    assert!(!verify(&Packet::decode(&tampered).unwrap(), b"s3cr3t"));
}

fn v2_hello() -> Packet {
    Packet::V2(V2Packet {
        tlvs: vec![
            V2Tlv::GroupState(GroupStateTlv {
                version: 2,
                opcode: Opcode::HELLO,
                state: State::Standby.v2(),
                ip_version: 4,
                group: 0x123,
                identifier: [0x02, 0, 0, 0, 0, 0x01],
                priority: 110,
                hellotime_ms: 50,
                holdtime_ms: 150,
                virtual_ip: GroupStateTlv::ipv4_field(Ipv4Addr::new(10, 0, 0, 3)),
            }),
            V2Tlv::TextAuth(DEFAULT_AUTH),
        ],
    })
}

#[test]
fn v2_golden() {
    let bytes = hex(
        "01 28 02 00 05 04 01 23 02 00 00 00 00 01 00 00 00 6e 00 00 00 32 00 00 00 96 \
         0a 00 00 03 00 00 00 00 00 00 00 00 00 00 00 00 \
         03 08 63 69 73 63 6f 00 00 00",
    );
    assert_eq!(v2_hello().encode(), bytes);
    assert_eq!(Packet::decode(&bytes).unwrap(), v2_hello());
}

#[test]
fn v2_interface_state_md5_and_unknown_tlv() {
    let mut p = v2_hello();
    if let Packet::V2(v) = &mut p {
        v.tlvs[1] = V2Tlv::Md5Auth(Md5Tlv::unsigned(Ipv4Addr::new(10, 0, 0, 2), 7));
        v.tlvs.push(V2Tlv::InterfaceState {
            active: 1,
            passive: 2,
        });
        v.tlvs.push(V2Tlv::Unknown {
            typ: 9,
            value: vec![1, 2, 3],
        });
    }
    sign(&mut p, b"k");
    let bytes = p.encode();
    assert_eq!(
        &bytes[42..56],
        &hex("04 1c 01 00 00 00 0a 00 00 02 00 00 00 07")[..]
    );
    assert_eq!(&bytes[72..], &hex("02 04 00 01 00 02 09 03 01 02 03")[..]);
    let back = Packet::decode(&bytes).unwrap();
    assert_eq!(back, p);
    assert!(verify(&back, b"k"));
    assert!(!verify(&back, b"K"));
    let Packet::V2(v) = back else { panic!() };
    assert_eq!(v.unknown_tlvs(), 1);
}

#[test]
fn advertise_decodes() {
    let bytes = hex("00 03 00 01 00 0a 02 00 00 01 00 03 00 00 00 00");
    let p = Packet::decode(&bytes).unwrap();
    assert_eq!(
        p,
        Packet::Advertise(V1Advertise {
            adv_type: 1,
            length: 10,
            state: 2,
            reserved1: 0,
            active_groups: 1,
            passive_groups: 3,
            reserved2: 0,
            trailer: Vec::new()
        })
    );
    assert_eq!(p.encode(), bytes);
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0, 0, 0, 0]);
    let Packet::Advertise(a) = Packet::decode(&longer).unwrap() else {
        panic!("not advertise")
    };
    assert_eq!(a.trailer, vec![0; 4]);
    assert_eq!(Packet::Advertise(a).encode(), longer);
    assert_eq!(
        Packet::decode(&bytes[..15]),
        Err(DecodeError::Truncated { needed: 16, got: 15 })
    );
}

#[test]
fn bad_inputs_are_typed_errors() {
    assert_eq!(
        Packet::decode(&[]),
        Err(DecodeError::Truncated { needed: 2, got: 0 })
    );
    assert_eq!(
        Packet::decode(&[0; 19]),
        Err(DecodeError::Truncated { needed: 20, got: 19 })
    );
    assert_eq!(Packet::decode(&[0; 21]), Err(DecodeError::BadV1Length(21)));
    let mut with_bad_trailer = v1_hello().encode();
    with_bad_trailer.extend_from_slice(&[5, 28]);
    with_bad_trailer.extend_from_slice(&[0; 28]);
    assert_eq!(
        Packet::decode(&with_bad_trailer),
        Err(DecodeError::BadV1Trailer { typ: 5, len: 28 })
    );
    assert_eq!(Packet::decode(&[0; 2000]), Err(DecodeError::Oversized(2000)));
    assert_eq!(
        Packet::decode(&[1, 40, 2]),
        Err(DecodeError::TlvOverrun { typ: 1, len: 40 })
    );
    assert_eq!(
        Packet::decode(&[3, 7, 0, 0, 0, 0, 0, 0, 0]),
        Err(DecodeError::BadTlvLength {
            typ: 3,
            len: 7,
            expected: 8
        })
    );
    assert_eq!(
        Packet::decode(&[3, 8, 0, 0, 0, 0, 0, 0, 0, 0]),
        Err(DecodeError::MissingGroupState)
    );
    let mut bad_ver = v2_hello().encode();
    bad_ver[2] = 3;
    assert_eq!(Packet::decode(&bad_ver), Err(DecodeError::BadTlvVersion(3)));
    let mut bad_ipv = v2_hello().encode();
    bad_ipv[5] = 5;
    assert_eq!(Packet::decode(&bad_ipv), Err(DecodeError::BadIpVersion(5)));
    assert_eq!(
        Packet::decode(&[2]),
        Err(DecodeError::Truncated { needed: 2, got: 1 })
    );
}

#[test]
fn unknown_codes_survive() {
    let mut b = v1_hello().encode();
    b[1] = 9;
    b[2] = 3;
    let Packet::V1(v) = Packet::decode(&b).unwrap() else {
        panic!()
    };
    assert_eq!(v.opcode, Opcode(9));
    assert!(!v.opcode.is_known());
    assert_eq!(v.state.state(), None);
    assert_eq!(V2State(0).state(), None);
    assert_eq!(Opcode(9).to_string(), "Unknown(9)");
}

fn arb_md5() -> impl Strategy<Value = Md5Tlv> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        any::<[u8; 16]>(),
    )
        .prop_map(|(algorithm, padding, flags, ip, key_id, digest)| Md5Tlv {
            algorithm,
            padding,
            flags,
            ip_address: Ipv4Addr::from(ip),
            key_id,
            digest,
        })
}

fn arb_v1() -> impl Strategy<Value = Packet> {
    (
        any::<u8>().prop_filter("not advertise", |o| *o != 3),
        any::<[u8; 6]>(),
        any::<[u8; 8]>(),
        any::<u32>(),
        proptest::option::of(arb_md5()),
    )
        .prop_map(|(op, f, auth_data, ip, md5)| {
            Packet::V1(V1Packet {
                opcode: Opcode(op),
                state: V1State(f[0]),
                hellotime: f[1],
                holdtime: f[2],
                priority: f[3],
                group: f[4],
                reserved: f[5],
                auth_data,
                virtual_ip: Ipv4Addr::from(ip),
                md5,
            })
        })
}

fn arb_group_state() -> impl Strategy<Value = GroupStateTlv> {
    (
        any::<[u8; 3]>(),
        prop_oneof![Just(4u8), Just(6u8)],
        any::<u16>(),
        any::<[u8; 6]>(),
        any::<[u32; 3]>(),
        any::<[u8; 16]>(),
    )
        .prop_map(
            |(b, ip_version, group, identifier, t, virtual_ip)| GroupStateTlv {
                version: 2,
                opcode: Opcode(b[0]),
                state: V2State(b[1]),
                ip_version,
                group,
                identifier,
                priority: t[0],
                hellotime_ms: t[1],
                holdtime_ms: t[2],
                virtual_ip,
            },
        )
}

fn arb_tlv() -> impl Strategy<Value = V2Tlv> {
    prop_oneof![
        arb_group_state().prop_map(V2Tlv::GroupState),
        (any::<u16>(), any::<u16>()).prop_map(|(active, passive)| V2Tlv::InterfaceState { active, passive }),
        any::<[u8; 8]>().prop_map(V2Tlv::TextAuth),
        arb_md5().prop_map(V2Tlv::Md5Auth),
        (5u8..=255, proptest::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(typ, value)| V2Tlv::Unknown { typ, value }),
    ]
}

fn arb_v2() -> impl Strategy<Value = Packet> {
    (
        arb_group_state(),
        proptest::collection::vec(arb_tlv(), 0..5),
        any::<usize>(),
    )
        .prop_map(|(g, mut rest, at)| {
            let at = at % (rest.len() + 1);
            rest.insert(at, V2Tlv::GroupState(g));
            Packet::V2(V2Packet { tlvs: rest })
        })
}

proptest! {
    #[test]
    fn decode_encode_roundtrip(p in prop_oneof![arb_v1(), arb_v2()]) {
        let bytes = p.encode();
        prop_assert_eq!(Packet::decode(&bytes), Ok(p));
    }

    #[test]
    fn decode_never_panics_and_reencodes(b in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(p) = Packet::decode(&b) {
            prop_assert_eq!(p.encode(), b);
        }
    }
}
