package sip

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/internal/sipptest"
	"github.com/hotline-cc/hotline/internal/testenv"
)

// tlsServer starts hotline with udp and tls, on a fresh self-signed certificate named cn.
func tlsServer(t *testing.T, cn string) (srv *testServer, tlsAddr, certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile = testenv.Cert(t, dir, cn)
	tlsAddr = fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))
	srv = startServerWith(t, func(ch call.Channel) { _ = ch.Hangup(call.CauseNormal) }, func(c *Config) {
		c.Transports = []string{"udp", "tls"}
		c.TLS = TLSConfig{Addr: tlsAddr, CertFile: certFile, KeyFile: keyFile}
	})
	return srv, tlsAddr, certFile, keyFile
}

// tlsOptions sends an OPTIONS over a new TLS connection and returns the certificate hotline
// presented and the status line it answered with.
func tlsOptions(t *testing.T, addr, certFile string) (subject, status string) {
	t.Helper()
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		return "", "handshake: " + err.Error()
	}
	defer conn.Close()
	subject = conn.ConnectionState().PeerCertificates[0].Subject.CommonName
	local := conn.LocalAddr().String()
	fmt.Fprintf(conn, "OPTIONS sips:hotline@%s SIP/2.0\r\nVia: SIP/2.0/TLS %s;branch=z9hG4bK-%d\r\nMax-Forwards: 70\r\n"+
		"From: <sips:probe@127.0.0.1>;tag=1\r\nTo: <sips:hotline@%s>\r\nCall-ID: tls-%d\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		addr, local, time.Now().UnixNano(), addr, time.Now().UnixNano())
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return subject, "read: " + err.Error()
	}
	return subject, strings.TrimSpace(line)
}

// SIP over TLS answers with the configured certificate, and a renewed certificate written
// over the files is served to the next connection without a restart; a broken renewal keeps
// the one in use.
func TestTLSListenerReloadsCertificate(t *testing.T) {
	_, addr, certFile, keyFile := tlsServer(t, "first")
	if cn, status := tlsOptions(t, addr, certFile); cn != "first" || status != "SIP/2.0 200 OK" {
		t.Fatalf("first connection: certificate %q, answer %q", cn, status)
	}
	// A renewal: new files in place (as certbot does), picked up at the next handshake.
	next := t.TempDir()
	c2, k2 := testenv.Cert(t, next, "renewed")
	time.Sleep(1100 * time.Millisecond) // the files are looked at no more than once a second
	for _, p := range [][2]string{{c2, certFile}, {k2, keyFile}} {
		b, _ := os.ReadFile(p[0])
		if err := os.WriteFile(p[1], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if cn, status := tlsOptions(t, addr, certFile); cn != "renewed" || status != "SIP/2.0 200 OK" {
		t.Fatalf("after renewal: certificate %q, answer %q", cn, status)
	}
	// A renewal that is half written: the renewed certificate stays in use.
	time.Sleep(1100 * time.Millisecond)
	if err := os.WriteFile(keyFile, []byte("-----BEGIN EC PRIVATE KEY-----\ntruncated"), 0o600); err != nil {
		t.Fatal(err)
	}
	if cn, status := tlsOptions(t, addr, certFile); cn != "renewed" || status != "SIP/2.0 200 OK" {
		t.Fatalf("after a broken renewal: certificate %q, answer %q", cn, status)
	}
}

// A certificate that cannot be loaded stops Serve with an error naming the file.
func TestTLSWithoutCertificateFails(t *testing.T) {
	s, err := NewServer(Config{Addr: "127.0.0.1:0", Transports: []string{"tls"},
		TLS: TLSConfig{CertFile: "/nonexistent/cert.pem", KeyFile: "/nonexistent/key.pem"}})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Serve(t.Context())
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/cert.pem") {
		t.Fatalf("Serve: %v", err)
	}
}
