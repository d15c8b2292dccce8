package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/auth"
)

// routes is the single table of the API: Handler registers it and the OpenAPI
// document describes it.
func routes() []route {
	return slices.Concat(apiRoutes(), evalsetRoutes(), canaryRoutes(), shadowRoutes(), viidRoutes(), cascadeRoutes())
}

func apiRoutes() []route {
	recordQuery := []string{"type", "device_id", "task_id", "from", "to", "offset", "limit"}
	return []route{
		{http.MethodGet, "/health", "Liveness and dependency checks", public, nil, "", health},
		{http.MethodGet, "/openapi.json", "This OpenAPI 3 document", public, nil, "", serveOpenAPI},
		{http.MethodGet, "/api/v1/me", "Who the token belongs to, with department, areas and quota", signedIn, nil, "", me},
		{http.MethodGet, "/api/v1/algorithms", "Registered algorithms and the models they use", signedIn, nil, "", listAlgorithms},
		{http.MethodGet, "/api/v1/models", "Models in the repository", signedIn, nil, "", listModels},
		{http.MethodGet, "/metrics", "Prometheus metrics: streams, tasks, models, scheduling states, records", admin, nil, "", serveMetrics},
		{http.MethodPost, "/api/v1/workers/heartbeat", "A remote worker's heartbeat: its status in, its lease (the streams it must run) out", roles(auth.WorkerRole), nil, "Heartbeat", workerHeartbeat},
		{http.MethodPut, "/api/v1/workers/frames/:device_id", "A remote worker's latest frame of a stream it runs, asked for in its lease (want_frames) for a live snapshot", roles(auth.WorkerRole), nil, jpegBody, putWorkerFrame},
		{http.MethodGet, "/api/v1/workers", "Remote workers: liveness, capacity, streams, and every task's placement grant (distributed mode)", admin, nil, "", listWorkers},
		{http.MethodGet, "/api/v1/stats", "Record counts, pipeline status and batching counters (platform-wide)", admin, nil, "", stats},

		{http.MethodPost, "/api/v1/departments", "Create a department with its areas and quota", admin, nil, "Department", createDepartment},
		{http.MethodGet, "/api/v1/departments", "List departments", admin, nil, "", listDepartments},
		{http.MethodGet, "/api/v1/departments/:id", "Get a department (its own members may)", signedIn, nil, "", getDepartment},
		{http.MethodPut, "/api/v1/departments/:id", "Change a department's name, areas or quota", admin, nil, "Department", updateDepartment},
		{http.MethodPost, "/api/v1/users", "Create a user (department admins: in their department)", managers, nil, "User", createUser},
		{http.MethodGet, "/api/v1/users", "List users (department admins: their department)", managers, []string{"department"}, "", listUsers},
		{http.MethodDelete, "/api/v1/users/:id", "Disable a user; their tokens stop working", managers, nil, "", disableUser},
		{http.MethodPost, "/api/v1/users/:id/tokens", "Create an API token (shown once)", signedIn, nil, "Token", createToken},
		{http.MethodGet, "/api/v1/users/:id/tokens", "List a user's tokens (metadata only)", signedIn, nil, "", listTokens},
		{http.MethodDelete, "/api/v1/tokens/:id", "Revoke a token", signedIn, nil, "", revokeToken},

		{http.MethodPost, "/api/v1/streams", "Register a camera stream owned by a department", staff, nil, "Stream", createStream},
		{http.MethodGet, "/api/v1/streams", "List the streams the caller may see, with live status", viewers, nil, "", listStreams},
		{http.MethodGet, "/api/v1/streams/:id", "Get a stream, its decode status and the caller's access", viewers, nil, "", getStream},
		{http.MethodGet, "/api/v1/streams/:id/snapshot", "The camera's latest decoded frame as a watermarked JPEG (audited; owner or the snapshots right; 409 when no frame is at hand, e.g. distributed mode)", readers, nil, "", streamSnapshot},
		{http.MethodPut, "/api/v1/streams/:id", "Update a stream (owner department)", staff, nil, "Stream", updateStream},
		{http.MethodDelete, "/api/v1/streams/:id", "Delete a stream and its tasks (owner department)", staff, nil, "", deleteStream},

		{http.MethodPost, "/api/v1/catalogue/import", "Import the camera catalogue (appendix 5, CSV or XLSX, Chinese or English headers) as one upsert, or refuse it with each row's errors (department admins: their own cameras)", managers, []string{"format"}, "multipart:Catalogue", importCatalogue},
		{http.MethodGet, "/api/v1/catalogue/export", "Export the catalogue (department admins: their own cameras) as CSV or XLSX; pull URLs without credentials", managers, []string{"format", "lang"}, "", exportCatalogue},
		{http.MethodGet, "/api/v1/cameras", "Catalogue entries the caller may see, with the picture diagnosis' last visit", viewers, []string{"area", "department", "point_type", "camera_type", "device_status", "q", "offset", "limit"}, "", listCameras},
		{http.MethodGet, "/api/v1/cameras/:id/diagnosis", "A catalogue camera's picture diagnosis: its last visit and the measures of every visit (quality.brightness, .sharpness, .noise, .motion, .similarity, .flat, .cast), oldest first", viewers, []string{"name", "from", "to"}, "", cameraDiagnosis},
		{http.MethodPut, "/api/v1/diagnosis/params/:scope", "Picture diagnosis thresholds (video_quality options) of a camera (device ID) or an area (6-digit code, the default inside it); null removes them", managers, nil, "DiagnosisParams", setDiagnosisParams},
		{http.MethodGet, "/api/v1/online-rate", "Online rate per camera, department or area over days (department staff: their own cameras)", viewers, []string{"by", "from", "to"}, "", onlineRate},
		{http.MethodGet, "/api/v1/online-rate/report.csv", "Daily report: cameras below the 95 % online target with their last diagnosis", managers, []string{"day"}, "", onlineReport},

		{http.MethodPost, "/api/v1/applications", "Apply to use another department's camera", staff, nil, "Application", createApplication},
		{http.MethodGet, "/api/v1/applications", "Applications and grants the caller's department made or must decide", staff, []string{"state", "device_id"}, "", listApplications},
		{http.MethodGet, "/api/v1/applications/:id", "Get an application or grant", staff, nil, "", getApplication},
		{http.MethodPost, "/api/v1/applications/:id/approve", "Approve (owner department admin): grants exactly what was asked", managers, nil, "Decision", approveApplication},
		{http.MethodPost, "/api/v1/applications/:id/reject", "Reject (owner department admin)", managers, nil, "Decision", rejectApplication},
		{http.MethodPost, "/api/v1/applications/:id/withdraw", "Withdraw a grant (owner) or an application/grant (applicant); its tasks stop", managers, nil, "", withdrawApplication},
		{http.MethodGet, "/api/v1/notices", "The caller's department's notices: reminders, decisions, expiries", staff, []string{"limit"}, "", listNotices},

		{http.MethodPost, "/api/v1/tasks", "Bind a stream to an algorithm for the caller's department", staff, nil, "Task", createTask},
		{http.MethodGet, "/api/v1/tasks", "List tasks with their grants", viewers, []string{"device_id"}, "", listTasks},
		{http.MethodGet, "/api/v1/tasks/:id", "Get a task", viewers, nil, "", getTask},
		{http.MethodPut, "/api/v1/tasks/:id", "Update a task's algorithm, params or enabled flag", staff, nil, "Task", updateTask},
		{http.MethodDelete, "/api/v1/tasks/:id", "Delete a task", staff, nil, "", deleteTask},

		{http.MethodPost, "/api/v1/analyses", "Analyse a recorded video (file:// or http(s)) as a registered camera, in the background", staff, nil, "Analysis", createAnalysis},
		{http.MethodGet, "/api/v1/analyses", "Offline video analyses of the caller's department (platform admins: all)", viewers, nil, "", listAnalyses},
		{http.MethodGet, "/api/v1/analyses/:id", "An offline video analysis: state, frames analysed, records", viewers, nil, "", getAnalysis},

		{http.MethodGet, "/api/v1/records", "Search GA/T 1400 records the caller may see, newest first (audited)", readers, recordQuery, "", listRecords},
		{http.MethodGet, "/api/v1/search", "Analyst search over the records the caller may see: time window (default the last 24 h), cameras, area, map box, types, plate exact or partial, colours, vehicle class, person coat/trousers colour, face gender and age decade, task; newest first, keyset-paged with next_cursor (audited)", readers, searchParams, "", searchRecords},
		{http.MethodGet, "/api/v1/records/export", "Export matching records as NDJSON (audited)", viewers, recordQuery, "", exportRecords},
		{http.MethodGet, "/api/v1/records/:id", "Get one record by its 48-character ID (audited)", readers, nil, "", getRecord},
		{http.MethodGet, "/api/v1/alerts", "Alerts the caller may see, newest first (audited)", readers, []string{"kind", "device_id", "task_id", "from", "to", "offset", "limit"}, "", listAlerts},
		{http.MethodGet, "/api/v1/alerts/:id", "One alert (audited); its image is under /api/v1/objects/", readers, nil, "", getAlert},
		{http.MethodPost, "/api/v1/alerts/:id/ack", "Acknowledge an alert (audited); the first acknowledgement (acked_by, acked_at) stands", staff, nil, "", ackAlert},
		{http.MethodGet, "/api/v1/tasks/:id/measures", "A task's time series (e.g. water_level_cm), oldest first", viewers, []string{"name", "from", "to"}, "", listMeasures},
		{http.MethodPost, "/api/v1/faces/search", "Search Face records by photo: the most similar faces the caller may see (audited)", readers, []string{"from", "to", "device_id", "top_k", "min_score"}, "multipart:FaceSearch", searchFaces},
		{http.MethodGet, "/api/v1/objects/*key", "Fetch a snapshot, watermarked for the caller (audited)", readers, nil, "", getObject},
		{http.MethodPost, "/api/v1/warehouse/models", "Upload a model package (multipart: manifest, model, files); checked at once, validated in the background", vendors, nil, "multipart:ModelPackage", uploadModel},
		{http.MethodGet, "/api/v1/warehouse/models", "Search model versions by vendor, name, task, label or state", signedIn, []string{"vendor", "name", "task", "label", "state"}, "", listModelVersions},
		{http.MethodGet, "/api/v1/warehouse/models/:vendor/:name/:version", "A model version: state, validation progress, report and benchmark", signedIn, nil, "", getModelVersion},
		{http.MethodGet, "/api/v1/warehouse/models/:vendor/:name/:version/report", "Validation progress, report and benchmark of a version", signedIn, nil, "", modelReport},
		{http.MethodGet, "/api/v1/warehouse/models/:vendor/:name/:version/download", "Download a version's ONNX file", vendors, nil, "", downloadModelVersion},
		{http.MethodPost, "/api/v1/warehouse/models/:vendor/:name/:version/publish", "Vendors: request publishing a validated version (202, with its evaluation beside the published version's); the platform admin: approve and publish it, tasks following vendor/name switch to it; a version the regression gate blocks needs override_reason (audited)", vendors, nil, "Publish", publishModelVersion},
		{http.MethodPost, "/api/v1/warehouse/models/:vendor/:name/:version/reject", "Reject a vendor's publish request, with a reason (audited)", admin, nil, "RejectPublish", rejectPublish},
		{http.MethodPost, "/api/v1/warehouse/models/:vendor/:name/:version/deprecate", "Deprecate a version", vendors, nil, "", deprecateModelVersion},
		{http.MethodDelete, "/api/v1/warehouse/models/:vendor/:name/:version", "Delete a version (refused while published and in use)", vendors, nil, "", deleteModelVersion},
		{http.MethodPost, "/api/v1/warehouse/models/:vendor/:name/rollback", "Re-publish the previously published version", vendors, nil, "", rollbackModel},
		{http.MethodPost, "/api/v1/viid/peers", "Allow a GA/T 1400 peer (camera, platform) to register, acting as a department user", managers, nil, "Peer", createPeer},
		{http.MethodGet, "/api/v1/viid/peers", "VIID peers and whether they are online", managers, nil, "", listPeers},
		{http.MethodDelete, "/api/v1/viid/peers/:id", "Remove a VIID peer", managers, nil, "", deletePeer},
		{http.MethodPost, "/VIID/System/Register", "GA/T 1400 register (HTTP Digest, MD5, qop=auth)", peerAuth, nil, "", viidRegister},
		{http.MethodPost, "/VIID/System/Keepalive", "GA/T 1400 keepalive (User-Identify)", signedIn, nil, "", viidKeepalive},
		{http.MethodGet, "/VIID/System/Keepalive", "GA/T 1400 keepalive sent as GET by some clients", signedIn, nil, "", viidKeepalive},
		{http.MethodPost, "/VIID/System/UnRegister", "GA/T 1400 unregister", signedIn, nil, "", viidUnregister},
		{http.MethodGet, "/VIID/System/Time", "GA/T 1400 system time", public, nil, "", viidTime},
		{http.MethodPost, "/VIID/Dispositions", "GA/T 1400 dispositions (布控, DispositionListObject): category 3 plates (TargetFeature), 2 faces (SubImageList Data); one ResponseStatusObject each", staff, nil, "", viidSetDispositions},
		{http.MethodGet, "/VIID/Dispositions", "Your department's dispositions, newest first (DispositionListObject, paged)", staff, []string{"RecordStartNo", "PageRecordNum"}, "", viidDispositions},
		{http.MethodGet, "/VIID/Dispositions/:id", "One disposition (DispositionObject) with its DispositionStatus", staff, nil, "", viidDispositions},
		{http.MethodPut, "/VIID/Dispositions/:id", "Withdraw a disposition (撤控; OperateType 1, DispositionRemove* fields)", staff, nil, "", viidWithdrawDisposition},
		{http.MethodPost, "/api/v1/dispositions", "Set a disposition (布控): plates (exact or fuzzy) or face photos (similarity threshold) over cameras or areas for a period, with a reason (audited); hits raise alerts and DispositionNotifications", staff, nil, "Disposition", createDispositionREST},
		{http.MethodGet, "/api/v1/dispositions", "Your department's dispositions, newest first", staff, []string{"offset", "limit"}, "", listDispositionsREST},
		{http.MethodGet, "/api/v1/dispositions/:id", "A disposition with its targets (photos under /api/v1/objects/) and its latest 100 hits", staff, nil, "", getDispositionREST},
		{http.MethodPost, "/api/v1/dispositions/:id/withdraw", "Withdraw a disposition (撤控), with a reason (audited)", staff, nil, "Withdraw", withdrawDispositionREST},
		{http.MethodPost, "/VIID/Subscribes", "GA/T 1400 subscribe (SubscribeListObject): new records pushed to ReceiveAddr", readers, nil, "", viidSubscribe},
		{http.MethodGet, "/VIID/Subscribes", "Your department's GA/T 1400 subscriptions", readers, nil, "", viidSubscriptions},
		{http.MethodPut, "/VIID/Subscribes/:id", "Cancel a GA/T 1400 subscription", readers, nil, "", viidCancel},
		{http.MethodPost, "/api/v1/alert-subscriptions", "Subscribe a webhook to alert kinds in an area (the Minqing map feed)", readers, nil, "AlertSubscription", createAlertSubscription},
		{http.MethodGet, "/api/v1/alert-subscriptions", "Your department's alert subscriptions", readers, nil, "", listAlertSubscriptions},
		{http.MethodDelete, "/api/v1/alert-subscriptions/:id", "Cancel an alert subscription", readers, nil, "", cancelAlertSubscription},
		{http.MethodGet, "/api/v1/alerts/stream", "Live alerts as Server-Sent Events (kinds, area filters)", readers, []string{"kinds", "area"}, "", streamAlerts},
		{http.MethodGet, "/api/v1/notifications", "Notification deliveries; state=dead is the dead-letter view", readers, []string{"state"}, "", listNotifications},
		{http.MethodPost, "/api/v1/notifications/:id/retry", "Re-queue a dead notification", readers, nil, "", retryNotification},
		{http.MethodGet, "/api/v1/audit", "The audit trail of reads, newest first (platform office)", admin, []string{"user_id", "department", "action", "target", "from", "to", "offset", "limit"}, "", listAudit},
		{http.MethodGet, "/api/v1/audit/:id", "One audit entry (what a leaked snapshot's watermark points to)", admin, nil, "", getAudit},
	}
}

