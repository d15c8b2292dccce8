// Package rtsp is a loopback RTSP camera for tests: a looping clip served over
// RTSP on 127.0.0.1, so tests that need a network camera never reach a real one.
package rtsp

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a minimal RTSP server for tests: the ffmpeg CLI
// packetises a looping clip to RTP over UDP (-f rtp, real time), and this
// server answers OPTIONS/DESCRIBE/SETUP/PLAY/TEARDOWN and relays the RTP
// and RTCP packets to PLAYing clients interleaved on the RTSP TCP
// connection (RTP/AVP/TCP, as used by the source's default transport).
//
// FFmpeg 5.1's RTSP *muxer* cannot listen ("-rtsp_flags listen" exists for
// the demuxer only), and no RTSP server binary is installed, hence this
// relay. Stop kills ffmpeg and drops every connection, like a camera going
// away; a new server can then be started on the same port.
type Server struct {
	t    *testing.T
	addr string
	cmd  *exec.Cmd
	ln   net.Listener
	rtp  *net.UDPConn
	rtcp *net.UDPConn
	sdp  string

	mu      sync.Mutex
	clients map[*rtspClient]struct{}
	paused  bool
	plays   int // PLAY requests answered: how many times a client started the stream
	wg      sync.WaitGroup
	once    sync.Once
}

type rtspClient struct {
	c       net.Conn
	wmu     sync.Mutex
	playing bool
}

// Start serves clip (looped, in real time, copied as it is: H.264 keeps its GOP) at
// rtsp://addr/live until the test ends.
func Start(t *testing.T, addr, clip string) *Server {
	t.Helper()
	s := &Server{t: t, addr: addr, clients: map[*rtspClient]struct{}{}}
	var err error
	if s.rtp, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		t.Fatalf("rtsp server: udp: %v", err)
	}
	if s.rtcp, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		t.Fatalf("rtsp server: udp: %v", err)
	}
	sdpPath := filepath.Join(t.TempDir(), "stream.sdp")
	rtpPort := s.rtp.LocalAddr().(*net.UDPAddr).Port
	rtcpPort := s.rtcp.LocalAddr().(*net.UDPAddr).Port
	s.cmd = exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
		"-re", "-stream_loop", "-1", "-i", clip, "-an", "-c", "copy",
		"-f", "rtp", "-sdp_file", sdpPath,
		fmt.Sprintf("rtp://127.0.0.1:%d?rtcpport=%d&pkt_size=1200", rtpPort, rtcpPort))
	s.cmd.Stderr = os.Stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("rtsp server: starting ffmpeg: %v", err)
	}
	t.Cleanup(s.Stop)

	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(sdpPath)
		if strings.Contains(string(b), "a=rtpmap") {
			s.sdp = rewriteSDP(string(b))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rtsp server: ffmpeg wrote no SDP to %s", sdpPath)
		}
		time.Sleep(20 * time.Millisecond)
	}

	for i := 0; ; i++ {
		if s.ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		if i > 50 {
			t.Fatalf("rtsp server: listen %s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.wg.Add(3)
	go s.accept()
	go s.relay(s.rtp, 0)
	go s.relay(s.rtcp, 1)
	return s
}

// rewriteSDP turns ffmpeg's RTP SDP into an RTSP DESCRIBE body.
func rewriteSDP(sdp string) string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(sdp, "\r\n", "\n"), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "SDP:") {
			continue
		}
		if strings.HasPrefix(l, "m=video ") {
			f := strings.Fields(l)
			f[1] = "0"
			l = strings.Join(f, " ")
		}
		if strings.HasPrefix(l, "c=") {
			l = "c=IN IP4 0.0.0.0"
		}
		out = append(out, l)
	}
	out = append(out, "a=control:trackID=0")
	return strings.Join(out, "\r\n") + "\r\n"
}

// URL is the camera's address.
func (s *Server) URL() string { return "rtsp://" + s.addr + "/live" }

// Plays is how many times a client has started the stream (PLAY).
func (s *Server) Plays() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.plays
}

// Pause stops relaying packets while keeping connections open (a stalled
// camera); Resume relays again.
func (s *Server) Pause()  { s.mu.Lock(); s.paused = true; s.mu.Unlock() }
func (s *Server) Resume() { s.mu.Lock(); s.paused = false; s.mu.Unlock() }

