//! The readers against the answers Connect gives, and the ones it should not.

use super::*;

const STATUS: &str =
    r#"{"name":"x","connector":{"state":"RUNNING","worker_id":"w:1"},"tasks":[],"type":"sink"}"#;

#[test]
fn expanded_statuses_keep_connects_order_and_names() {
    let body =
        format!(r#"{{"zeta":{{"status":{STATUS}}},"alpha":{{"status":{STATUS},"info":{{}}}}}}"#);
    let Ok(ListAnswer::Statuses(s)) = read_list(200, body.as_bytes()) else {
        panic!("not statuses");
    };
    let names: Vec<_> = s.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["zeta", "alpha"]);
    assert_eq!(read_list(200, b"{}"), Ok(ListAnswer::Statuses(vec![])));
}

#[test]
fn a_list_of_names_comes_from_an_old_worker() {
    assert_eq!(
        read_list(200, br#"["b","a"]"#),
        Ok(ListAnswer::Names(vec!["b".into(), "a".into()]))
    );
}

#[test]
fn the_list_call_is_judged_by_status_and_shape() {
    let error = br#"{"error_code":500,"message":"Request timed out"}"#;
    assert_eq!(
        read_list(500, error),
        Err(AnswerError::Refused {
            status: 500,
            message: "Request timed out".into()
        })
    );
    // An error object is never a list of connectors, whatever its status.
    assert_eq!(
        read_list(200, error).unwrap_err().to_string(),
        "answered 200: Request timed out"
    );
    assert_eq!(
        read_list(500, b"[]"),
        Err(AnswerError::Status { status: 500 })
    );
    assert_eq!(
        read_list(200, b"<html>"),
        Err(AnswerError::NotJson { status: 200 })
    );
    assert_eq!(
        read_list(200, b"[\"a\""),
        Err(AnswerError::NotJson { status: 200 })
    );
    assert!(matches!(
        read_list(200, b"42"),
        Err(AnswerError::Shape { status: 200, .. })
    ));
    assert!(matches!(
        read_list(200, br#"{"a":{}}"#),
        Err(AnswerError::Shape { status: 200, .. })
    ));
    assert_eq!(
        read_list(401, b"User cannot access the resource."),
        Err(AnswerError::Refused {
            status: 401,
            message: "User cannot access the resource.".into()
        })
    );
    assert_eq!(
        read_list(502, b"<html><body>Bad gateway</body></html>"),
        Err(AnswerError::Status { status: 502 })
    );
}

#[test]
fn a_status_object_is_used_whatever_its_http_status() {
    let found = read_status("listed-name", 503, STATUS.as_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(found.name, "listed-name");
}

#[test]
fn a_connector_gone_since_the_listing_is_skipped() {
    let gone = br#"{"error_code":404,"message":"No status found for connector x"}"#;
    assert_eq!(read_status("x", 404, gone), Ok(None));
    assert_eq!(
        read_status("x", 500, br#"{"error_code":500,"message":"boom"}"#),
        Err(AnswerError::Refused {
            status: 500,
            message: "boom".into()
        })
    );
    assert_eq!(
        read_status("x", 200, b"not json"),
        Err(AnswerError::NotJson { status: 200 })
    );
    assert_eq!(
        read_status("x", 503, b""),
        Err(AnswerError::Status { status: 503 })
    );
}

#[test]
fn the_broker_probe_wants_json_below_400() {
    assert_eq!(read_info(200, b"{}"), Ok(()));
    assert_eq!(
        read_info(503, b"{}"),
        Err(AnswerError::Status { status: 503 })
    );
    assert_eq!(
        read_info(200, b"nope"),
        Err(AnswerError::NotJson { status: 200 })
    );
}

#[test]
fn worker_health_follows_kip_1017() {
    assert_eq!(
        read_worker_health(200, br#"{"status":"healthy","message":"Worker has completed startup and is ready to handle requests."}"#),
        Ok(WorkerHealth::Healthy)
    );
    assert_eq!(read_worker_health(404, b""), Ok(WorkerHealth::Unsupported));
    assert_eq!(
        read_worker_health(
            503,
            br#"{"status":"starting","message":"Worker is still starting up."}"#
        ),
        Ok(WorkerHealth::Unhealthy {
            status: 503,
            state: "starting".into(),
            message: "Worker is still starting up.".into()
        })
    );
    assert!(read_worker_health(500, b"oops").is_err());
}

#[test]
fn long_messages_are_cut() {
    let body = format!(r#"{{"error_code":500,"message":"{}"}}"#, "é".repeat(1000));
    let Err(AnswerError::Refused { message, .. }) = read_list(500, body.as_bytes()) else {
        panic!("not refused");
    };
    assert_eq!(message.chars().count(), MAX_MESSAGE + 3);
}
