variable "task" {
  default = "x"
}

agent "both" {
  image      = "busybox"
  dockerfile = "files/Dockerfile" # ERROR: Conflicting image and dockerfile
}

agent "neither" { # ERROR: Missing agent image
  user = "agent"
}

agent "ctx" {
  image   = "busybox"
  context = "files" # ERROR: Context without dockerfile
}

agent "late" {
  image   = "busybox:${session.id}" # ERROR: Session values not allowed here
  command = ["run", session.foo] # ERROR: Unsupported session attribute
  env = {
    TASK = var.tsk # ERROR: Reference to undeclared input variable
  }
}

agent "types" {
  image          = "" # ERROR: Empty image
  command        = "claude -p" # ERROR: Invalid command
  resume_command = [] # ERROR: Empty resume_command
  env            = ["A=1"] # ERROR: Invalid env
  workdir        = ["/w"] # ERROR: Incorrect attribute value type
}

agent "refs" {
  image   = "busybox"
  user    = agent.both # ERROR: Invalid reference
  command = [foo.bar] # ERROR: Invalid reference
  env = {
    "A=B" = "x" # ERROR: Invalid environment variable name
  }
}

agent "funcs" {
  image      = nofunc("x") # ERROR: Call to unknown function
  transcript = file("files/missing.txt") # ERROR: Invalid function argument
}

agent "elements" {
  image = "busybox"
  command = [
    "ok",
    ["nested"], # ERROR: Invalid command
  ]
  env = {
    OK   = "x"
    LIST = ["a"] # ERROR: Invalid env
  }
}
