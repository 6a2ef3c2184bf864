# Mistakes in different stages, each reported once in one run, and nothing
# reported about what depends on them.
variable "size" {
  type    = number
  default = "big" # ERROR: Invalid value for variable
}

locals {
  twice = var.size * 2
}

agent "demo" {
  image   = "busybox"
  colour  = "blue" # ERROR: Unsupported argument
  workdir = 7 * local.twice
}

agent "broken" {
  image   = ["busybox"] # ERROR: Incorrect attribute value type
  workdir = ["x"] # ERROR: Incorrect attribute value type
}

bottle "b" {
  agent = "demo" # ERROR: Invalid agent reference
  cwd {
    path = true ? [] : [] # ERROR: Incorrect attribute value type
  }
  resources {
    memory = "4 gigs" # ERROR: Invalid memory size
    cpus   = local.twice
  }
}

bottle "c" {
  agent   = agent.broken
  backend = 3 # ERROR: Unsupported backend
}
