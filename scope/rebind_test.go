package scope

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/agentguard/agentguard/guard"
)

// fakeDNS answers every A query with the address answer returns and every other
// query with no records. It listens on loopback UDP.
func fakeDNS(t *testing.T, answer func() netip.Addr) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("udp listen: %v", err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := buf[:n]
			if len(q) < 12 {
				continue
			}
			// Skip the question name to find its type.
			i := 12
			for i < len(q) && q[i] != 0 {
				i += int(q[i]) + 1
			}
			if i+5 > len(q) {
				continue
			}
			qtype := binary.BigEndian.Uint16(q[i+1:])
			question := q[12 : i+5]
			resp := make([]byte, 12, 64)
			copy(resp, q[:2])
			binary.BigEndian.PutUint16(resp[2:], 0x8180) // response, recursion available, NOERROR
			binary.BigEndian.PutUint16(resp[4:], 1)
			resp = append(resp, question...)
			if qtype == 1 { // A
				binary.BigEndian.PutUint16(resp[6:], 1)
				a := answer().As4()
				resp = append(resp, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4)
				resp = append(resp, a[:]...)
			}
			_, _ = pc.WriteTo(resp, from)
		}
	}()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
}

// TestTransportDNSRebinding: a host name on the allow-list whose DNS answer is
// an internal address is refused when dialled, though its URL passes every
// text check; the internal server is never reached.
func TestTransportDNSRebinding(t *testing.T) {
	var hits atomic.Int32
	internal := listen(t, "127.0.0.2:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "internal")
	}))
	_, port, _ := net.SplitHostPort(hostPort(internal))
	var queries atomic.Int32
	res := fakeDNS(t, func() netip.Addr {
		// The first answer would pass any one-time pre-check; later ones rebind.
		if queries.Add(1) == 1 {
			return netip.MustParseAddr("93.184.216.34")
		}
		return netip.MustParseAddr("127.0.0.2")
	})
	p, err := New(liveSpec("*.example.com:" + port))
	if err != nil {
		t.Fatal(err)
	}
	// Resolve once, as a naive pre-check would, and get the public address.
	addrs, err := res.LookupNetIP(context.Background(), "ip4", "rebind.example.com")
	if err != nil || len(addrs) == 0 || blockedAddr(addrs[0]) != "" {
		t.Fatalf("pre-check resolution: %v %v", addrs, err)
	}
	tr, err := NewTransport(TransportConfig{Policy: p, Role: "reader", Resolver: res})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.CloseIdleConnections()
	url := "http://rebind.example.com:" + port + "/"
	req, _ := http.NewRequest("GET", url, nil)
	if err := tr.Check(req); err != nil {
		t.Fatalf("the URL text should pass: %v", err)
	}
	_, err = tr.Client().Get(url)
	var d *guard.DenialError
	if !errors.As(err, &d) || d.Rule != "http.addr" || !strings.Contains(d.Reason, "127.0.0.2") {
		t.Fatalf("rebinding not refused at dial: %v", err)
	}
	if hits.Load() != 0 {
		t.Fatal("the internal server was reached")
	}
}
