package source

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Attack (issue 14 item 7): a camera's http URL serves an SDP description instead
// of a video. Without a protocol whitelist FFmpeg follows it into RTP over UDP:
// it binds the UDP port the description names on the server and decodes whatever
// anyone sends there. With the per-scheme whitelist an http(s) input opens only
// http(s) over tcp/tls, so the port is never bound.
func TestHTTPInputCannotOpenOtherProtocols(t *testing.T) {
	probe, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := probe.LocalAddr().(*net.UDPAddr).Port
	probe.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cam\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video %d RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n", port)
	}))
	defer srv.Close()
	src := Open(context.Background(), Options{URL: srv.URL + "/cam.sdp", ReconnectMin: 100 * time.Millisecond,
		ReconnectMax: 200 * time.Millisecond, OpenTimeout: 2 * time.Second, Logger: quietLogger()})
	defer closeWithin(t, src, 3*time.Second)
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		c, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatalf("FFmpeg bound UDP port %d from an SDP behind an http URL: %v", port, err)
		}
		c.Close()
	}
	for scheme, want := range map[string]string{"rtsp": "rtsp,rtp,udp,tcp", "http": "http,https,tcp,tls", "https": "http,https,tcp,tls"} {
		if got := protocolWhitelist(scheme, kindNetwork); got != want {
			t.Errorf("%s: whitelist %q, want %q", scheme, got, want)
		}
	}
	if got := protocolWhitelist("", kindFile); got != "file" {
		t.Errorf("file: whitelist %q", got)
	}
}
