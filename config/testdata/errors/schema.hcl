agnt "demo" { # ERROR: Unsupported block type
}

agent "demo" {
  image = "busybox"
  imag  = "busybox" # ERROR: Unsupported argument
}

bottle "main" { # ERROR: Missing required argument
  backend = "docker"
  cwd {
    pth = "." # ERROR: Unsupported argument
  }
  resource { # ERROR: Unsupported block type
  }
}

agent { # ERROR: Missing name for agent
}

name = "top" # ERROR: Unsupported argument

locals {
  nested { # ERROR: Unexpected "nested" block
  }
}
