# Launch sign-offs for production: `cargo xtask verify production --signoffs examples/production/signoffs.hcl`.
#
# A sign-off is given when it has `signed_by`, `date` and `evidence`
# (together); until then it is declared but missing, and the verdict is
# NO-GO. `expires` (optional) is the last day it holds (UTC). Every
# `manual` item must be `done = true` with `done_by` and `evidence`.

require = ["Engineering", "Regulatory", "Operations", "Customer Success", "Commercial"]

signoff "engineering" {
  role     = "Engineering"
  owner    = "Head of Engineering"
  confirms = "All automated checks green on production; drills run on staging"
  # signed_by = "…"
  # date      = "YYYY-MM-DD"
  # evidence  = "https://wiki.example/launch/engineering"
}

signoff "regulatory" {
  role     = "Regulatory"
  owner    = "Data Protection Officer"
  confirms = "Processing records, DPIA and DPAs in place for the launch clinics"
}

signoff "operations" {
  role     = "Operations"
  owner    = "Head of Operations"
  confirms = "Runbooks reviewed, on-call rotation staffed, alerts routed"
}

signoff "customer-success" {
  role     = "Customer Success"
  owner    = "Head of Customer Success"
  confirms = "Clinics onboarded and trained; support macros ready"
}

signoff "commercial" {
  role     = "Commercial"
  owner    = "Chief Commercial Officer"
  confirms = "Contracts signed and pricing live for the launch clinics"
}

manual "dpa-countersigned" {
  group = "Regulatory"
  item  = "DPA countersigned with every launch clinic"
  done  = false
}

manual "on-call-staffed" {
  group = "Operations"
  item  = "On-call rotation staffed for the first four weeks after launch"
  done  = false
}

manual "status-page-live" {
  group = "Operations"
  item  = "Public status page live and linked from the app"
  done  = false
}
