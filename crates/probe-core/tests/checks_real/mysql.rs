//! `mysql` against the system MariaDB and a private mariadbd, compared with `mysqladmin ping`.

use std::io::Read;
use std::time::{Duration, Instant};

use probe_core::checks::MysqlCheck;
use probe_core::Status;

use crate::servers::PrivateMaria;
use crate::support::{
    assert_no_secret, assert_status, free_port, message, require_system, run, tool,
};

fn mysqladmin_ping(port: u16, user: &str, password: Option<&str>) -> i32 {
    let p = port.to_string();
    let u = format!("--user={user}");
    let pw = password.map(|p| format!("--password={p}"));
    let mut args = vec![
        "--no-defaults",
        "--protocol=tcp",
        "-h",
        "127.0.0.1",
        "-P",
        &p,
        &u,
        "--connect-timeout=5",
    ];
    if let Some(pw) = &pw {
        args.push(pw);
    }
    args.push("ping");
    tool("mysqladmin", &args).0
}

fn status_counter(port: u16, name: &str) -> u64 {
    let p = port.to_string();
    let sql = format!("SHOW GLOBAL STATUS LIKE '{name}'");
    let (code, out) = tool(
        "mariadb",
        &[
            "--no-defaults",
            "--protocol=tcp",
            "-h",
            "127.0.0.1",
            "-P",
            &p,
            "-u",
            "root",
            "-N",
            "-B",
            "-e",
            &sql,
        ],
    );
    assert_eq!(code, 0, "cannot read {name}: {out}");
    out.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("a counter value")
}

#[tokio::test]
async fn the_system_server_is_alive_and_the_login_ends_cleanly() {
    require_system("MariaDB", 3306);
    let o = run(&MysqlCheck::new("mysql://root@127.0.0.1:3306").unwrap()).await;
    assert_status(&o, Status::Pass);
    assert!(message(&o).starts_with("127.0.0.1:3306 - alive ("), "{o:?}");
    assert!(message(&o).contains("MariaDB"), "{o:?}");
    assert_eq!(o.details.unwrap()["login"], "ok");
    assert_eq!(mysqladmin_ping(3306, "root", None), 0);
}

/// `mysqladmin ping` exits 0 on "access denied": the server is running. So does the check,
/// and it never sends (or shows) the password.
#[tokio::test]
async fn refused_credentials_still_mean_alive_like_mysqladmin() {
    require_system("MariaDB", 3306);
    let o = run(&MysqlCheck::new("mysql://nobody_here:my-secret-pw@127.0.0.1:3306").unwrap()).await;
    assert_status(&o, Status::Pass);
    let login = o.details.as_ref().unwrap()["login"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        login.contains("Access denied for user 'nobody_here'"),
        "{login}"
    );
    // 1698 is MariaDB's "access denied without a password"; MySQL says "using password: NO".
    assert!(
        login.starts_with("refused: 1698 ") || login.contains("using password: NO"),
        "the password is never sent: {login}"
    );
    assert_no_secret(&o, "my-secret-pw");
    assert_eq!(
        mysqladmin_ping(3306, "nobody_here", Some("my-secret-pw")),
        0
    );
}

#[tokio::test]
async fn nothing_listening_fails_like_mysqladmin() {
    let port = free_port();
    let started = Instant::now();
    let o = run(&MysqlCheck::new(&format!("mysql://127.0.0.1:{port}")).unwrap()).await;
    assert_status(&o, Status::Fail);
    assert!(message(&o).contains("connection refused"), "{o:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(mysqladmin_ping(port, "root", None), 1);
}

#[tokio::test]
async fn a_stopped_server_fails_and_passes_again_once_restarted() {
    let mut server = PrivateMaria::start();
    let check = MysqlCheck::new(&format!("mysql://probe@127.0.0.1:{}", server.port)).unwrap();
    assert_status(&run(&check).await, Status::Pass);
    server.down();
    assert_status(&run(&check).await, Status::Fail);
    assert_eq!(mysqladmin_ping(server.port, "probe", None), 1);
    server.up();
    assert_status(&run(&check).await, Status::Pass);
    assert_eq!(mysqladmin_ping(server.port, "probe", None), 0);
}

/// A probe that reads the greeting and hangs up counts as an aborted connection (and, from
/// another host, towards `max_connect_errors` and a host block); the check logs in and quits.
#[tokio::test]
async fn probing_does_not_abort_connections() {
    let server = PrivateMaria::start();
    let port = server.port;
    let before = status_counter(port, "Aborted_connects");
    let check = MysqlCheck::new(&format!("mysql://probe@127.0.0.1:{port}")).unwrap();
    for _ in 0..5 {
        assert_status(&run(&check).await, Status::Pass);
    }
    assert_eq!(
        status_counter(port, "Aborted_connects"),
        before,
        "the check aborted connections"
    );

    // The counter does move for a bare connect-read-close probe, so the assertion above can fail.
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = raw.read(&mut [0u8; 256]);
    drop(raw);
    let deadline = Instant::now() + Duration::from_secs(5);
    while status_counter(port, "Aborted_connects") == before {
        assert!(
            Instant::now() < deadline,
            "a bare TCP probe was not counted as aborted"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
