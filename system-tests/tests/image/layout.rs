//! The image as a registry would serve it, read from its OCI layout: the
//! manifest tagged `TAG` in index.json, its config and its layers.

use std::path::Path;

use serde_json::Value;

pub struct Image {
    /// `config.User`.
    pub user: String,
    /// `config.Env`, `NAME=value` each.
    pub env: Vec<String>,
    pub layers: usize,
    /// The layers' summed size, compressed as a registry stores them.
    pub compressed_bytes: u64,
}

fn json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// The blob `sha256:...` of the layout.
fn blob(layout: &Path, digest: &Value) -> Value {
    let digest = digest.as_str().expect("a digest");
    let (algorithm, hex) = digest.split_once(':').expect("algorithm:hex");
    json(&layout.join("blobs").join(algorithm).join(hex))
}

impl Image {
    pub fn read(layout: &Path, tag: &str) -> Self {
        let index = json(&layout.join("index.json"));
        let tagged: Vec<&Value> = index["manifests"]
            .as_array()
            .expect("index.json's manifests")
            .iter()
            .filter(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
            .collect();
        let [descriptor] = tagged[..] else {
            panic!(
                "{} manifests tagged {tag} in {}",
                tagged.len(),
                layout.display()
            );
        };
        let manifest = blob(layout, &descriptor["digest"]);
        let config = blob(layout, &manifest["config"]["digest"]);
        let config = &config["config"];
        let layers = manifest["layers"]
            .as_array()
            .expect("the manifest's layers");
        Self {
            user: config["User"].as_str().unwrap_or_default().to_owned(),
            env: config["Env"]
                .as_array()
                .map(|env| {
                    env.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            layers: layers.len(),
            compressed_bytes: layers.iter().filter_map(|l| l["size"].as_u64()).sum(),
        }
    }
}
