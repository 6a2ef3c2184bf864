variable "needed" { # ERROR: No value for required variable
}

variable "count" {
  type    = number
  default = "many" # ERROR: Invalid value for variable
}

variable "from_var" {
  default = var.needed # ERROR: Variables not allowed
}

variable "typo" {
  type = strin # ERROR: Invalid type specification
}

variable "flag" {
  sensitive = "maybe" # ERROR: Incorrect attribute value type
}
