//! A configuration file and its values (durations, URLs, addresses, lists): reading never
//! panics, and whatever is refused is refused with one line.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, data)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = probe::config::duration::parse(text);
    let _ = probe::config::duration::bounded(text, std::time::Duration::from_secs(3600));
    let _ = probe::config::kafka::bootstrap([text]);
    let _ = probe::config::parse_listen(text);
    // The text as the value of one typed key of a check (chosen by the first byte), or
    // as a whole file.
    let _guard = runtime().enter();
    let checks = [
        ("tcp", "address"),
        ("tcp", "timeout"),
        ("http", "url"),
        ("redis", "url"),
        ("postgres-query", "url"),
        ("kafka", "bootstrap"),
        ("file-age", "path"),
        ("kafka-connect", "url"),
    ];
    let file = match checks.get(usize::from(pick) % (checks.len() + 1)) {
        Some((kind, key)) => format!("[[check]]\nname = \"c\"\ntype = \"{kind}\"\n{key} = {text:?}\n"),
        None => text.to_owned(),
    };
    if let Err(e) = probe::config::Config::parse(&file) {
        assert!(!e.to_string().contains('\n'), "a refusal is one line: {e}");
    }
});
