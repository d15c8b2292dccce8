package api

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
)

// web is the browser console: plain HTML, CSS and JavaScript modules, embedded so
// the binary serves it with nothing fetched at run time and no build step.
//
//go:embed web
var web embed.FS

// ConsoleConfig is what the console needs to know that no API route tells it.
type ConsoleConfig struct {
	// MapTiles is the city GIS's tile URL template ({z}/{x}/{y}), e.g.
	// https://gis.example/tiles/{z}/{x}/{y}.png; empty draws a plain coordinate grid.
	MapTiles string `json:"map_tiles"`
}

// WithConsole serves the console at / and its files under /console/, and passes
// everything else to api. The console is static: it calls the same /api/v1 routes,
// with the user's token, under the same access rules as any other client.
func WithConsole(api http.Handler, cfg ConsoleConfig) http.Handler {
	files, _ := fs.Sub(web, "web")
	static := http.StripPrefix("/console/", http.FileServer(http.FS(files)))
	conf, _ := json.Marshal(cfg)
	csp := "default-src 'self'; img-src 'self' blob: data:" + tileOrigin(cfg.MapTiles) +
		"; style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p != "/" && !strings.HasPrefix(p, "/console/") || r.Method != http.MethodGet && r.Method != http.MethodHead {
			api.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		switch p {
		case "/":
			b, _ := web.ReadFile("web/index.html")
			h.Set("Content-Type", "text/html; charset=utf-8")
			w.Write(b)
		case "/console/config.json":
			h.Set("Content-Type", "application/json")
			w.Write(conf)
		default:
			if strings.HasSuffix(p, "/") { // no directory listings
				http.NotFound(w, r)
				return
			}
			static.ServeHTTP(w, r)
		}
	})
}

// tileOrigin is the scheme and host of the tile template, which the page's
// Content-Security-Policy must admit for map images.
func tileOrigin(tmpl string) string {
	u, err := url.Parse(strings.NewReplacer("{z}", "0", "{x}", "0", "{y}", "0", "{s}", "a").Replace(tmpl))
	if tmpl == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return " " + u.Scheme + "://" + u.Host
}
