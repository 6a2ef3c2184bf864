# The quick-start bottle: a fake coding agent that runs offline on busybox.
#
#   bottle --chdir examples/demo plan
#   bottle --chdir examples/demo apply
#
# The agent keeps a transcript, and asks for a tool it lacks (newtool), which
# shows the capability-block loop: approve the request, resume the bottle, and
# the agent carries on with the tool and its earlier transcript.
# By default it runs to completion; with --var request_tool=true it asks for
# newtool and waits for the answer; with --var write_notes=true it writes
# NOTES.txt into its copy of project/, which comes out on a branch
# bottle/<identity> when it ends.

variable "task" {
  description = "What the demo agent pretends to work on."
  default     = "Summarise the project README"
}

variable "request_tool" {
  description = "Whether the agent asks for newtool when it does not have it."
  type        = bool
  default     = false
}

variable "write_notes" {
  description = "Whether the agent writes NOTES.txt into its (copied) workspace: the change that comes out on a branch."
  type        = bool
  default     = false
}

locals {
  transcript = "/home/agent/.demo"
}

agent "demo" {
  dockerfile     = "agent/Dockerfile"
  command        = ["/opt/demo/agent.sh", var.task]
  resume_command = ["/opt/demo/agent.sh", "Carry on"]
  transcript     = local.transcript
  workdir        = "/workspace"
  # A uid rather than a name: the base image has no /etc/passwd. The
  # Dockerfile itself does not switch user, so approved RUN lines run as root.
  user = "1000:1000"
  env = {
    HOME            = "/home/agent"
    DEMO_TRANSCRIPT = local.transcript
    DEMO_REQUEST    = var.request_tool ? "1" : ""
    DEMO_NOTES      = var.write_notes ? "1" : ""
    DEMO_IDENTITY   = session.identity
  }
}

bottle "demo" {
  agent = agent.demo
  # The demo works offline; a real agent needs its model's API (the default).
  network = false

  cwd {
    path   = "project"
    copy   = true
    target = "/workspace"
  }

  resources {
    cpus   = 1
    memory = "256MiB"
  }
}
