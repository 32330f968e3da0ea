//! The parts of Kubernetes objects `probe lint` reads: pod templates, their containers,
//! ports, environment and probes, with Kubernetes' defaults filled in.
//!
//! Objects that hold a pod template are read (Pod, Deployment, StatefulSet, DaemonSet,
//! ReplicaSet, ReplicationController, Job, CronJob, and the items of a List); every other
//! kind is skipped. A field of the wrong type is an [`InputError`] naming its path, as the
//! API server would refuse it.

use super::fields::Reader;
use super::yaml::{Document, Node};

/// A field of the wrong type or a value out of range, at `path` in document `document`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("document {document}, line {line}: {path}: {problem}")]
pub struct InputError {
    /// The document, from 1.
    pub document: usize,
    /// The line of the value.
    pub line: usize,
    /// The field's path, e.g. `spec.template.spec.containers[0].livenessProbe.timeoutSeconds`.
    pub path: String,
    /// What is wrong.
    pub problem: String,
}

/// A pod template and the object that holds it.
#[derive(Debug)]
pub struct Workload {
    /// The document it is in, from 1.
    pub document: usize,
    /// The object's line.
    pub line: usize,
    /// `Kind/name`.
    pub object: String,
    /// Its containers, init containers included (a sidecar is a restartable init container).
    pub containers: Vec<Container>,
}

/// One container of a pod template.
#[derive(Debug, Default)]
pub struct Container {
    /// Its name.
    pub name: String,
    /// The path of the container in its document.
    pub path: String,
    /// `image`.
    pub image: String,
    /// `command`.
    pub command: Vec<String>,
    /// `args`.
    pub args: Vec<String>,
    /// `env` entries with a literal `value` (those from `valueFrom` are unknown here).
    pub env: Vec<(String, String)>,
    /// `ports`: the name, if any, and the number.
    pub ports: Vec<(Option<String>, u16)>,
    /// Its probes.
    pub probes: Vec<ProbeSpec>,
}

/// Which probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `livenessProbe`.
    Liveness,
    /// `readinessProbe`.
    Readiness,
    /// `startupProbe`.
    Startup,
}

impl Kind {
    /// The field's name.
    pub fn field(self) -> &'static str {
        match self {
            Kind::Liveness => "livenessProbe",
            Kind::Readiness => "readinessProbe",
            Kind::Startup => "startupProbe",
        }
    }
}

/// A port as a probe names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortRef {
    /// A number.
    Number(u16),
    /// A name of one of the container's ports.
    Name(String),
}

/// What the kubelet does to probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handler {
    /// `httpGet`.
    Http {
        /// The path, query included (default `/`).
        path: String,
        /// The port.
        port: PortRef,
    },
    /// `grpc`.
    Grpc {
        /// The port.
        port: PortRef,
        /// `service` (default `""`).
        service: String,
    },
    /// `exec`.
    Exec {
        /// The command.
        command: Vec<String>,
    },
    /// `tcpSocket`, or no handler at all.
    Other,
}

/// One probe with Kubernetes' defaults applied.
#[derive(Clone, Debug)]
pub struct ProbeSpec {
    /// Which one.
    pub kind: Kind,
    /// Its line.
    pub line: usize,
    /// What runs.
    pub handler: Handler,
    /// `initialDelaySeconds` (0).
    pub initial_delay: u32,
    /// `timeoutSeconds` (1).
    pub timeout: u32,
    /// `periodSeconds` (10).
    pub period: u32,
    /// `successThreshold` (1).
    pub success: u32,
    /// `failureThreshold` (3).
    pub failure: u32,
}

/// The kinds whose pod template is at `spec.template.spec`.
const TEMPLATED: [&str; 6] = [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
];

/// The workloads of `doc` (none for kinds without a pod template).
pub fn workloads(doc: &Document) -> Result<Vec<Workload>, InputError> {
    let r = Reader {
        document: doc.index,
    };
    let mut out = Vec::new();
    let Some(root) = r.map(&doc.root, "(document)")? else {
        return Ok(out);
    };
    object(&r, root, "", &mut out)?;
    Ok(out)
}

