//! What `status` prints of the pair.

use super::{Pair, Role};
use crate::system::line;

impl Pair<'_> {
    pub async fn status(&self) {
        for port in self.stack.pg_ports {
            let pid = self.pid_line(port, 1);
            if self.running(port) {
                let timeline = self.timeline(port);
                match self.role(port).await {
                    Some(Role::Primary) => {
                        let names = self
                            .query(port, "SHOW synchronous_standby_names")
                            .await
                            .unwrap_or_default();
                        line(&format!("{:<10} primary, running (pid {pid}), port {port}, timeline {timeline}, synchronous_standby_names '{names}'", "postgres"));
                    }
                    Some(Role::Standby) => line(&format!(
                        "{:<10} standby, running (pid {pid}), port {port}, timeline {timeline}",
                        "postgres"
                    )),
                    None => line(&format!(
                        "{:<10} running (pid {pid}), port {port}, not answering",
                        "postgres"
                    )),
                }
            } else if self.exists(port) {
                let data = if self.standby_data(port) {
                    "standby's"
                } else {
                    "primary's"
                };
                line(&format!(
                    "{:<10} stopped, port {port} ({data} data, timeline {})",
                    "postgres",
                    self.timeline(port)
                ));
            } else {
                line(&format!(
                    "{:<10} stopped, port {port} (no data)",
                    "postgres"
                ));
            }
        }
        for port in self.stack.pg_ports {
            if self.role(port).await != Some(Role::Primary) {
                continue;
            }
            let standby = self.other(port);
            // The standby, as the primary sees it: streaming, sync or not,
            // how far behind in bytes and in time.
            let sql = format!(
                "SELECT state || ', sync_state ' || sync_state || ', replay lag ' || \
                 pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) || ' bytes (' || \
                 coalesce(replay_lag::text, '0') || ')' \
                 FROM pg_stat_replication WHERE application_name = 'pg{standby}'"
            );
            let replication = self.query(port, &sql).await.unwrap_or_default();
            let state = if replication.is_empty() {
                let names = self
                    .query(port, "SHOW synchronous_standby_names")
                    .await
                    .unwrap_or_default();
                let commits = if names.is_empty() {
                    "commits are not replicated"
                } else {
                    "commits wait for it"
                };
                format!("not connected ({commits})")
            } else {
                replication
            };
            line(&format!(
                "{:<10} replication 127.0.0.1:{port} -> 127.0.0.1:{standby}: {state}",
                "postgres"
            ));
        }
    }
}
