# Sign-offs for the sandbox, all given: `cargo xtask verify sandbox --signoffs examples/sandbox/signoffs.hcl`
# is GO when the automated checks are. The end-to-end tests (`cargo xtask test`)
# use it, and derive the "one missing" and "invalid" files from it.

require = ["Engineering", "Regulatory", "Operations", "Customer Success", "Commercial"]

signoff "engineering" {
  role      = "Engineering"
  owner     = "Head of Engineering"
  confirms  = "All automated checks green; drills run on the sandbox"
  signed_by = "Ana Pop"
  date      = "2026-01-15"
  evidence  = "https://wiki.example/launch/engineering"
}

signoff "regulatory" {
  role      = "Regulatory"
  owner     = "Data Protection Officer"
  confirms  = "Processing records and DPAs in place"
  signed_by = "Ioana Marin"
  date      = "2026-01-15"
  evidence  = "https://wiki.example/launch/regulatory"
}

signoff "operations" {
  role      = "Operations"
  owner     = "Head of Operations"
  confirms  = "Runbooks reviewed, alerts routed"
  signed_by = "Radu Ilie"
  date      = "2026-01-15"
  evidence  = "https://wiki.example/launch/operations"
}

signoff "customer-success" {
  role      = "Customer Success"
  owner     = "Head of Customer Success"
  confirms  = "Clinics onboarded and trained"
  signed_by = "Maria Dinu"
  date      = "2026-01-15"
  evidence  = "https://wiki.example/launch/customer-success"
}

signoff "commercial" {
  role      = "Commercial"
  owner     = "Chief Commercial Officer"
  confirms  = "Contracts signed, pricing live"
  signed_by = "Dan Stoica"
  date      = "2026-01-15"
  evidence  = "https://wiki.example/launch/commercial"
}

manual "dpa-countersigned" {
  group    = "Regulatory"
  item     = "DPA countersigned with every clinic"
  done     = true
  done_by  = "Ioana Marin"
  evidence = "https://wiki.example/launch/dpa"
}

manual "on-call-staffed" {
  group    = "Operations"
  item     = "On-call rotation staffed"
  done     = true
  done_by  = "Radu Ilie"
  evidence = "https://wiki.example/launch/on-call"
}

manual "status-page-live" {
  group    = "Operations"
  item     = "Status page live"
  done     = true
  done_by  = "Radu Ilie"
  evidence = "https://status.example"
}
