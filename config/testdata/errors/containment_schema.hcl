agent "claude" {
  image = "busybox"
  security { # ERROR: Unsupported block type
  }
}

bottle "b" {
  agent = agent.claude
  secret { # ERROR: Missing name for secret
  }
}
