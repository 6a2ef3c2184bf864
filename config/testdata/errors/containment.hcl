agent "claude" {
  image = "busybox"
  egress {
    allow = [
      "api.example.com",
      "https://github.com", # ERROR: Invalid egress entry
      "bad_*.example.com", # ERROR: Invalid egress entry
      "host:0", # ERROR: Invalid egress entry
      "::1",
      "[::1]:8443",
    ]
  }
  egress { # ERROR: Duplicate egress block
  }
  secret "API_KEY" {
    value = env("DEMO_TOKEN")
    hosts = ["api.example.com", "ftp://files.example.com"] # ERROR: Invalid secret host
  }
  secret "2BAD" { # ERROR: Invalid secret name
    value = "x"
    hosts = ["*.example.com"] # ERROR: Invalid secret host
  }
  secret "HTTPS_PROXY" { # ERROR: Reserved secret name
    value = "x"
    hosts = [] # ERROR: Secret without hosts
  }
  secret "NO_VALUE" { # ERROR: Missing required argument
    hosts = ["a.example.com"]
  }
}
