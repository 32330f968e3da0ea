//! Property tests for the hand-written protocol readers, run by plain `cargo test`: a
//! bounded, deterministic byte-mutation loop over valid seed answers. The readers must
//! never panic, never claim more bytes than they were given, and treat every strict prefix
//! of a valid answer as incomplete. The same readers are fuzzed with cargo-fuzz in `fuzz/`.

use probe_core::checks::postgres::PingStatus;
use probe_core::proto::{amqp, memcached, mysql, pg, resp};

/// Mutated inputs tried per seed.
const ROUNDS: usize = 4000;

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One random edit: flip, set, insert, delete, truncate, duplicate, or an extreme byte.
fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..=rng.below(3) {
        let at = rng.below(v.len() + 1);
        match rng.below(7) {
            0 if at < v.len() => v[at] ^= 1 << rng.below(8),
            1 if at < v.len() => v[at] = rng.next() as u8,
            2 => v.insert(at, rng.next() as u8),
            3 if at < v.len() => {
                v.remove(at);
            }
            4 => v.truncate(at),
            5 => {
                let end = (at + rng.below(16)).min(v.len());
                let chunk = v[at..end].to_vec();
                v.splice(at..at, chunk);
            }
            _ if at < v.len() => v[at] = [0x00, 0xff, 0x7f, 0x80, b'\r', b'\n'][rng.below(6)],
            _ => v.push(0xff),
        }
    }
    v
}

/// Runs `read` over the seed's strict prefixes (all must be incomplete) and over mutations
/// of it; `read` returns the bytes used when it read a whole answer.
fn exercise(seeds: &[Vec<u8>], mut read: impl FnMut(&[u8]) -> Result<Option<usize>, String>) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for seed in seeds {
        assert_eq!(
            read(seed).map(|u| u.is_some()),
            Ok(true),
            "seed {seed:?} must read"
        );
        for cut in 0..seed.len() {
            assert_eq!(read(&seed[..cut]), Ok(None), "prefix {:?}", &seed[..cut]);
        }
        for _ in 0..ROUNDS {
            let input = mutate(&mut rng, seed);
            if let Ok(Some(used)) = read(&input) {
                assert!(
                    used <= input.len(),
                    "claimed {used} of {} bytes: {input:?}",
                    input.len()
                );
            }
        }
    }
    for _ in 0..ROUNDS {
        let len = rng.below(64);
        let input: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if let Ok(Some(used)) = read(&input) {
            assert!(used <= input.len());
        }
    }
}

#[test]
fn resp_reader() {
    let seeds = vec![
        b"+PONG\r\n".to_vec(),
        b"-WRONGPASS invalid username-password pair\r\n".to_vec(),
        b"*3\r\n$4\r\nPING\r\n:12\r\n*1\r\n$-1\r\n".to_vec(),
        resp::encode_command(&[b"AUTH", b"user", b"secret"]),
    ];
    let limits = resp::Limits {
        max_bulk: 64,
        max_elements: 16,
        max_depth: 4,
        max_line: 64,
    };
    exercise(&seeds, |b| {
        resp::parse(b, &limits)
            .map(|o| o.map(|(_, used)| used))
            .map_err(|e| e.to_string())
    });
}

#[test]
fn postgres_startup_answer_reader() {
    let message = |kind: u8, body: &[u8]| {
        let mut m = vec![kind];
        m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        m.extend_from_slice(body);
        m
    };
    let seeds = vec![
        message(b'R', &10u32.to_be_bytes()),
        message(b'R', b"\0\0\0\x0aSCRAM-SHA-256\0\0"),
        message(
            b'E',
            b"SFATAL\0VFATAL\0C57P03\0Mthe database system is starting up\0\0",
        ),
        message(b'v', b"\0\0\0\x03\0\0\0\0"),
    ];
    exercise(&seeds, |b| match pg::read_startup_answer(b) {
        Ok(Some((answer, used))) => {
            let _ = PingStatus::of(&answer);
            Ok(Some(used))
        }
        Ok(None) => Ok(None),
        Err(e) => Err(e.to_string()),
    });
}

#[test]
fn mysql_greeting_reader() {
    let mut greeting = vec![10];
    greeting.extend_from_slice(
        b"5.5.5-10.11.6-MariaDB\0\x07\0\0\0abcdefgh\0\xfe\xf7\x2d\x02\0\xff\x81\x15",
    );
    greeting.extend_from_slice(&[0; 10]);
    greeting.extend_from_slice(b"ijklmnopqrst\0mysql_native_password\0");
    let seeds = vec![
        mysql::write_packet(0, &greeting),
        mysql::write_packet(0, b"\xff\x10\x04Too many connections"),
        mysql::write_packet(2, b"\xff\x15\x04#28000Access denied"),
    ];
    exercise(&seeds, |b| match mysql::read_packet(b, 1 << 12) {
        Ok(Some((packet, used))) => {
            let _ = mysql::Greeting::parse(packet.payload);
            let _ = mysql::auth_reply(packet.payload);
            Ok(Some(used))
        }
        Ok(None) => Ok(None),
        Err(e) => Err(e.to_string()),
    });
}

#[test]
fn amqp_frame_reader() {
    let mut table = b"\x07productS\0\0\0\x08RabbitMQ\x0ccapabilitiesF\0\0\0\x04\x01xt\x01".to_vec();
    table.extend_from_slice(b"\x07versionS\0\0\0\x063.10.8");
    let mut payload = vec![0, 10, 0, 10, 0, 9];
    payload.extend_from_slice(&(table.len() as u32).to_be_bytes());
    payload.extend_from_slice(&table);
    payload.extend_from_slice(b"\0\0\0\x05PLAIN\0\0\0\x05en_US");
    let mut frame = vec![1, 0, 0];
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(&payload);
    frame.push(amqp::FRAME_END);
    let (answer, _) = amqp::read_answer(&frame, 1 << 12).unwrap().unwrap();
    let amqp::Answer::Frame(start) = answer else {
        panic!("the seed is a frame")
    };
    assert_eq!(
        amqp::connection_start(&start).unwrap().property("version"),
        Some("3.10.8")
    );
    let seeds = vec![frame, b"AMQP\x00\x01\x00\x00".to_vec()];
    exercise(&seeds, |b| match amqp::read_answer(b, 1 << 12) {
        Ok(Some((answer, used))) => {
            if let amqp::Answer::Frame(f) = answer {
                let _ = amqp::connection_start(&f);
            }
            Ok(Some(used))
        }
        Ok(None) => Ok(None),
        Err(e) => Err(e.to_string()),
    });
}

#[test]
fn memcached_reply_reader() {
    let seeds = vec![
        b"VERSION 1.6.18\r\n".to_vec(),
        b"SERVER_ERROR out of memory\r\n".to_vec(),
    ];
    exercise(&seeds, |b| {
        memcached::read_reply(b)
            .map(|o| o.map(|(_, used)| used))
            .map_err(|e| e.to_string())
    });
}
