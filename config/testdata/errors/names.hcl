variable "task" {
  default = "a"
}

variable "task" { # ERROR: Duplicate variable
  default = "b"
}

agent "demo" {
  image = "busybox"
}

agent "demo" { # ERROR: Duplicate agent
  image = "busybox"
}

agent "9lives" { # ERROR: Invalid agent name
  image = "busybox"
}

bottle "main" {
  agent = agent.demo
  cwd {
  }
  cwd { # ERROR: Duplicate cwd block
  }
}

bottle "main" { # ERROR: Duplicate bottle
  agent = agent.demo
}

bottle "has space" { # ERROR: Invalid bottle name
  agent = agent.demo
}