// Stop kills ffmpeg and closes every socket. Idempotent.
func (s *Server) Stop() {
	s.once.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			_ = s.cmd.Process.Kill()
			_ = s.cmd.Wait()
		}
		if s.ln != nil {
			s.ln.Close()
		}
		s.rtp.Close()
		s.rtcp.Close()
		s.mu.Lock()
		for c := range s.clients {
			c.c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		cl := &rtspClient{c: c}
		s.mu.Lock()
		s.clients[cl] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(cl)
	}
}

func (s *Server) relay(u *net.UDPConn, channel byte) {
	defer s.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, _, err := u.ReadFromUDP(buf[4:])
		if err != nil {
			return
		}
		buf[0], buf[1] = '$', channel
		binary.BigEndian.PutUint16(buf[2:4], uint16(n))
		s.mu.Lock()
		if s.paused {
			s.mu.Unlock()
			continue
		}
		cls := make([]*rtspClient, 0, len(s.clients))
		for c := range s.clients {
			cls = append(cls, c)
		}
		s.mu.Unlock()
		for _, c := range cls {
			c.wmu.Lock()
			if c.playing {
				c.c.SetWriteDeadline(time.Now().Add(2 * time.Second))
				if _, err := c.c.Write(buf[:4+n]); err != nil {
					c.c.Close()
				}
			}
			c.wmu.Unlock()
		}
	}
}

func (s *Server) serve(cl *rtspClient) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.clients, cl)
		s.mu.Unlock()
		cl.c.Close()
	}()
	br := bufio.NewReader(cl.c)
	tp := textproto.NewReader(br)
	base := "rtsp://" + s.addr + "/live/"
	for {
		b, err := br.Peek(1)
		if err != nil {
			return
		}
		if b[0] == '$' { // interleaved RTCP from the client: skip
			var hdr [4]byte
			if _, err := io.ReadFull(br, hdr[:]); err != nil {
				return
			}
			if _, err := io.CopyN(io.Discard, br, int64(binary.BigEndian.Uint16(hdr[2:]))); err != nil {
				return
			}
			continue
		}
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		if line == "" {
			continue
		}
		hdr, err := tp.ReadMIMEHeader()
		if err != nil {
			return
		}
		if n, _ := strconv.Atoi(hdr.Get("Content-Length")); n > 0 {
			if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
				return
			}
		}
		method := strings.Fields(line)[0]
		resp := "RTSP/1.0 200 OK\r\nCSeq: " + hdr.Get("Cseq") + "\r\n"
		body := ""
		play := false
		switch method {
		case "OPTIONS":
			resp += "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER\r\n"
		case "DESCRIBE":
			resp += "Content-Base: " + base + "\r\nContent-Type: application/sdp\r\n"
			body = s.sdp
		case "SETUP":
			if !strings.Contains(hdr.Get("Transport"), "TCP") {
				resp = "RTSP/1.0 461 Unsupported Transport\r\nCSeq: " + hdr.Get("Cseq") + "\r\n"
				break
			}
			resp += "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: 4242;timeout=60\r\n"
		case "PLAY":
			resp += "Session: 4242\r\nRange: npt=0.000-\r\n"
			play = true
		case "TEARDOWN":
			resp += "Session: 4242\r\n"
		default:
			resp += "Session: 4242\r\n"
		}
		resp += "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
		cl.wmu.Lock()
		_, err = io.WriteString(cl.c, resp)
		if play {
			cl.playing = true
		}
		cl.wmu.Unlock()
		if play {
			s.mu.Lock()
			s.plays++
			s.mu.Unlock()
		}
		if err != nil || method == "TEARDOWN" {
			return
		}
	}
}

// Clip re-encodes the first 4 s of a video as H.264 with a key frame every second
// (a camera's usual GOP), so a client joining the looping stream gets a key frame
// within a second.
func Clip(t testing.TB, src string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "camera.mp4")
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-i", src, "-t", "4", "-an",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0", "-bf", "0", "-r", "25", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rtsp clip: %v\n%s", err, b)
	}
	return out
}
