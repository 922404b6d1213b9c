//! What each case's trace must hold, and a case as it ran: its order, its
//! trace's spans, and the checks of its tree.

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use serde_json::Value;

use crate::receiver::{kind_name, tree, Span};
use crate::services::service_name;

pub const POST_ORDER: &str = "POST /api/orders/";

/// A span a case's trace must hold: its process, its name, its parent (the
/// caller's span, a root, or the span of that name), its kind if checked,
/// and attributes (`ORDER_ID` for the case's order id).
pub struct Expected {
    pub process: &'static str,
    pub name: String,
    parent: Parent,
    kind: Option<SpanKind>,
    attributes: Vec<(&'static str, &'static str)>,
}

#[derive(Clone, PartialEq)]
pub enum Parent {
    Caller,
    Root,
    Span(String),
}

const ORDER_ID: &str = "<order id>";

fn expect(
    process: &'static str,
    name: &str,
    parent: Parent,
    kind: Option<SpanKind>,
    attributes: &[(&'static str, &'static str)],
) -> Expected {
    Expected {
        process,
        name: name.to_owned(),
        parent,
        kind,
        attributes: attributes.to_vec(),
    }
}

/// The mediator's call for `step` and the participant's handling of it.
fn call(step: &'static str, action: &'static str, participant: &'static str) -> [Expected; 2] {
    let name = format!("{action} {step}");
    let route = if action == "reserve" { "PUT" } else { "DELETE" };
    [
        expect(
            "mediator",
            &name,
            Parent::Span("saga".into()),
            Some(SpanKind::Client),
            &[("step", step), ("action", action), ("order_id", ORDER_ID)],
        ),
        expect(
            participant,
            &format!("{route} /internal/reservations/{{order_id}}"),
            Parent::Span(name.clone()),
            Some(SpanKind::Server),
            &[],
        ),
    ]
}

/// order-api's handling of the order's request.
fn request(parent: Parent, attributes: &[(&'static str, &'static str)]) -> Expected {
    expect(
        "order-api",
        POST_ORDER,
        parent,
        Some(SpanKind::Server),
        attributes,
    )
}

fn saga() -> Expected {
    expect(
        "mediator",
        "saga",
        Parent::Span(POST_ORDER.into()),
        Some(SpanKind::Internal),
        &[("order_id", ORDER_ID)],
    )
}

/// Case a's trace: the request under the caller, the saga, three reserves.
pub fn tree_a() -> Vec<Expected> {
    let mut spans = vec![
        request(Parent::Caller, &[("http.response.status_code", "201")]),
        expect(
            "order-api",
            "enqueue",
            Parent::Span(POST_ORDER.into()),
            None,
            &[],
        ),
        saga(),
    ];
    spans.extend(call("money", "reserve", "billing"));
    spans.extend(call("item", "reserve", "items"));
    spans.extend(call("slot", "reserve", "slots"));
    spans
}

/// Case b's: a root request, the saga, two reserves, two cancels.
pub fn tree_b() -> Vec<Expected> {
    let mut spans = vec![request(Parent::Root, &[]), saga()];
    let [money, _] = call("money", "reserve", "billing");
    let [item, _] = call("item", "reserve", "items");
    spans.extend([money, item]);
    spans.extend(call("item", "cancel", "items"));
    spans.extend(call("money", "cancel", "billing"));
    spans
}

/// Case c's: a root request.
pub fn tree_c() -> Vec<Expected> {
    vec![request(Parent::Root, &[])]
}

/// One case's order, as it ended, and the spans of its trace.
pub struct Case {
    pub label: &'static str,
    pub order_id: i64,
    pub order: Value,
    pub trace_id: String,
    pub spans: Vec<Span>,
    pub expected: Vec<Expected>,
    /// The span id of the traceparent sent, if any.
    pub caller: String,
}

impl Case {
    /// The span `name` of `process`: of those, the one under the parent's
    /// span, else the first; and the span id its parent must have (None when
    /// the parent itself is missing).
    fn find(&self, process: &str, name: &str, parent: &Parent) -> (Option<&Span>, Option<String>) {
        let found: Vec<&Span> = self
            .spans
            .iter()
            .filter(|s| s.service == service_name(process) && s.name == name)
            .collect();
        let parent_id = match parent {
            Parent::Caller => Some(self.caller.clone()),
            Parent::Root => Some(String::new()),
            Parent::Span(above) => {
                let entry = self
                    .expected
                    .iter()
                    .find(|e| &e.name == above)
                    .expect("a parent in the tree");
                self.find(entry.process, &entry.name, &entry.parent)
                    .0
                    .map(|s| s.span_id.clone())
            }
        };
        let span = found
            .iter()
            .find(|s| Some(&s.parent_span_id) == parent_id.as_ref())
            .or(found.first())
            .copied();
        (span, parent_id)
    }

    pub fn post(&self) -> Option<&Span> {
        let (process, parent) = (self.expected[0].process, &self.expected[0].parent);
        self.find(process, POST_ORDER, parent).0
    }

    /// Every expected span there, under its parent, of its kind, with its
    /// attributes: what is not.
    fn tree_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for entry in &self.expected {
            let (span, parent_id) = self.find(entry.process, &entry.name, &entry.parent);
            let Some(span) = span else {
                problems.push(format!(
                    "no {} span `{}`",
                    service_name(entry.process),
                    entry.name
                ));
                continue;
            };
            match parent_id {
                None => problems.push(format!("{span}: its parent is missing")),
                Some(id) if span.parent_span_id != id => problems.push(format!(
                    "{span}: its parent is {:?}, not {id:?}",
                    span.parent_span_id
                )),
                Some(_) => {}
            }
            if let Some(kind) = entry.kind.filter(|kind| *kind != span.kind) {
                problems.push(format!(
                    "{span}: its kind is {}, not {}",
                    kind_name(span.kind),
                    kind_name(kind)
                ));
            }
            for (key, want) in &entry.attributes {
                let want = if *want == ORDER_ID {
                    self.order_id.to_string()
                } else {
                    want.to_string()
                };
                if span.attributes.get(*key) != Some(&want) {
                    problems.push(format!(
                        "{span}: {key} = {:?}, not {want:?}",
                        span.attributes.get(*key)
                    ));
                }
            }
        }
        problems
    }

    pub fn assert_tree(&self) {
        let problems = self.tree_problems();
        assert!(
            problems.is_empty(),
            "{}: trace {}: {}; it holds:\n{}",
            self.label,
            self.trace_id,
            problems.join("; "),
            tree(&self.spans)
        );
    }

    /// The case's request began a fresh trace: 32 hex digits, not all
    /// zeros, no other case's.
    pub fn assert_fresh(&self, others: &[&Case]) {
        let trace_id = self
            .post()
            .map(|post| post.trace_id.clone())
            .unwrap_or_default();
        let hex = trace_id.len() == 32 && trace_id.bytes().all(|b| b.is_ascii_hexdigit());
        assert!(
            hex && trace_id != "0".repeat(32),
            "{}: trace id {trace_id:?}",
            self.label
        );
        assert!(
            others.iter().all(|other| other.trace_id != trace_id),
            "{}: {trace_id} is another order's",
            self.label
        );
    }
}
