agent "claude" {
  image = "busybox"
  egress {
    allow = ["api.example.com"] # ERROR: Egress entry not enforceable on smolmachines
  }
}

agent "plain" {
  image = "busybox"
  secret "TOKEN" { # ERROR: Secret not supported on smolmachines
    value = "x"
    hosts = ["a.example.com"]
  }
}

bottle "closed" {
  agent   = agent.claude
  network = false # ERROR: Egress without network
}

bottle "closed_secret" {
  agent   = agent.plain
  network = false # ERROR: Egress without network
}

bottle "hardened" {
  agent = agent.plain
  egress {
    allow = ["example.com:99999"] # ERROR: Invalid egress entry
    deny  = ["x"] # ERROR: Unsupported argument
  }
  secret "TOKEN" {
    value = session.id # ERROR: Session values not allowed here
    hosts = ["a.example.com"]
  }
  security {
    capabilities      = ["NET_RAW", "CAP_MKNOD", "NET_RAWW"] # ERROR: Unknown capability
    pids_limit        = 1.5 # ERROR: Invalid pids limit
    no_new_privileges = "no" # ERROR: Incorrect attribute value type
  }
  security { # ERROR: Duplicate security block
  }
}

bottle "smol" {
  agent   = agent.claude
  backend = "smolmachines"
}

bottle "smol_secret" {
  agent   = agent.plain
  backend = "smolmachines"
}
