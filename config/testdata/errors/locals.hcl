variable "task" {
  default = "x"
}

locals {
  a    = local.b # ERROR: Cycle in local values
  b    = "${local.a}-b" # ERROR: Cycle in local values
  self = local.self # ERROR: Cycle in local values
  ok   = upper(var.task)
}

locals {
  ok     = "again" # ERROR: Duplicate local value
  typo   = var.tsk # ERROR: Reference to undeclared input variable
  nope   = local.nothing # ERROR: Reference to undeclared local value
  sess   = session.id # ERROR: Session values not allowed here
  after  = local.a
  broken = upper([]) # ERROR: Invalid function argument
}
