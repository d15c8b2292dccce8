package workers

import (
	"context"
	"errors"
	"net/http"
	"os"
	"time"
	"unicode/utf8"

	"github.com/cityeye/cityeye/netguard"
)

// Download limits for offline analyses (Analyses.MaxDownload, DownloadTimeout).
const (
	DefaultMaxDownload     = 2 << 30
	DefaultDownloadTimeout = 30 * time.Minute
)

// errNotVideo is a download that is text (a playlist, a concat list, an SDP file):
// FFmpeg would follow what it names, local files included.
var errNotVideo = errors.New("not a video file")

// fetchVideo downloads an http(s) video into a temporary file, so that it is read
// once, to its end, and at the analysis's pace: as a network source it would drop
// the frames the pipeline cannot keep up with and reconnect when it ends. It goes
// through the outbound guard (no internal address, redirects re-checked), within a
// time and size limit, into a file whose name the URL does not choose. The caller
// removes the file.
func (r *Analyses) fetchVideo(ctx context.Context, raw string) (string, error) {
	limit, timeout := r.MaxDownload, r.DownloadTimeout
	if limit <= 0 {
		limit = DefaultMaxDownload
	}
	if timeout <= 0 {
		timeout = DefaultDownloadTimeout
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return "", err
	}
	resp, err := r.Outbound.Client(netguard.Options{Timeout: timeout, MaxRedirects: 5}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return "", &netguard.StatusError{Code: resp.StatusCode}
	}
	if resp.ContentLength > limit {
		return "", netguard.ErrTooLarge
	}
	f, err := os.CreateTemp("", "cityeye-analysis-*.video")
	if err != nil {
		return "", err
	}
	_, err = netguard.Copy(f, resp.Body, limit)
	if err == nil {
		err = sniffVideo(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// sniffVideo refuses a file whose first KiB reads as text: every video container
// is binary from its first bytes, while the formats that make FFmpeg open other
// inputs (HLS and DASH playlists, ffconcat, SDP) are text.
func sniffVideo(f *os.File) error {
	head := make([]byte, 1024)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	if n == 0 {
		return errNotVideo
	}
	for len(head) > 0 && !utf8.Valid(head) && len(head) > n-4 { // a rune cut at the end
		head = head[:len(head)-1]
	}
	if !utf8.Valid(head) {
		return nil
	}
	for _, b := range head {
		if b < 0x20 && b != '\n' && b != '\r' && b != '\t' {
			return nil
		}
	}
	return errNotVideo
}

// publicDownloadError is what the user reads about a failed download: the target's
// own HTTP status, a size or content refusal, or one text for every network
// failure (refused, timed out, not allowed), so that it maps no network.
func publicDownloadError(err error) string {
	var se *netguard.StatusError
	switch {
	case errors.Is(err, errNotVideo):
		return err.Error()
	case errors.As(err, &se):
		return se.Error()
	}
	return netguard.Public(err)
}
