//! The check areas: an id's prefix before its first dot, each in one gate
//! group. One exhaustive enum, so a new area is a compile error until it
//! names its group here and its checks in `verify::checks` (both `match`
//! every variant).
//!
//! ```
//! use report_model::area::Area;
//! assert_eq!(Area::of("edge.alb.access_logs"), Some(Area::Edge));
//! assert_eq!(Area::Edge.group(), "Edge (ALB + Cloudflare)");
//! assert_eq!(Area::of("nothing.here"), None);
//! ```

/// A check area, in catalogue order ([`Area::ALL`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Area {
    Rds,
    Pgbouncer,
    Edge,
    Cloudflare,
    Scheduled,
    Alarms,
    Budgets,
    Ses,
    /// `dns.mx`: the mail domains' MX records (reported with SES).
    Dns,
    Kms,
    Secrets,
    S3,
    Logs,
    Network,
    Terraform,
    Metrics,
    Canary,
    /// `maintenance.rds`, `maintenance.health`: what is scheduled inside the
    /// declared launch window.
    Maintenance,
    /// A drill's outcome (`drill.rds_failover`): run by `verify drill`, not the gate.
    Drill,
}

impl Area {
    /// Every area, in catalogue order (the order of the enum).
    pub const ALL: [Area; 19] = [
        Area::Rds,
        Area::Pgbouncer,
        Area::Edge,
        Area::Cloudflare,
        Area::Scheduled,
        Area::Alarms,
        Area::Budgets,
        Area::Ses,
        Area::Dns,
        Area::Kms,
        Area::Secrets,
        Area::S3,
        Area::Logs,
        Area::Network,
        Area::Terraform,
        Area::Metrics,
        Area::Canary,
        Area::Maintenance,
        Area::Drill,
    ];

    /// The id prefix (`rds`, `edge`, …).
    pub const fn prefix(self) -> &'static str {
        match self {
            Area::Rds => "rds",
            Area::Pgbouncer => "pgbouncer",
            Area::Edge => "edge",
            Area::Cloudflare => "cloudflare",
            Area::Dns => "dns",
            Area::Scheduled => "scheduled",
            Area::Alarms => "alarms",
            Area::Budgets => "budgets",
            Area::Ses => "ses",
            Area::Kms => "kms",
            Area::Secrets => "secrets",
            Area::S3 => "s3",
            Area::Logs => "logs",
            Area::Network => "network",
            Area::Terraform => "terraform",
            Area::Metrics => "metrics",
            Area::Canary => "canary",
            Area::Maintenance => "maintenance",
            Area::Drill => "drill",
        }
    }

    /// Its heading in the check catalogue (`docs/checks.md`).
    pub const fn title(self) -> &'static str {
        match self {
            Area::Rds => "RDS",
            Area::Pgbouncer => "pgbouncer on ECS",
            Area::Edge => "Edge: ALB, TLS, HTTPS",
            Area::Cloudflare => "Cloudflare",
            Area::Dns => "DNS",
            Area::Scheduled => "Scheduled tasks (one pair per declared task)",
            Area::Alarms => "Alarms",
            Area::Budgets => "Budgets",
            Area::Ses => "SES",
            Area::Kms => "KMS keys",
            Area::Secrets => "Secrets Manager (one per declared secret)",
            Area::S3 => "S3 buckets (three per declared bucket)",
            Area::Logs => "CloudWatch Logs",
            Area::Network => "Network",
            Area::Terraform => "Terraform",
            Area::Metrics => "Metric gates (one per declared gate)",
            Area::Canary => "Canaries (one per declared canary)",
            Area::Maintenance => "Maintenance in the launch window",
            Area::Drill => "Drills",
        }
    }

    /// The launch gate's group its checks are reported under.
    pub const fn group(self) -> &'static str {
        match self {
            Area::Rds => "Database (RDS)",
            Area::Pgbouncer => "Connection pooling (pgbouncer)",
            Area::Edge | Area::Cloudflare => "Edge (ALB + Cloudflare)",
            Area::Scheduled => "Scheduled tasks",
            Area::Alarms | Area::Budgets => "Alerting and budgets",
            Area::Ses | Area::Dns => "Email (SES)",
            Area::Kms | Area::Secrets => "Keys and secrets",
            Area::S3 => "Storage (S3)",
            Area::Logs => "Logging",
            Area::Network => "Network",
            Area::Terraform => "Terraform",
            Area::Metrics => "Post-cutover metrics",
            Area::Canary => "Canaries",
            Area::Maintenance => "Launch window",
            Area::Drill => "Drills",
        }
    }

    /// The area of a check id, if it has one.
    pub fn of(check_id: &str) -> Option<Area> {
        let prefix = check_id.split('.').next().unwrap_or(check_id);
        Area::ALL.into_iter().find(|a| a.prefix() == prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ALL` holds every variant once, in declaration order.
    #[test]
    fn all_is_every_area_in_order() {
        for (i, area) in Area::ALL.into_iter().enumerate() {
            assert_eq!(area as usize, i, "{area:?}");
        }
        assert_eq!(Area::Drill as usize + 1, Area::ALL.len());
    }
}
