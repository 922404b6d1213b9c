//! Tables and lines for people, from the API's JSON answers.

use serde_json::Value;

/// Columns padded to their widest cell, the last one as it is.
fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let last = cells.len().saturating_sub(1);
        let padded: Vec<String> = cells
            .into_iter()
            .enumerate()
            .map(|(i, cell)| {
                if i == last {
                    cell
                } else {
                    format!("{cell:<0$}", widths[i])
                }
            })
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| (*h).to_owned()).collect());
    for row in rows {
        line(row.clone());
    }
}

/// A JSON value as a cell: strings bare, null as `-`.
fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Seconds as people read them: 42 s, 3 min, 2 h 5 min, 4 d 3 h.
pub fn age(seconds: &Value) -> String {
    let Some(seconds) = seconds.as_f64() else {
        return "-".into();
    };
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86399 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86400, s % 86400 / 3600),
    }
}

fn saga_row(saga: &Value) -> Vec<String> {
    let reason = match &saga["parked_reason"] {
        Value::Null => text(&saga["reason"]),
        parked => format!("parked: {}", text(parked)),
    };
    vec![
        text(&saga["id"]),
        text(&saga["state"]),
        text(&saga["username"]),
        text(&saga["amount"]),
        text(&saga["details"]["item"]),
        text(&saga["details"]["slot"]),
        text(&saga["attempts"]),
        age(&saga["age_seconds"]),
        text(&saga["created_at"]),
        reason,
    ]
}

const SAGA_HEADER: [&str; 10] = [
    "ID", "STATE", "USER", "AMOUNT", "ITEM", "SLOT", "RUNS", "AGE", "CREATED", "REASON",
];

pub fn list(answer: &Value) {
    let sagas = answer["sagas"].as_array().cloned().unwrap_or_default();
    if sagas.is_empty() {
        println!("no sagas");
        return;
    }
    let rows: Vec<Vec<String>> = sagas.iter().map(saga_row).collect();
    table(&SAGA_HEADER, &rows);
    if let Some(before) = answer["next_before"].as_i64() {
        println!("(more: --before {before})");
    }
}

pub fn one(answer: &Value) {
    let saga = &answer["saga"];
    table(&SAGA_HEADER, &[saga_row(saga)]);
    println!("held by: {}", text(&answer["worker"]));
    println!("trace:   {}", text(&saga["trace_id"]));
    println!();
    let history = answer["history"].as_array().cloned().unwrap_or_default();
    let rows: Vec<Vec<String>> = history
        .iter()
        .map(|entry| {
            vec![
                text(&entry["at"]),
                text(&entry["attempt"]),
                text(&entry["step"]),
                text(&entry["action"]),
                text(&entry["outcome"]),
                text(&entry["admin"]),
            ]
        })
        .collect();
    if rows.is_empty() {
        println!("no history yet: a run writes its steps when it ends or parks");
    } else {
        table(&["AT", "RUN", "STEP", "ACTION", "OUTCOME", "BY"], &rows);
    }
}

pub fn acted(answer: &Value) {
    let saga = &answer["saga"];
    println!("saga {}: now {}", text(&saga["id"]), text(&saga["state"]));
}

pub fn retried(answer: &Value) {
    println!("retried {} parked sagas", text(&answer["retried"]));
    if answer["more"] == Value::Bool(true) {
        println!("(more may be parked: run it again)");
    }
}

pub fn stats(answer: &Value) {
    let counts = |key: &str| -> Vec<Vec<String>> {
        answer[key]
            .as_object()
            .map(|map| map.iter().map(|(k, v)| vec![k.clone(), text(v)]).collect())
            .unwrap_or_default()
    };
    table(&["STATE", "SAGAS"], &counts("by_state"));
    println!();
    let reasons = counts("by_reason");
    if !reasons.is_empty() {
        table(&["FAILED BECAUSE", "SAGAS"], &reasons);
        println!();
    }
    println!(
        "oldest unfinished: {}",
        age(&answer["oldest_unfinished_seconds"])
    );
    println!("queue depth:       {}", text(&answer["queue_depth"]));
    let workers = answer["workers"].as_array().map_or(0, Vec::len);
    println!("workers:           {workers}");
    println!("server version:    {}", text(&answer["version"]));
}

pub fn version(answer: &Value) {
    println!("shopctl {}", env!("CARGO_PKG_VERSION"));
    println!("server  {}", text(&answer["version"]));
}

pub fn workers(answer: &Value) {
    let workers = answer["workers"].as_array().cloned().unwrap_or_default();
    if workers.is_empty() {
        println!("no live mediator worker");
        return;
    }
    let rows: Vec<Vec<String>> = workers
        .iter()
        .map(|worker| {
            let held = worker["in_flight"].as_array().cloned().unwrap_or_default();
            let held: Vec<String> = held.iter().map(text).collect();
            vec![
                text(&worker["id"]),
                age(&worker["age_seconds"]),
                held.len().to_string(),
                held.join(" "),
            ]
        })
        .collect();
    table(&["WORKER", "HEARD", "HOLDS", "ORDERS"], &rows);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ages_read_as_people_say_them() {
        assert_eq!(age(&json!(4.2)), "4 s");
        assert_eq!(age(&json!(181)), "3 min");
        assert_eq!(age(&json!(7500)), "2 h 5 min");
        assert_eq!(age(&json!(360000)), "4 d 4 h");
        assert_eq!(age(&Value::Null), "-");
    }
}
