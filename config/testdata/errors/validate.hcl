agent "built" {
  dockerfile = "files/Missing.Dockerfile" # ERROR: Dockerfile not found
  context    = "nowhere" # ERROR: Build context not found
  transcript = "home/agent/.claude" # ERROR: Relative transcript path
  workdir    = "workspace" # ERROR: Relative workdir
}

agent "ok" {
  dockerfile = "files/Dockerfile"
}

bottle "main" {
  agent   = agent.ok
  backend = "dockr" # ERROR: Unsupported backend
  cwd {
    path   = "no/such/folder" # ERROR: Project folder not found
    target = "workspace" # ERROR: Invalid cwd target
  }
  resources {
    cpus   = 0 # ERROR: Invalid CPU count
    memory = "4 gigs" # ERROR: Invalid memory size
  }
}

bottle "units" {
  agent = agent.ok
  resources {
    memory = 4096 # ERROR: Invalid memory size
  }
}
