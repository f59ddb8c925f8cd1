//! What only the PostgreSQL backend has: URLs, TLS, and connections that
//! break. The storage suite runs here too (`store::suite`).

use super::scratch::ScratchDatabase;
use super::*;

#[test]
fn urls_say_what_they_mean() {
    let target = Target::parse("postgres://tally:secret@db.example:6543/counts?sslmode=verify-full").unwrap();
    assert_eq!(target.ssl, SslMode::VerifyFull);
    assert_eq!(target.database(), "counts");
    let shown = target.to_string();
    assert_eq!(shown, "PostgreSQL database counts on db.example:6543 as tally");
    assert!(!format!("{target:?}").contains("secret"), "the password is never shown");
    assert_eq!(Target::parse("postgresql://u@h/d").unwrap().ssl, SslMode::Prefer, "libpq's default");
    let bad = Target::parse("postgres://u@h/d?sslmode=maybe").unwrap_err().to_string();
    assert!(bad.contains("sslmode=maybe"), "{bad}");
    let root = Target::parse("postgres://u@h/d?sslmode=verify-ca&sslrootcert=/etc/ca.pem&application_name=x").unwrap();
    assert_eq!(root.root_cert.as_deref(), Some(std::path::Path::new("/etc/ca.pem")));
}

fn scratch_target(scratch: &ScratchDatabase, sslmode: &str) -> Target {
    let base = scratch.url().split('?').next().unwrap().to_owned();
    Target::parse(&format!("{base}?sslmode={sslmode}")).unwrap()
}

/// `require` encrypts (the server here has Debian's self-signed
/// certificate); `verify-full` refuses a certificate no trusted authority
/// signed, for good rather than as a passing failure.
#[test]
fn tls_encrypts_and_checks_as_asked() {
    let scratch = ScratchDatabase::create();
    let mut client = scratch_target(&scratch, "require").connect().expect("TLS with sslmode=require");
    let encrypted: bool =
        client.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).unwrap().get(0);
    assert!(encrypted, "sslmode=require must encrypt");
    let mut plain = scratch_target(&scratch, "disable").connect().unwrap();
    let encrypted: bool =
        plain.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).unwrap().get(0);
    assert!(!encrypted, "sslmode=disable must not");
    let Err(refused) = scratch_target(&scratch, "verify-full").connect() else {
        panic!("a self-signed certificate passed verify-full");
    };
    assert!(!refused.is_transient(), "an untrusted certificate is not worth retrying: {refused}");
}

/// A connection the server drops is a passing failure, and the writer's
/// next transaction runs on a new connection; a wrong statement is not.
#[test]
fn a_dropped_connection_is_retried_and_a_bad_statement_is_not() {
    let scratch = ScratchDatabase::create();
    let target = Target::parse(scratch.url()).unwrap();
    let mut writer = open_writer(&target).unwrap();
    let pid: i32 = writer.client().unwrap().query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    scratch.execute(&format!("SELECT pg_terminate_backend({pid})"));
    let dropped = writer.positions().unwrap_err();
    assert!(dropped.is_transient(), "{dropped}");
    assert_eq!(writer.positions().unwrap(), [], "the next call reconnects");
    let bad = writer.client().unwrap().batch_execute("SELEC 1").map_err(StoreError::from).unwrap_err();
    assert!(!bad.is_transient(), "{bad}");
    assert!(bad.to_string().contains("syntax error"), "the server's own message is shown: {bad}");
}

/// A server that is not there at all: a passing failure, said plainly.
#[test]
fn an_unreachable_server_is_a_passing_failure() {
    let target = Target::parse("postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2").unwrap();
    let Err(error) = target.connect() else { panic!("connected to port 1") };
    assert!(error.is_transient(), "{error}");
    assert!(error.to_string().contains("error connecting to server"), "{error}");
}