// openAPIPath converts gin's :id and *key to OpenAPI's {id} and {key}.
func openAPIPath(p string) (string, []string) {
	var params []string
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*") {
			params = append(params, s[1:])
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/"), params
}

var schemas = gin.H{
	"Error": gin.H{"type": "object", "required": []string{"error"}, "properties": gin.H{
		"error": gin.H{"type": "string"}, "field": gin.H{"type": "string", "description": "the offending input field"}}},
	"Stream": gin.H{"type": "object", "required": []string{"device_id", "name", "url", "admin_division", "longitude", "latitude", "owner_department", "point_type", "sharing"},
		"properties": gin.H{
			"device_id":        gin.H{"type": "string", "pattern": "^[0-9]{20}$", "description": "GB/T 28181 device ID"},
			"name":             gin.H{"type": "string", "maxLength": 100},
			"url":              gin.H{"type": "string", "description": "rtsp://, rtmp://, http(s):// or file:///"},
			"admin_division":   gin.H{"type": "string", "pattern": "^[0-9]{6}$"},
			"longitude":        gin.H{"type": "number"},
			"latitude":         gin.H{"type": "number"},
			"owner_department": gin.H{"type": "string"},
			"point_type":       gin.H{"type": "integer", "enum": []int{1, 2, 3}},
			"sharing":          gin.H{"type": "integer", "enum": []int{0, 1, 2}, "description": "0 conditional, 1 unconditional, 2 not shared"},
		}},
	"Department": gin.H{"type": "object", "required": []string{"id", "name", "areas"}, "properties": gin.H{
		"id": gin.H{"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{1,31}$"}, "name": gin.H{"type": "string"},
		"areas": gin.H{"type": "array", "items": gin.H{"type": "string", "pattern": "^[0-9]{6}$"}, "description": "GB/T 2260 codes; 441500 covers all of Shanwei, 000000 the country"},
		"quota": gin.H{"type": "object", "properties": gin.H{"streams": gin.H{"type": "integer"}, "tasks": gin.H{"type": "integer"}, "fps_share": gin.H{"type": "number", "minimum": 0, "maximum": 1}}},
	}},
	"User": gin.H{"type": "object", "required": []string{"id", "name", "department", "role"}, "properties": gin.H{
		"id": gin.H{"type": "string"}, "name": gin.H{"type": "string"}, "department": gin.H{"type": "string"},
		"role": gin.H{"type": "string", "enum": auth.Roles}}},
	"Token": gin.H{"type": "object", "properties": gin.H{"name": gin.H{"type": "string"},
		"expires_in_days": gin.H{"type": "integer", "minimum": 0, "maximum": 3650, "description": "lifetime in days; 0 or absent: the server's default (90)"},
		"worker_id":       gin.H{"type": "string", "description": "worker users only (platform admin): the one worker ID this token may heartbeat as"}}},
	"Application": gin.H{"type": "object", "required": []string{"device_id", "reason", "rights", "starts_at", "ends_at"}, "properties": gin.H{
		"device_id": gin.H{"type": "string"}, "reason": gin.H{"type": "string"},
		"rights":     gin.H{"type": "array", "items": gin.H{"type": "string", "enum": auth.AllRights}},
		"algorithms": gin.H{"type": "array", "items": gin.H{"type": "string"}, "description": "scope: the algorithms to run; empty means any"},
		"starts_at":  gin.H{"type": "string", "format": "date-time"}, "ends_at": gin.H{"type": "string", "format": "date-time"}}},
	"ModelPackage": gin.H{"type": "object", "required": []string{"manifest", "model"}, "properties": gin.H{
		"manifest": gin.H{"type": "string", "description": "the manifest JSON (docs/model-manifest.md)"},
		"model":    gin.H{"type": "string", "format": "binary", "description": "the ONNX file"},
		"files":    gin.H{"type": "array", "items": gin.H{"type": "string", "format": "binary"}, "description": "extra files named in manifest.files (dictionary, sample images)"}}},
	"Peer": gin.H{"type": "object", "required": []string{"device_id", "user_id", "password"}, "properties": gin.H{
		"device_id": gin.H{"type": "string", "pattern": "^[0-9]{20}$"}, "username": gin.H{"type": "string", "description": "Digest username (default: device_id)"},
		"user_id": gin.H{"type": "string", "description": "the CityEye user the peer acts as"}, "password": gin.H{"type": "string", "minLength": 8}}},
	"AlertSubscription": gin.H{"type": "object", "required": []string{"receive_url"}, "properties": gin.H{
		"kinds": gin.H{"type": "array", "items": gin.H{"type": "string"}, "description": "alert kinds, e.g. fire.smoke; empty: all"},
		"area":  gin.H{"type": "string", "description": "GB/T 2260 code; alerts inside it"}, "receive_url": gin.H{"type": "string"},
		"report_interval_s": gin.H{"type": "integer", "description": "batching interval (default 1)"}}},
	"Heartbeat": gin.H{"type": "object", "required": []string{"id"}, "properties": gin.H{
		"id": gin.H{"type": "string"}, "capacity_fps": gin.H{"type": "number", "description": "analysed frames/s the worker sustains; > 0 caps its model rates"},
		"cores": gin.H{"type": "integer", "description": "CPU cores: the worker's CPU device is sized from them"}, "gpus": gin.H{"type": "array", "description": "the worker's NVIDIA GPUs (NVML inventory): each is a cuda:N device the planner places decode and inference on",
			"items": gin.H{"type": "object", "properties": gin.H{"index": gin.H{"type": "integer"}, "model": gin.H{"type": "string"}, "memory_mb": gin.H{"type": "integer"},
				"nvdec": gin.H{"type": "integer"}, "nvenc": gin.H{"type": "integer"}, "util_gpu": gin.H{"type": "integer"}, "util_decoder": gin.H{"type": "integer"}}}},
		"bench":  gin.H{"type": "array", "description": "models the worker measured on its GPUs (device class, model, version, provider, batch_size, fps)"},
		"status": gin.H{"type": "object"}}},
	"Catalogue": gin.H{"type": "object", "required": []string{"file"}, "properties": gin.H{
		"file": gin.H{"type": "string", "format": "binary", "description": "the catalogue, .csv (UTF-8) or .xlsx, header row first: appendix 5's Chinese names or the English keys (docs/catalogue.md)"}}},
	"DiagnosisParams": gin.H{"type": "object", "properties": gin.H{
		"options": gin.H{"type": "object", "description": "video_quality options: persist, dark_brightness, blur_sharpness … (docs/bench/quality.md)"}}},
	"Decision": gin.H{"type": "object", "properties": gin.H{"note": gin.H{"type": "string"}}},
	"Publish": gin.H{"type": "object", "description": "optional body", "properties": gin.H{
		"override_reason": gin.H{"type": "string", "description": "platform admin: publish although the regression gate blocks the version, saying why (in the audit log)"}}},
	"EvalSet": gin.H{"type": "object", "required": []string{"name", "task", "annotations", "images"}, "properties": gin.H{
		"name": gin.H{"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]{1,63}$"}, "task": gin.H{"type": "string", "enum": []string{"detection", "face_detection", "text_recognition", "classification", "text_direction", "embedding"}},
		"description": gin.H{"type": "string"},
		"annotations": gin.H{"type": "string", "format": "binary", "description": "COCO JSON (detection), image<TAB>text lines (text_recognition), image<TAB>label (classification), image_a<TAB>image_b<TAB>1|0 (embedding)"},
		"images":      gin.H{"type": "array", "items": gin.H{"type": "string", "format": "binary"}, "description": "every image the annotations name, by file name"}}},
	"Gate": gin.H{"type": "object", "required": []string{"model", "max_drop_points"}, "properties": gin.H{
		"model":           gin.H{"type": "string", "description": "name or vendor/name; \"\" for every model without its own gate"},
		"max_drop_points": gin.H{"type": "number", "nullable": true, "description": "percentage points; null removes the gate"}}},
	"Shadow": gin.H{"type": "object", "required": []string{"streams", "duration_s"}, "properties": gin.H{
		"streams":    gin.H{"type": "array", "items": gin.H{"type": "string"}, "description": "device IDs of live streams whose tasks use the model"},
		"duration_s": gin.H{"type": "integer", "minimum": 1, "maximum": 604800, "description": "how long it runs; the report is final then"}}},
	"Canary": gin.H{"type": "object", "properties": gin.H{
		"cameras":         gin.H{"type": "array", "items": gin.H{"type": "string", "pattern": "^[0-9]{20}$"}, "description": "device IDs whose tasks run the version from the start"},
		"steps":           gin.H{"type": "array", "items": gin.H{"type": "integer", "minimum": 0, "maximum": 100}, "description": "percent of the model's other tasks at each step, never decreasing (default [10, 50]); after the last, the version is published"},
		"step_seconds":    gin.H{"type": "integer", "minimum": 1, "description": "healthy running time before the next step (default 600)"},
		"max_error_rate":  gin.H{"type": "number", "minimum": 0, "maximum": 1, "description": "share of the version's frames whose batch failed above which it is rolled back (default 0.05)"},
		"max_latency_ms":  gin.H{"type": "number", "minimum": 0, "description": "mean milliseconds per batch above which it is rolled back (0: no limit)"},
		"min_frames":      gin.H{"type": "integer", "minimum": 1, "description": "frames the version must have analysed before a step is judged (default 50)"},
		"override_reason": gin.H{"type": "string", "description": "start although the regression gate blocks the version (audited)"}}},
	"RejectPublish": gin.H{"type": "object", "required": []string{"reason"}, "properties": gin.H{
		"reason": gin.H{"type": "string", "description": "why the version is not published (in the audit log)"}}},
	"Analysis": gin.H{"type": "object", "required": []string{"device_id", "url", "algorithm"}, "properties": gin.H{
		"device_id": gin.H{"type": "string", "description": "a registered camera the caller's department may analyse; its records carry this camera"},
		"url":       gin.H{"type": "string", "description": "the recorded video: file:///absolute/path or http(s)://"},
		"algorithm": gin.H{"type": "string"}, "params": gin.H{"type": "object", "description": "as a task's params (sample_fps, roi, thresholds, options, models)"}}},
	"Task": gin.H{"type": "object", "required": []string{"device_id", "algorithm"}, "properties": gin.H{
		"device_id": gin.H{"type": "string"}, "algorithm": gin.H{"type": "string"}, "enabled": gin.H{"type": "boolean"},
		"priority":   gin.H{"type": "integer", "minimum": -1, "maximum": 2, "description": "-1 low, 0 normal (default), 1 high, 2 critical: under overload lower priorities lose fps first; high and critical are never time-shared"},
		"department": gin.H{"type": "string", "description": "platform admins only: the department the task runs for (default: the camera's owner)"},
		"params": gin.H{"type": "object", "properties": gin.H{
			"sample_fps": gin.H{"type": "number"},
			"roi":        gin.H{"type": "array", "items": gin.H{"type": "array", "items": gin.H{"type": "number"}, "minItems": 2, "maxItems": 2}},
			"thresholds": gin.H{"type": "object", "additionalProperties": gin.H{"type": "number"}},
			"schedule":   gin.H{"type": "object", "properties": gin.H{"start": gin.H{"type": "string"}, "end": gin.H{"type": "string"}}},
			"models": gin.H{"type": "object", "additionalProperties": gin.H{"type": "string"},
				"description": "by the algorithm's model name: a version of the platform's model (1.2.0), or a vendor's build: vendor/name (its published version) or vendor/name@version"},
		}}}},
}

