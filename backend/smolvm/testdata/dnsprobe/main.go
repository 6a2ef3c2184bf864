// Command dnsprobe asks a DNS server for the A records of each name given
// and prints one line per name: the name, the response code and the
// addresses. It sends raw queries (no /etc/hosts, no cache), so what it
// prints is what the resolver answered. The server is $DNSPROBE_SERVER
// (host:port), else the first nameserver of /etc/resolv.conf on port 53.
// The real-smolvm egress test runs it inside a machine.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

func main() {
	server, err := nameserver()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dnsprobe:", err)
		os.Exit(2)
	}
	for i, name := range os.Args[1:] {
		line, err := ask(server, name, uint16(i+1))
		if err != nil {
			fmt.Fprintf(os.Stderr, "dnsprobe: %s: %v\n", name, err)
			os.Exit(1)
		}
		fmt.Println(line)
	}
}

func nameserver() (string, error) {
	if s := os.Getenv("DNSPROBE_SERVER"); s != "" {
		return s, nil
	}
	f, err := os.Open("/etc/resolv.conf")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "nameserver" {
			if a, err := netip.ParseAddr(fields[1]); err == nil {
				return netip.AddrPortFrom(a, 53).String(), nil
			}
		}
	}
	return "", errors.New("no nameserver in /etc/resolv.conf")
}

func ask(server, name string, id uint16) (string, error) {
	n, err := dnsmessage.NewName(strings.TrimSuffix(name, ".") + ".")
	if err != nil {
		return "", err
	}
	q := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: id, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: n, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}},
	}
	packet, err := q.Pack()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", server)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl) //nolint:errcheck // a failed deadline shows as a read error
	}
	if _, err := conn.Write(packet); err != nil {
		return "", err
	}
	buf := make([]byte, 1500)
	for {
		k, err := conn.Read(buf)
		if err != nil {
			return "", err
		}
		var m dnsmessage.Message
		if err := m.Unpack(buf[:k]); err != nil || m.ID != id {
			continue
		}
		out := []string{name, rcode(m.RCode)}
		for _, a := range m.Answers {
			if r, ok := a.Body.(*dnsmessage.AResource); ok {
				out = append(out, netip.AddrFrom4(r.A).String())
			}
		}
		return strings.Join(out, " "), nil
	}
}

func rcode(c dnsmessage.RCode) string {
	switch c {
	case dnsmessage.RCodeSuccess:
		return "NOERROR"
	case dnsmessage.RCodeNameError:
		return "NXDOMAIN"
	case dnsmessage.RCodeServerFailure:
		return "SERVFAIL"
	case dnsmessage.RCodeRefused:
		return "REFUSED"
	}
	return fmt.Sprintf("RCODE%d", c)
}
