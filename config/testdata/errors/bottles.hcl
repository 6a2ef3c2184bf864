agent "claude" {
  image = "busybox"
}

bottle "string" {
  agent = "claude" # ERROR: Invalid agent reference
}

bottle "typo" {
  agent = agent.claud # ERROR: Reference to undeclared agent
}

bottle "other" {
  agent = var.claude # ERROR: Invalid agent reference
}

bottle "late" {
  agent   = agent.claude
  backend = session.identity # ERROR: Session values not allowed here
  network = "sometimes" # ERROR: Incorrect attribute value type
  env = {
    ID = session.id
  }
  cwd {
    path    = "."
    copy    = "yes please" # ERROR: Incorrect attribute value type
    exclude = "node_modules" # ERROR: Incorrect attribute value type
  }
  resources {
    cpus = "two" # ERROR: Incorrect attribute value type
  }
}

bottle "keeper" {
  agent = agent.claude
  cwd {
    copy = true
    keep = "stash" # ERROR: Invalid keep value
  }
}