fn object(r: &Reader, obj: &Node, at: &str, out: &mut Vec<Workload>) -> Result<(), InputError> {
    let kind = r
        .string(obj.get("kind"), &format!("{at}kind"))?
        .unwrap_or_default();
    if kind == "List" || kind.ends_with("List") {
        let path = format!("{at}items");
        for (i, item) in r.list(obj.get("items"), &path)?.iter().enumerate() {
            let p = format!("{path}[{i}]");
            if let Some(m) = r.map(item, &p)? {
                object(r, m, &format!("{p}."), out)?;
            }
        }
        return Ok(());
    }
    let spec_path: &[&str] = match kind.as_str() {
        "Pod" => &["spec"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        k if TEMPLATED.contains(&k) => &["spec", "template", "spec"],
        _ => return Ok(()),
    };
    let name = match obj.get("metadata") {
        Some(m) => r.string(m.get("name"), &format!("{at}metadata.name"))?,
        None => None,
    };
    let mut node = obj;
    let mut path = at.trim_end_matches('.').to_owned();
    for key in spec_path {
        path = if path.is_empty() {
            (*key).to_owned()
        } else {
            format!("{path}.{key}")
        };
        match node.get(key) {
            Some(n) => match r.map(n, &path)? {
                Some(m) => node = m,
                None => return Ok(()),
            },
            None => return Ok(()),
        }
    }
    let mut containers = Vec::new();
    for field in ["initContainers", "containers"] {
        let list_path = format!("{path}.{field}");
        for (i, c) in r.list(node.get(field), &list_path)?.iter().enumerate() {
            let p = format!("{list_path}[{i}]");
            if let Some(c) = r.map(c, &p)? {
                containers.push(container(r, c, &p)?);
            }
        }
    }
    out.push(Workload {
        document: r.document,
        line: obj.line,
        object: format!("{kind}/{}", name.unwrap_or_else(|| "(unnamed)".into())),
        containers,
    });
    Ok(())
}

fn container(r: &Reader, c: &Node, path: &str) -> Result<Container, InputError> {
    let at = |k: &str| format!("{path}.{k}");
    let mut env = Vec::new();
    for (i, e) in r.list(c.get("env"), &at("env"))?.iter().enumerate() {
        let p = format!("{}[{i}]", at("env"));
        if let Some(e) = r.map(e, &p)? {
            let name = r
                .string(e.get("name"), &format!("{p}.name"))?
                .unwrap_or_default();
            if let Some(v) = e.get("value").filter(|v| !v.is_null()) {
                let value = r
                    .string(Some(v), &format!("{p}.value"))?
                    .unwrap_or_default();
                env.push((name, value));
            }
        }
    }
    let mut ports = Vec::new();
    for (i, p) in r.list(c.get("ports"), &at("ports"))?.iter().enumerate() {
        let pp = format!("{}[{i}]", at("ports"));
        if let Some(p) = r.map(p, &pp)? {
            let number = r.int(
                p.get("containerPort"),
                &format!("{pp}.containerPort"),
                65535,
            )?;
            let name = r.string(p.get("name"), &format!("{pp}.name"))?;
            if let Some(n) = number {
                ports.push((name, n as u16));
            }
        }
    }
    let mut probes = Vec::new();
    for kind in [Kind::Startup, Kind::Liveness, Kind::Readiness] {
        let p = at(kind.field());
        if let Some(node) = c.get(kind.field()) {
            if let Some(m) = r.map(node, &p)? {
                probes.push(probe(r, kind, m, &p)?);
            }
        }
    }
    Ok(Container {
        name: r.string(c.get("name"), &at("name"))?.unwrap_or_default(),
        path: path.to_owned(),
        image: r.string(c.get("image"), &at("image"))?.unwrap_or_default(),
        command: r.strings(c.get("command"), &at("command"))?,
        args: r.strings(c.get("args"), &at("args"))?,
        env,
        ports,
        probes,
    })
}

fn probe(r: &Reader, kind: Kind, p: &Node, path: &str) -> Result<ProbeSpec, InputError> {
    let at = |k: &str| format!("{path}.{k}");
    let num = |k: &str, default: u32| -> Result<u32, InputError> {
        Ok(r.int(p.get(k), &at(k), i32::MAX as u64)?
            .map_or(default, |v| v as u32))
    };
    let handler = if let Some(h) = p.get("httpGet").filter(|n| !n.is_null()) {
        let hp = at("httpGet");
        let h = r.map(h, &hp)?.expect("not null");
        Handler::Http {
            path: r
                .string(h.get("path"), &format!("{hp}.path"))?
                .unwrap_or_else(|| "/".into()),
            port: r.port(h.get("port"), &format!("{hp}.port"))?,
        }
    } else if let Some(g) = p.get("grpc").filter(|n| !n.is_null()) {
        let gp = at("grpc");
        let g = r.map(g, &gp)?.expect("not null");
        Handler::Grpc {
            port: r.port(g.get("port"), &format!("{gp}.port"))?,
            service: r
                .string(g.get("service"), &format!("{gp}.service"))?
                .unwrap_or_default(),
        }
    } else if let Some(e) = p.get("exec").filter(|n| !n.is_null()) {
        let ep = at("exec");
        let e = r.map(e, &ep)?.expect("not null");
        Handler::Exec {
            command: r.strings(e.get("command"), &format!("{ep}.command"))?,
        }
    } else {
        Handler::Other
    };
    Ok(ProbeSpec {
        kind,
        line: p.line,
        handler,
        initial_delay: num("initialDelaySeconds", 0)?,
        timeout: num("timeoutSeconds", 1)?,
        period: num("periodSeconds", 10)?,
        success: num("successThreshold", 1)?,
        failure: num("failureThreshold", 3)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::yaml::documents;

    fn read(text: &str) -> Result<Vec<Workload>, InputError> {
        let docs = documents(text).unwrap();
        let mut out = Vec::new();
        for d in &docs {
            out.extend(workloads(d)?);
        }
        Ok(out)
    }

    #[test]
    fn templates_of_every_kind_are_found_with_defaults() {
        let w = read(
            "kind: CronJob\nmetadata: {name: c}\nspec: {jobTemplate: {spec: {template: {spec: {containers: [{name: x, image: i, livenessProbe: {httpGet: {port: 80}}}]}}}}}\n---\nkind: Service\n---\nkind: List\nitems: [{kind: Pod, metadata: {name: p}, spec: {containers: [{name: y, ports: [{name: web, containerPort: 8080}], readinessProbe: {grpc: {port: 9}, timeoutSeconds: 4}}]}}]\n",
        )
        .unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].object, "CronJob/c");
        let p = &w[0].containers[0].probes[0];
        assert_eq!((p.timeout, p.period, p.failure, p.success), (1, 10, 3, 1));
        assert_eq!(
            p.handler,
            Handler::Http {
                path: "/".into(),
                port: PortRef::Number(80)
            }
        );
        assert_eq!(w[1].object, "Pod/p");
        assert_eq!(w[1].containers[0].ports, [(Some("web".into()), 8080)]);
        assert_eq!(w[1].containers[0].probes[0].timeout, 4);
    }

    #[test]
    fn wrong_types_name_the_path() {
        let e = read("kind: Pod\nspec:\n  containers:\n  - name: a\n    livenessProbe:\n      timeoutSeconds: \"5\"\n").unwrap_err();
        assert_eq!(e.path, "spec.containers[0].livenessProbe.timeoutSeconds");
        assert_eq!((e.document, e.line), (1, 6));
        let e = read("---\nkind: Deployment\nspec: {template: {spec: {containers: {}}}}\n")
            .unwrap_err();
        assert_eq!(e.path, "spec.template.spec.containers");
    }
}
