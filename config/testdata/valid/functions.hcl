variable "name" {
  default = "world"
}

locals {
  greeting = trimspace(file("files/greeting.txt"))
  rendered = templatefile("files/prompt.tmpl", { name = var.name, items = ["a", "b"] })
  settings = jsondecode(file("files/settings.json"))
}

agent "f" {
  image   = "busybox:${local.settings.tag}"
  command = ["sh", "-c", local.rendered]
  env = {
    GREETING = local.greeting
    JSON     = jsonencode({ a = 1 })
    B64      = base64decode(base64encode("hi"))
    SHA      = sha256("")
    LEN      = tostring(length(split(",", "a,b,c")))
    JOINED   = join("-", sort(keys({ b = 1, a = 2 })))
    TRIED    = try(local.settings.missing, "fallback")
    FMT      = format("%s-%03d", "n", 7)
    MAX      = max(1, 5, 3)
    LOOKUP   = lookup({ a = "x" }, "b", "default")
    SESSION  = templatefile("files/session.tmpl", { id = session.id })
    UNSET    = env("BOTTLE_TEST_UNSET")
    LOOP     = join(",", [for s in ["x", "y"] : upper(s)])
  }
}

bottle "f" {
  agent = agent.f
}
