// Command probe tries, inside a bottle, what the hardening must stop: it
// prints one "name: ok" or "name: denied (why)" line per check, so that a
// test on the real engine can read what the container allowed.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: probe root | setuid | euid | pids N | sleep | get URL [ENV] | direct URL | messages | env")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "root":
		report("rawsock", rawSocket())
		report("mknod", mknod())
		report("nonewprivs", noNewPrivs())
		fmt.Printf("pidsmax: %s\n", pidsMax())
	case "setuid":
		// /suid is a setuid-root copy of this program: run as a user, it
		// prints the effective uid it got.
		out, err := exec.Command("/suid", "euid").Output()
		if err != nil {
			fmt.Printf("setuid: denied (%v)\n", err)
			return
		}
		if strings.TrimSpace(string(out)) == "0" {
			fmt.Println("setuid: ok")
		} else {
			fmt.Printf("setuid: denied (euid %s)\n", strings.TrimSpace(string(out)))
		}
	case "euid":
		fmt.Println(os.Geteuid())
	case "pids":
		n := 0
		fmt.Sscan(os.Args[2], &n)
		started := 0
		var procs []*exec.Cmd
		for range n {
			c := exec.Command("/probe", "sleep")
			if err := c.Start(); err != nil {
				break
			}
			procs = append(procs, c)
			started++
		}
		for _, c := range procs {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
		fmt.Printf("pids: started %d of %d\n", started, n)
	case "sleep":
		// Until a signal: a bare select{} would be a deadlock to the
		// runtime.
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
	case "env":
		fmt.Println(strings.Join(os.Environ(), "\n"))
	case "messages":
		// What Claude Code does with ANTHROPIC_BASE_URL and
		// ANTHROPIC_API_KEY set: POST /v1/messages through the proxy.
		fmt.Println(messages())
	case "get", "direct":
		// get URL [ENV]: through the proxy the environment names, with
		// the value of $ENV as a bearer token; direct ignores the proxy.
		fmt.Println(fetch(os.Args[1] == "get", os.Args[2], os.Args[3:]))
	}
}

func fetch(viaProxy bool, url string, tokenEnv []string) string {
	tr := &http.Transport{Proxy: http.ProxyFromEnvironment}
	if !viaProxy {
		tr.Proxy = nil
	}
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return "error: " + err.Error()
	}
	if len(tokenEnv) > 0 {
		req.Header.Set("Authorization", "Bearer "+os.Getenv(tokenEnv[0]))
	}
	resp, err := c.Do(req)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return fmt.Sprintf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
}

func report(name string, err error) {
	if err != nil {
		fmt.Printf("%s: denied (%v)\n", name, err)
		return
	}
	fmt.Printf("%s: ok\n", name)
}

func rawSocket() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_ICMP)
	if err != nil {
		return err
	}
	return syscall.Close(fd)
}

func mknod() error {
	// /dev/null's numbers: the device cgroup allows the node; only the
	// capability decides.
	if err := syscall.Mknod("/tmp/null", syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		return err
	}
	return os.Remove("/tmp/null")
}

func noNewPrivs() error {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	if strings.Contains(string(status), "NoNewPrivs:\t1") {
		return fmt.Errorf("no_new_privs is set")
	}
	return nil
}

func pidsMax() string {
	for _, p := range []string{"/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max"} {
		if b, err := os.ReadFile(p); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	return "unknown"
}

// messages sends one Messages API request the way Claude Code does: to
// $ANTHROPIC_BASE_URL/v1/messages?beta=true, the key from
// $ANTHROPIC_API_KEY in x-api-key, through the proxy the environment
// names.
func messages() string {
	body := `{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hello"}]}`
	req, err := http.NewRequest(http.MethodPost, strings.TrimSuffix(os.Getenv("ANTHROPIC_BASE_URL"), "/")+"/v1/messages?beta=true", strings.NewReader(body))
	if err != nil {
		return "error: " + err.Error()
	}
	req.Header.Set("x-api-key", os.Getenv("ANTHROPIC_API_KEY"))
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("content-type", "application/json")
	req.Header.Set("user-agent", "claude-cli/2.1.332 (external, sdk-cli)")
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}, Timeout: 20 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return fmt.Sprintf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(out)))
}
