agent "demo" {
  image = "busybox"
  command = ["sh", "-c",
} # ERROR: Invalid expression