// OpenAPI builds the document from the route table.
func OpenAPI() gin.H {
	paths := gin.H{}
	for _, r := range routes() {
		p, params := openAPIPath(r.path)
		op := gin.H{"summary": r.summary, "x-roles": r.allow.String(), "responses": gin.H{
			"200": gin.H{"description": "OK"},
			"4XX": gin.H{"description": "bad input or missing resource", "content": gin.H{"application/json": gin.H{"schema": gin.H{"$ref": "#/components/schemas/Error"}}}},
		}}
		var ps []gin.H
		for _, n := range params {
			ps = append(ps, gin.H{"name": n, "in": "path", "required": true, "schema": gin.H{"type": "string"}})
		}
		for _, n := range r.query {
			ps = append(ps, gin.H{"name": n, "in": "query", "schema": gin.H{"type": "string"}})
		}
		if ps != nil {
			op["parameters"] = ps
		}
		if !r.allow.public {
			op["security"] = []gin.H{{"bearer": []string{}}}
		}
		if name, ok := strings.CutPrefix(r.body, "multipart:"); ok {
			op["requestBody"] = gin.H{"required": true, "content": gin.H{"multipart/form-data": gin.H{"schema": gin.H{"$ref": "#/components/schemas/" + name}}}}
		} else if r.body == jpegBody {
			op["requestBody"] = gin.H{"required": true, "content": gin.H{jpegBody: gin.H{"schema": gin.H{"type": "string", "format": "binary"}}}}
		} else if r.body != "" {
			op["requestBody"] = gin.H{"required": true, "content": gin.H{"application/json": gin.H{"schema": gin.H{"$ref": "#/components/schemas/" + r.body}}}}
		}
		item, _ := paths[p].(gin.H)
		if item == nil {
			item = gin.H{}
			paths[p] = item
		}
		item[strings.ToLower(r.method)] = op
	}
	return gin.H{"openapi": "3.0.3", "info": gin.H{"title": "CityEye API", "version": "1"}, "paths": paths, "components": gin.H{"schemas": schemas,
		"securitySchemes": gin.H{"bearer": gin.H{"type": "http", "scheme": "bearer", "description": "API token from POST /api/v1/users/{id}/tokens"}}}}
}

func serveOpenAPI(_ *Server, c *gin.Context) { c.JSON(http.StatusOK, OpenAPI()) }
