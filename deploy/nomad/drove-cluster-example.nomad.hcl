# The bundled clustered Node app (examples/cluster-app) under drove-runtime, as built by the
# repository's Dockerfile (docker build -t drove-cluster-example .). Nomad places the
# allocations; drove supervises the app's instances inside each. Checked by deploy/check.sh.
#   nomad job run deploy/nomad/drove-cluster-example.nomad.hcl
job "drove-cluster-example" {
  datacenters = ["dc1"]
  type        = "service"

  # New versions roll allocation by allocation; `drove reload` is the zero-downtime path inside
  # one allocation.
  update {
    max_parallel     = 1
    min_healthy_time = "10s"
    healthy_deadline = "2m"
    auto_revert      = true
  }

  group "app" {
    count = 2

    network {
      port "http" {
        to = 3000 # the example's PORT, inside the container
      }
    }

    # Termination, in order: the service is deregistered, Nomad waits shutdown_delay (no new
    # connections are routed here), sends kill_signal to PID 1 (drove-runtime), which stops
    # every app gracefully within its kill_timeout (the example's largest: 5000 ms) and exits;
    # after the task's kill_timeout whatever is left gets SIGKILL. So:
    #   kill_timeout >= max(app kill_timeout) + margin   (15s >= 5s + 10s)
    # and the client's max_kill_timeout (default 30s) must not be lower.
    shutdown_delay = "5s"

    service {
      name = "drove-cluster-example"
      port = "http"

      # The app answers on its port (through drove's cluster primary).
      check {
        name     = "http"
        type     = "http"
        path     = "/"
        interval = "10s"
        timeout  = "2s"
      }

      # The supervisor answers on its control socket (run inside the container). Script checks
      # need Consul (the default provider); with provider = "nomad" keep the http check only.
      check {
        name     = "drove ping"
        type     = "script"
        task     = "app"
        command  = "drove"
        args     = ["ping"]
        interval = "10s"
        timeout  = "5s"
      }
    }

    # An app that exhausts its restarts makes drove-runtime exit 2: Nomad restarts the task.
    restart {
      attempts = 3
      interval = "5m"
      delay    = "10s"
      mode     = "delay"
    }

    task "app" {
      driver = "docker"

      config {
        image      = "drove-cluster-example:latest"
        # The image's ENTRYPOINT and CMD, spelled out; --env selects env_production.
        entrypoint = ["drove-runtime"]
        args       = ["ecosystem.config.json", "--env", "production"]
        ports      = ["http"]
      }

      kill_signal  = "SIGTERM"
      kill_timeout = "15s"

      # 2 instances (the ecosystem file) on 2 reserved cores (a cpuset): size `instances` to
      # the allocation, not to the host (docs/scaling.md, "Sizing").
      resources {
        cores  = 2
        memory = 512 # MB
      }
    }
  }
}
