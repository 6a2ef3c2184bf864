variable "task" {
  description = "What to do."
  default     = "Fix the tests"
}

variable "token" {
  sensitive = true
  default   = "t0ken"
}

variable "retries" {
  type    = number
  default = 3
}

variable "extra_args" {
  type    = list(string)
  default = ["--verbose"]
}

locals {
  home       = "/home/${local.user}"
  user       = "agent"
  config_dir = "${local.home}/.claude"
}

agent "claude" {
  dockerfile     = "files/agent.Dockerfile"
  context        = "."
  command        = concat(["claude", "-p", var.task, "--session-id", session.id], var.extra_args)
  resume_command = ["claude", "--resume", session.id, "--token", var.token]
  transcript     = local.config_dir
  workdir        = "/src"
  user           = local.user
  env = {
    CLAUDE_CONFIG_DIR = local.config_dir
    TOKEN             = var.token
    API_KEY           = env("DEMO_TOKEN")
    RETRIES           = var.retries
    IDENTITY          = "bottle-${session.identity}"
  }
}

agent "plain" {
  dockerfile = "files/agent.Dockerfile"
}

bottle "fixer" {
  agent   = agent.claude
  backend = "smolmachines"
  env = {
    RETRIES = "5"
    EXTRA   = upper("x")
  }

  cwd {
    path    = "project"
    copy    = true
    exclude = ["node_modules", ".git/objects"]
    keep    = "patch"
  }

  resources {
    cpus   = 1.5
    memory = "1.5GiB"
  }
}

bottle "reviewer" {
  agent   = agent.plain
  network = false
  cwd {}
}
