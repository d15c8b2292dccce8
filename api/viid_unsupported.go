package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/gat1400"
)

// Standard resources CityEye does not serve answer a clear refusal in the standard's
// envelope (HTTP 501, StatusCode 4) rather than a bare 404, so a peer's log says
// what is missing. docs/viid.md lists them with the reason.
var unsupportedResources = []struct{ name, why string }{
	{"VideoSlices", "CityEye analyses live streams and keeps snapshots, not video clips"},
	{"Files", "CityEye stores no files other than images"},
	{"Cases", "CityEye keeps no case (案事件) records"},
	{"VideoLabels", "CityEye's analysis results are the record objects and alerts, not video labels"},
	{"AnalysisRules", "analysis rules are CityEye tasks: POST /api/v1/tasks"},
	{"APSs", "CityEye's catalogue holds cameras (APEs), not collection systems"},
	{"DispositionNotifications", "CityEye sends DispositionNotifications to a disposition's ReceiveAddr and issues no dispositions to peers, so it receives none"},
}

func unsupportedRoutes() []route {
	var rs []route
	for _, r := range unsupportedResources {
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			rs = append(rs, route{m, "/VIID/" + r.name, "Not supported (501, StatusCode 4): " + r.why, signedIn, nil, "", viidUnsupported})
		}
	}
	return rs
}

func viidUnsupported(s *Server, c *gin.Context) {
	for _, r := range unsupportedResources {
		if c.FullPath() == "/VIID/"+r.name {
			s.viidFail(c, http.StatusNotImplemented, gat1400.StatusInvalidOperation, "", c.FullPath()+" is not supported: "+r.why)
			return
		}
	}
}
