agent "shell" {
  image = "busybox:latest"
}

bottle "main" {
  agent = agent.shell
}
