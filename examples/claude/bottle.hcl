# Claude Code in a bottle, headless. Copy this folder's two files into your
# project, then:
#
#   export ANTHROPIC_API_KEY=...
#   bottle plan
#   bottle apply --var task="Make the failing test pass"
#
# bottle passes the session id as --session-id on the first launch and as
# --resume after a capability request was approved, and it snapshots and
# restores the transcript folder (CLAUDE_CONFIG_DIR) across the rebuild.
#
# Claude Code works on a copy of the project (copy = true): it cannot touch
# your files. When it ends, its changes come out as one commit on a branch:
#
#   bottle apply --var task="Fix the failing test"
#   # claude-k3x9a: 3 changed files are on branch bottle/claude-k3x9a ...
#   git diff HEAD...bottle/claude-k3x9a     # review what it did
#   git merge bottle/claude-k3x9a           # take it (or: git branch -D ...)
#
# While it runs: bottle diff claude-k3x9a, bottle export claude-k3x9a --patch
# fix.patch. After approving a capability it asked for, bottle adopt
# claude-k3x9a --write appends the approved lines to ./Dockerfile, so the next
# bottle starts with it.

variable "task" {
  description = "The prompt Claude Code starts with."
  default     = "Fix the failing tests"
}

locals {
  # All of Claude Code's state (transcripts, settings, credentials) in one folder.
  config_dir = "/home/agent/.claude"
  # How the agent asks for what its image lacks (the capability loop).
  capabilities = join(" ", [
    "You run in a sandbox. If you need a tool or package that is not installed,",
    "run /run/bottle/bottle-request --reason 'why' --run 'apt-get update && apt-get install -y PKG' --wait.",
    "When it is approved this sandbox is rebuilt with it and you are resumed in this conversation.",
    "The network is an allowlist: if you need another host, run",
    "/run/bottle/bottle-request --reason 'why' --egress HOST[:PORT] --wait; once approved it is reachable at once.",
  ])
}

agent "claude" {
  dockerfile     = "Dockerfile"
  command        = ["claude", "-p", var.task, "--session-id", session.id, "--permission-mode", "bypassPermissions", "--append-system-prompt", local.capabilities]
  resume_command = ["claude", "-p", "Carry on with the task.", "--resume", session.id, "--permission-mode", "bypassPermissions"]
  transcript     = local.config_dir
  workdir        = "/workspace"
  user           = "agent"
  env = {
    CLAUDE_CONFIG_DIR = local.config_dir
    # Keeps the transcript folder name independent of the working directory.
    CLAUDE_CODE_PROJECT_DIR_NAME = session.identity
    DISABLE_AUTOUPDATER          = "1"
    IS_SANDBOX                   = "1"
    # Only the API is allowed out: no telemetry or update checks.
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = "1"
    # Plain HTTP to the egress proxy, which speaks TLS to the API and puts
    # the real key in place of the placeholder the agent holds.
    ANTHROPIC_BASE_URL = "http://api.anthropic.com"
  }

  # Containment: the bottle reaches the API and nothing else (its proxy
  # answers everything else with a 403), and the key never enters it.
  egress {
    allow = ["api.anthropic.com"]
  }
  secret "ANTHROPIC_API_KEY" {
    value = env("ANTHROPIC_API_KEY")
    hosts = ["api.anthropic.com"]
  }
}

bottle "claude" {
  agent = agent.claude

  cwd {
    path    = "."
    copy    = true
    exclude = ["node_modules"]
    keep    = "branch" # the agent's changes, on bottle/<identity>, when it ends
  }

  resources {
    cpus   = 2
    memory = "4GiB"
  }
}
